"""Alert rules' thresholds: defaults, and the `[alerts]` table of the config file.

Every rule has a warning and a critical threshold (either may be left out to disable that
level). Durations are minutes of *fleet time*: with `time_scale = 10` (a simulator running ten
times faster) a 10-minute window lasts one real minute. Spend and token budgets per day follow
the UTC calendar and are not scaled.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

Action = Literal["none", "pause"]


def _off(value: Any) -> Any:
    """`false` or "off" in the file switches one level off (TOML has no null)."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "none")):
        return None
    return value


Level = Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(_off)]
Ratio = Annotated[Annotated[float, Field(ge=0, le=1)] | None, BeforeValidator(_off)]


class AlertConfigError(ValueError):
    """The config file's `[alerts]` table cannot be used; the message names the key."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Config):
    """Fires at `value >= warning` (warning) and `value >= critical` (critical)."""

    enabled: bool = True
    warning: Level = None
    critical: Level = None

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.warning is not None and self.critical is not None:
            if self.warning > self.critical:
                raise ValueError(
                    f"warning ({self.warning}) must not be above critical ({self.critical})"
                )
        return self

    def severity(self, value: float) -> tuple[str | None, float | None]:
        """The level `value` reaches and the threshold it crossed (None, None when clear)."""
        if not self.enabled:
            return None, None
        if self.critical is not None and value >= self.critical:
            return "critical", self.critical
        if self.warning is not None and value >= self.warning:
            return "warning", self.warning
        return None, None

    @property
    def active(self) -> bool:
        return self.enabled and (self.warning is not None or self.critical is not None)


class ActingThreshold(Threshold):
    """A threshold that may act: `action = "pause"` pauses the subject's sessions on critical."""

    action: Action = "none"


class RunawayCost(ActingThreshold):
    """USD spent within the last `window_minutes`."""

    window_minutes: float = Field(default=5.0, gt=0, le=1440)


class RunawayRules(_Config):
    session: RunawayCost = RunawayCost(warning=2.0, critical=10.0)
    agent: RunawayCost = RunawayCost(warning=10.0, critical=40.0)


class BudgetRules(_Config):
    """USD: a task's total cost, an agent's spend today, the workspace's spend today (UTC)."""

    task: ActingThreshold = ActingThreshold(warning=5.0, critical=20.0)
    agent: ActingThreshold = ActingThreshold(warning=25.0, critical=100.0)
    workspace: ActingThreshold = ActingThreshold(warning=100.0, critical=500.0)


class ErrorRate(ActingThreshold):
    """Share of an agent's sessions that ended `failed` in the window (0..1)."""

    warning: Ratio = 0.25
    critical: Ratio = 0.5
    window_minutes: float = Field(default=15.0, gt=0, le=10080)
    min_sessions: int = Field(default=10, ge=1)


class SuccessRate(_Config):
    """Share of an agent's sessions that ended `completed`; fires *below* the thresholds."""

    enabled: bool = True
    warning: Ratio = None
    critical: Ratio = None
    window_minutes: float = Field(default=15.0, gt=0, le=10080)
    min_sessions: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> SuccessRate:
        if self.warning is not None and self.critical is not None:
            if self.warning < self.critical:
                raise ValueError(
                    f"warning ({self.warning}) must not be below critical ({self.critical})"
                    " (this rule fires when the success rate falls under them)"
                )
        return self

    def severity(self, value: float) -> tuple[str | None, float | None]:
        if not self.enabled:
            return None, None
        if self.critical is not None and value < self.critical:
            return "critical", self.critical
        if self.warning is not None and value < self.warning:
            return "warning", self.warning
        return None, None

    @property
    def active(self) -> bool:
        return self.enabled and (self.warning is not None or self.critical is not None)


class SessionCounts(_Config):
    """Active sessions at once: per agent (runaway spawning) and in the whole workspace."""

    agent: ActingThreshold = ActingThreshold(warning=20, critical=50)
    workspace: Threshold = Threshold(warning=200, critical=1000)


class CommandExpired(Threshold):
    """Commands an agent let expire within the window, since it last answered one."""

    warning: Level = 1
    critical: Level = 3
    window_minutes: float = Field(default=15.0, gt=0, le=10080)


class SlowRuns(Threshold):
    """An agent's mean run length in the last `window_minutes`, as a multiple of its own
    baseline: the mean of its runs that ended in the `baseline_minutes` before that window."""

    warning: Level = 2.0
    critical: Level = 4.0
    window_minutes: float = Field(default=60.0, gt=0, le=10080)
    baseline_minutes: float = Field(default=1440.0, gt=0, le=43200)
    min_sessions: int = Field(default=5, ge=1)  # runs in the window
    min_baseline_sessions: int = Field(default=20, ge=1)


