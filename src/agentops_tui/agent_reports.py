"""Wire models of the agent analytics under `/api/agents/…` (docs/compat.md).

Field names follow the Agent Operations dashboard these endpoints serve: durations in
milliseconds (`…_ms`), rates as fractions 0–1 (null where nothing was counted), times as
ISO 8601 in UTC. An agent's *type* is its `kind`.
"""

from __future__ import annotations

from pydantic import Field

from agentops_tui.models import Entity


class ActiveAgentDetail(Entity):
    agent_id: str
    agent_name: str
    agent_type: str
    session_id: str  # the execution
    status: str  # the session's: running, waiting or paused
    started_at: str
    duration_so_far_ms: int
    progress: float | None = None  # 0–1, when the agent reports it


class CurrentAgentMetrics(Entity):
    active_agents: int
    active_sessions: int
    executions_today: int  # sessions started today (UTC)
    ended_today: int
    success_rate: float | None  # completed / ended today
    avg_duration_ms: int | None  # of the sessions that ended today
    tokens_used_today: int  # input + output
    estimated_cost_today: float
    active_agent_details: list[ActiveAgentDetail]
    server_time: str


class TimelineHour(Entity):
    timestamp: str  # the hour's start
    executions: int  # sessions that ended in the hour
    completed: int
    failed: int
    avg_duration_ms: int | None
    success_rate: float | None
    dominant_agent_type: str | None


class AgentTimeline(Entity):
    hours: int
    timeline: list[TimelineHour]


class TypeShare(Entity):
    type: str
    count: int  # executions (sessions that ended in the window)
    percentage: float | None  # of all executions in the window
    avg_duration_ms: int | None
    success_rate: float | None
    common_tools: list[str]  # most called first, at most five
    agents: int  # agents of this type
    active_agents: int
    total_tokens: int
    avg_tokens: int | None


class TypeDistribution(Entity):
    hours: int
    total_executions: int
    distribution: list[TypeShare]


class DurationSpread(Entity):
    p50_duration_ms: int | None
    p95_duration_ms: int | None
    p99_duration_ms: int | None
    min_duration_ms: int | None
    max_duration_ms: int | None
    avg_duration_ms: int | None


class TokenUsage(Entity):
    avg_tokens: int | None  # per execution
    total_tokens: int  # input + output
    input_tokens: int
    output_tokens: int
    estimated_cost: float


class DailyTrend(Entity):
    date: str
    executions: int
    avg_duration_ms: int | None
    success_rate: float | None
    total_tokens: int


class AgentPerformance(Entity):
    agent_name: str
    agent_type: str
    agent_ids: list[str]  # every agent of that name
    days: int
    total_executions: int
    success_rate: float | None
    performance: DurationSpread
    token_usage: TokenUsage
    daily_trend: list[DailyTrend]


class ToolUse(Entity):
    name: str
    usage_count: int
    percentage: float | None
    avg_per_execution: float | None
    agents_using: list[str]  # agent types
    agent_count: int
    errors: int


class ToolInsights(Entity):
    most_used_tool: str | None
    least_used_tool: str | None
    high_correlation: list[list[str]] = Field(
        description="pairs of tools often used in the same session, strongest first")


class ToolUsageReport(Entity):
    period: str  # the UTC day (2025-01-06) or ISO week (2025-W02)
    since: str
    executions: int  # sessions started in the period
    tools: list[ToolUse]
    insights: ToolInsights
