"""Notification rules: the `[[notify]]` tables of the server's config file.

```toml
[[notify]]
name = "oncall"
url = "slack://TokenA/TokenB/TokenC"      # any apprise URL; a secret: the file is 0600
on = ["approval", "waiting", "alert", "sla", "budget", "command"]
workspaces = ["default"]                   # optional filters
agents = ["billing-bot"]
min_severity = "warning"                   # info < warning < critical
cooldown_seconds = 60                      # later events within it are batched
```
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentops_tui.server.notify.masking import mask_url

Kind = Literal["approval", "waiting", "alert", "sla", "budget", "command"]
KINDS: tuple[Kind, ...] = get_args(Kind)
KIND_HELP = {
    "approval": "an approval is requested",
    "waiting": "a session waits for input",
    "alert": "an alert is raised or escalated",
    "sla": "a task's SLA is breached",
    "budget": "a budget is reached",
    "command": "a command failed or expired",
}
Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
TABLE = "notify"


class NotifyConfigError(ValueError):
    """The `[[notify]]` tables cannot be used; the message names the file, rule and key."""


class NotifyRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    url: Annotated[str, Field(min_length=4, max_length=4000, repr=False)]
    on: tuple[Kind, ...] = KINDS
    workspaces: tuple[str, ...] = ()  # empty: every workspace
    agents: tuple[str, ...] = ()  # agent ids; empty: every agent
    min_severity: Severity = "info"
    cooldown_seconds: Annotated[float, Field(ge=0, le=86_400)] = 60.0

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, url: str) -> str:
        check_url(url)
        return url

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def shown(self) -> dict[str, Any]:
        """The rule as the API and the CLI may show it: the URL masked."""
        return {**self.model_dump(mode="json", exclude={"url"}), "url": self.masked_url}


def check_url(url: str) -> None:
    """Raise ValueError unless apprise has a channel for `url` (the message never quotes
    the URL: it may hold a secret)."""
    from agentops_tui.server.notify.channel import load_apprise

    apprise = load_apprise()  # loads its plugins: only when a rule is defined

    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if not scheme:
        raise ValueError(f"{mask_url(url)}: not an apprise URL (expected scheme://...)")
    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise ValueError(f"{mask_url(url)}: apprise cannot use this URL (unknown scheme "
                         f"{scheme!r} or missing parts); see the apprise wiki for its shape")


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NotifyConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise NotifyConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_rules(tables: Any, source: str = "config") -> tuple[NotifyRule, ...]:
    if not isinstance(tables, list):
        raise NotifyConfigError(f"{source}: [[{TABLE}]] must be an array of tables")
    rules: list[NotifyRule] = []
    for index, table in enumerate(tables):
        label = table.get("name") if isinstance(table, dict) else None
        where = f"{source}: [[{TABLE}]] #{index + 1}" + (f" ({label})" if label else "")
        try:
            rule = NotifyRule.model_validate(table)
        except ValidationError as exc:
            raise NotifyConfigError(f"{where}: {_describe(exc)}") from None
        if any(r.name == rule.name for r in rules):
            raise NotifyConfigError(f"{where}: the name {rule.name!r} is used twice")
        rules.append(rule)
    return tuple(rules)


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "(table)"
    if err["type"] == "literal_error" and key == "on":
        return f"on: {err['input']!r} is not a kind; kinds: {', '.join(KINDS)}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}"  # the input is not quoted: it may be a secret URL


def load_rules(path: Path) -> tuple[NotifyRule, ...]:
    """The `[[notify]]` rules of the TOML file at `path` (none when it is absent)."""
    return parse_rules(_read(path).get(TABLE, []), str(path))


def save_rules(path: Path, rules: tuple[NotifyRule, ...]) -> None:
    """Write `rules` as the file's `[[notify]]` tables, keeping every other table, readable
    by its owner only (the URLs are secrets), replacing the file atomically."""
    doc = {k: v for k, v in _read(path).items() if k != TABLE}
    if rules:
        doc[TABLE] = [_table(rule) for rule in rules]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tomli_w.dumps(doc))
    os.chmod(tmp, 0o600)  # an older .tmp may have had other permissions
    tmp.replace(path)


def _table(rule: NotifyRule) -> dict[str, Any]:
    table = rule.model_dump(mode="json", exclude_defaults=True)
    table["name"], table["url"] = rule.name, rule.url
    return table