class ApiLatency(Threshold):
    """Mean latency (ms) of an agent's model calls in the window, over the usage reports
    that carry `latency_ms`."""

    warning: Level = 30_000.0
    critical: Level = 120_000.0
    window_minutes: float = Field(default=5.0, gt=0, le=1440)
    min_calls: int = Field(default=3, ge=1)


TokenKind = Literal["input", "output", "cache_read", "cache_write"]


class TokenBudgets(_Config):
    """Tokens, like the USD budgets: a task's total, an agent's and the workspace's today
    (UTC). Off until a threshold is set: sensible figures depend on the models in use."""

    count: tuple[TokenKind, ...] = Field(default=("input", "output"), min_length=1)
    task: ActingThreshold = ActingThreshold()
    agent: ActingThreshold = ActingThreshold()
    workspace: ActingThreshold = ActingThreshold()

    @model_validator(mode="after")
    def _once_each(self) -> TokenBudgets:
        twice = sorted({k for k in self.count if self.count.count(k) > 1})
        if twice:
            raise ValueError(f"count: {', '.join(twice)} listed twice")
        return self


class Grouping(_Config):
    """How repeats fold into one alert and per-session rules roll up to their agent."""

    # this many sessions of one agent firing one per-session rule within the window make one
    # agent alert instead of one per session (0 switches roll-ups off)
    rollup_sessions: int = Field(default=3, ge=0)
    rollup_window_minutes: float = Field(default=15.0, gt=0, le=1440)
    # a rule firing again on a subject within this long after its alert cleared re-opens it
    repeat_window_minutes: float = Field(default=60.0, ge=0, le=10080)
    # a firing alert's `last_seen` and `last_value` are written at most this often
    refresh_minutes: float = Field(default=1.0, gt=0, le=1440)


class AlertSettings(_Config):
    """Thresholds of every rule, with defaults; `[alerts]` in the config file overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    interval_seconds: float = Field(default=1.0, gt=0, le=60)
    time_scale: float = Field(default=1.0, gt=0, le=10_000)
    runaway_cost: RunawayRules = RunawayRules()
    budget: BudgetRules = BudgetRules()
    error_rate: ErrorRate = ErrorRate()
    success_rate: SuccessRate = SuccessRate()
    stuck_session: Threshold = Threshold(warning=2.0, critical=10.0)  # minutes idle
    sla_breached: Threshold = Threshold(warning=0.0, critical=30.0)  # minutes overdue
    too_many_sessions: SessionCounts = SessionCounts()
    command_expired: CommandExpired = CommandExpired()
    slow_runs: SlowRuns = SlowRuns()
    api_latency: ApiLatency = ApiLatency()
    budget_tokens: TokenBudgets = TokenBudgets()
    too_many_agents: Threshold = Threshold()  # agents with an active session; off unless set
    grouping: Grouping = Grouping()
    # Not configurable from the file: lets tests drive time-based rules without sleeping.
    clock: Callable[[], float] = Field(default=time.time, exclude=True, repr=False)

    def with_time_scale(self, scale: float) -> AlertSettings:
        """The same thresholds for a fleet whose clock runs `scale` times faster (the
        simulator's `--speed`)."""
        return AlertSettings.model_validate({**self.model_dump(), "time_scale": scale,
                                             "clock": self.clock})

    def seconds(self, minutes: float) -> float:
        """Real seconds of a duration given in fleet minutes."""
        return minutes * 60.0 / self.time_scale

    def minutes(self, seconds: float) -> float:
        """Fleet minutes of a real duration."""
        return seconds * self.time_scale / 60.0


def _describe(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        key = ".".join(["alerts", *(str(p) for p in err["loc"])])
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{key}: {message}")
    return out


def _merged(defaults: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """The defaults with the file's keys laid over them, table by table."""
    out = dict(defaults)
    for key, value in table.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def parse_alert_settings(table: Any, source: str = "config") -> AlertSettings:
    """Validate an `[alerts]` table laid over the defaults, so a file may set one key of a
    rule and keep the others; errors name the file and the dotted key."""
    if not isinstance(table, dict):
        raise AlertConfigError(f"{source}: alerts: must be a table")
    if "clock" in table:
        raise AlertConfigError(f"{source}: alerts.clock: unknown key")
    try:
        return AlertSettings.model_validate(_merged(AlertSettings().model_dump(), table))
    except ValidationError as exc:
        problems = _describe(exc)
        raise AlertConfigError(f"{source}: " + "; ".join(problems)) from None


def load_alert_settings(path: Path) -> AlertSettings:
    """The `[alerts]` table of the TOML config file at `path` (defaults when absent)."""
    if not path.exists():
        return AlertSettings()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_alert_settings(doc.get("alerts", {}), str(path))
