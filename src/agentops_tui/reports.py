"""Wire models of the cost, metrics and alert reports (server responses, client parsing)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentops_tui.models import Alert, Entity


class CostRow(Entity):
    key: str | None  # agent id, task id or model; null: no task / no model named
    name: str | None = None  # the agent's name, when grouped by agent
    cost_usd: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    sessions: int  # sessions with usage in the window
    usage_events: int
    unpriced_events: int  # usage of models without a price (counted as zero)


class CostTable(Entity):
    rows: list[CostRow]
    total_usd: float
    window: str
    group_by: str
    since: float  # the window's start (a minute boundary)
    unpriced_models: list[str | None]


class TimelineGroup(Entity):
    key: str | None
    cost_usd: float
    input_tokens: int
    output_tokens: int


class TimelineBucket(Entity):
    start: float
    end: float  # exclusive; months differ in length
    cost_usd: float
    input_tokens: int
    output_tokens: int
    groups: list[TimelineGroup] | None = None  # only with group_by


class CostTimeline(Entity):
    buckets: list[TimelineBucket]
    bucket: str
    bucket_seconds: int | None  # null for `1mo`: each bucket has its own `end`
    window: str
    group_by: str | None
    since: float


class Tokens(Entity):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class AlertCounts(Entity):
    open: int
    acked: int
    warning: int
    critical: int


class CurrentMetrics(Entity):
    server_time: float
    since: float  # UTC midnight
    active_agents: int
    agents: int
    agents_by_status: dict[str, int]
    active_sessions: int
    sessions_by_status: dict[str, int]
    alerts: AlertCounts
    executions_today: int
    ended_today: int
    completed_today: int
    failed_today: int
    killed_today: int
    success_rate: float | None
    avg_duration_seconds: float | None
    tokens_today: Tokens
    cost_today_usd: float


class DurationStats(Entity):
    p50: float | None
    p95: float | None
    p99: float | None
    min: float | None
    max: float | None
    mean: float | None


class DailyTrend(Entity):
    day: float  # UTC midnight
    executions: int
    completed: int
    failed: int
    cost_usd: float
    input_tokens: int
    output_tokens: int


class AgentMetrics(Entity):
    agent_id: str
    name: str
    window: str
    since: float
    active_sessions: int
    executions: int
    completed: int
    failed: int
    killed: int
    success_rate: float | None
    error_rate: float | None
    duration_seconds: DurationStats
    tokens: Tokens
    cost_usd: float
    daily: list[DailyTrend]


class ToolUsage(Entity):
    tool: str
    calls: int
    share: float | None
    agents: int
    errors: int
    error_rate: float | None
    avg_duration_ms: float | None


class ToolMetrics(Entity):
    tools: list[ToolUsage]
    total_calls: int
    window: str
    since: float


class AlertList(Entity):
    alerts: list[Alert]


class AlertEngineStatus(Entity):
    evaluations: int
    last_evaluation: float | None
    settings: dict[str, Any] = Field(default_factory=dict)

class Delivery(Entity):
    """A message to one channel, carrying `count` notices (more than one: a batch)."""

    id: int
    ts: float
    workspace: str
    rule: str
    channel: str  # the URL masked: never the secret
    kinds: list[str]
    count: int
    title: str
    status: str  # sent | failed
    attempts: int
    error: str | None = None
    first_event_id: int | None = None
    last_event_id: int | None = None

class NotificationRuleShown(Entity):
    """A rule as anyone may see it: the channel URL masked (`slack://****`)."""

    name: str
    url: str
    on: list[str]
    workspaces: list[str]
    agents: list[str]
    min_severity: str
    cooldown_seconds: float


class NotificationPage(Entity):
    """`GET /api/v1/notifications`: deliveries newest first, and the rules that apply."""

    notifications: list[Delivery]
    next_before: int | None  # pass as `before` for the next (older) page; null at the end
    rules: list[NotificationRuleShown]  # the rules that apply to this workspace
