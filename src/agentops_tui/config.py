"""The console's settings: profiles (backends), theme, keymap — one TOML file.

The file lives in the platformdirs config dir (`agentops info` prints it). It is written with
tomli-w; tables this module does not own (the server's `[alerts]`) are kept as they are.
A bad file gets a message that names the file, and the line or the key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentops_tui import paths

OWN_KEYS = frozenset({"default_profile", "theme", "read_only", "keymap", "profiles"})


class ConfigError(ValueError):
    """The config file cannot be used; the message says where and why."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    token: str | None = None
    token_env: str | None = None  # read the token from this environment variable

    def resolve_token(self) -> str | None:
        if self.token:
            return self.token
        if self.token_env:
            return os.environ.get(self.token_env)
        return None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_profile: str | None = None
    theme: str | None = None
    read_only: bool = False
    keymap: dict[str, str] = Field(default_factory=dict)  # binding id → keys, e.g. "P"
    profiles: dict[str, Profile] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_exists(self) -> Config:
        if self.default_profile and self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile")
        return self


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:  # its message names line and column
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None


def load(path: Path | None = None) -> Config:
    path = path or paths.config_file()
    raw = {k: v for k, v in _read(path).items() if k in OWN_KEYS}
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise ConfigError(f"{path}: {key}: {err['msg']}") from None


def save(config: Config, path: Path | None = None) -> Path:
    """Write `config`, keeping every table it does not own."""
    path = path or paths.config_file()
    doc = {k: v for k, v in _read(path).items() if k not in OWN_KEYS}
    doc.update(config.model_dump(exclude_none=True, exclude_defaults=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    # owner-readable only: profiles' tokens and the `[[notify]]` channel URLs are secrets
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tomli_w.dumps(doc))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def set_value(config: Config, key: str, value: str) -> Config:
    """`agentops config set KEY VALUE` for the top-level keys and `keymap.<binding-id>`.

    A theme is stored by its real name (`dark` is saved as `agentops-dark`); a key binding
    is refused if the action is unknown or the key would hide another action.
    """
    from agentops_tui.tui.settings_checks import SettingRefused, check_keymap, resolve_theme

    data = config.model_dump()
    try:
        if key.startswith("keymap."):
            binding_id = key.removeprefix("keymap.")
            keymap = {**data["keymap"], binding_id: value}
            if not value:  # an empty value gives the action its default key back
                keymap.pop(binding_id)
            check_keymap(keymap)
            data["keymap"] = keymap
        elif key == "theme":
            data["theme"] = resolve_theme(value) if value else None
        elif key == "read_only":
            if value.lower() not in ("true", "false"):
                raise ConfigError("read_only: use true or false")
            data["read_only"] = value.lower() == "true"
        elif key == "default_profile":
            data[key] = value or None
        else:
            raise ConfigError(f"unknown key {key!r}; use theme, default_profile, read_only or "
                              "keymap.<binding-id>")
    except SettingRefused as exc:
        raise ConfigError(f"{key}: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{key}: {exc.errors()[0]['msg']}") from None
