"""Themes: four built in, plus every `*.toml` in a themes folder, as `textual.theme.Theme`.

Status colours are theme variables (`status-running`, `status-waiting`, …) that the CSS uses,
so every theme says how a paused or failing agent looks — including one with no colour at all.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

STATUS_VARIABLES = (
    "status-running", "status-waiting", "status-paused", "status-error",
    "status-idle", "status-offline", "status-ended",
)


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the key."""


def _color(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"not a colour: {value!r}") from None
    return value


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator(
        "primary", "secondary", "accent", "foreground", "background", "surface", "panel",
        "warning", "error", "success",
    )
    @classmethod
    def _check_color(cls, value: str | None) -> str | None:
        return None if value is None else _color(value)

    @field_validator("variables")
    @classmethod
    def _check_variables(cls, value: dict[str, str]) -> dict[str, str]:
        for key, colour in value.items():
            if key.startswith("status-"):
                _color(colour)
        return value

    def to_theme(self) -> Theme:
        data = self.model_dump()
        variables = {**status_defaults(self.dark), **data.pop("variables")}
        return Theme(variables=variables, **data)


def status_defaults(dark: bool) -> dict[str, str]:
    if dark:
        return {
            "status-running": "#5fd75f", "status-waiting": "#ffd75f",
            "status-paused": "#5fafff", "status-error": "#ff5f5f", "status-idle": "#a8a8a8",
            "status-offline": "#6c6c6c", "status-ended": "#8a8a8a",
        }
    return {
        "status-running": "#008700", "status-waiting": "#875f00", "status-paused": "#005faf",
        "status-error": "#af0000", "status-idle": "#585858", "status-offline": "#8a8a8a",
        "status-ended": "#6c6c6c",
    }


# 256-colour-safe values (xterm palette entries), so SSH sessions render them faithfully.
BUILTIN: list[ThemeFile] = [
    ThemeFile(
        name="agentops-dark", dark=True, primary="#5f87d7", secondary="#875fd7",
        accent="#5fafaf", foreground="#d0d0d0", background="#1c1c1c", surface="#262626",
        panel="#303030", warning="#ffaf00", error="#ff5f5f", success="#5fd75f",
    ),
    ThemeFile(
        name="agentops-light", dark=False, primary="#005faf", secondary="#5f00af",
        accent="#008787", foreground="#1c1c1c", background="#eeeeee", surface="#e4e4e4",
        panel="#d0d0d0", warning="#875f00", error="#af0000", success="#008700",
    ),
    ThemeFile(
        name="agentops-high-contrast", dark=True, primary="#ffff00", secondary="#00ffff",
        accent="#ff00ff", foreground="#ffffff", background="#000000", surface="#000000",
        panel="#121212", warning="#ffff00", error="#ff0000", success="#00ff00",
        variables={
            "status-running": "#00ff00", "status-waiting": "#ffff00",
            "status-paused": "#00ffff", "status-error": "#ff0000", "status-idle": "#ffffff",
            "status-offline": "#a8a8a8", "status-ended": "#bcbcbc",
        },
    ),
    ThemeFile(
        name="agentops-mono", dark=True, primary="#d0d0d0", secondary="#a8a8a8",
        accent="#ffffff", foreground="#d0d0d0", background="#000000", surface="#121212",
        panel="#262626", warning="#ffffff", error="#ffffff", success="#d0d0d0",
        variables={k: "#d0d0d0" for k in STATUS_VARIABLES},
    ),
]
DEFAULT_THEME = "agentops-dark"


def load_theme_file(path: Path) -> Theme:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ThemeError(f"{path}: {exc.strerror}") from None
    raw.setdefault("name", path.stem)
    try:
        return ThemeFile.model_validate(raw).to_theme()
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise ThemeError(f"{path}: {key}: {err['msg']}") from None


def load_themes(*folders: Path | None) -> tuple[list[Theme], list[str]]:
    """Built-ins plus the folders' themes; bad files are reported, not fatal."""
    themes = [t.to_theme() for t in BUILTIN]
    problems: list[str] = []
    for folder in folders:
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                themes.append(load_theme_file(path))
            except ThemeError as exc:
                problems.append(str(exc))
    return themes, problems


def default_themes_dir() -> Path | None:
    """The theme files shipped with agentops (in the package, or a checkout's `themes/`)."""
    from agentops_tui import paths

    return paths.bundled_themes_dir()
