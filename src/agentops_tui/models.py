"""Wire models shared by every part: entities, ingest events, stream events (request bodies
of actions: `action_requests`).

Requests accept snake_case and camelCase field names; responses are snake_case.
Times on the wire are seconds since the Unix epoch (float); requests may also send ISO 8601.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

from agentops_tui.wire_values import (
    Count,
    DurationMs,
    EventTime,
    Id,
    Key,
    Money,
    Text,
    TokenCount,
)
from agentops_tui.wire_values import (
    Timestamp as Timestamp,  # re-exported: query filters parse times with it
)

AgentStatus = Literal["idle", "running", "waiting", "paused", "error", "offline"]
SessionStatus = Literal["running", "waiting", "paused", "completed", "failed", "killed"]
ReportedStatus = Literal["running", "waiting", "paused"]
EndStatus = Literal["completed", "failed", "killed"]
Role = Literal["system", "user", "assistant", "tool", "operator"]
CommandAction = Literal["pause", "resume", "inject", "redirect", "kill", "spawn"]
CommandStatus = Literal["pending", "delivered", "acked", "failed", "expired"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
TokenRole = Literal["viewer", "operator", "admin"]
AlertSeverity = Literal["warning", "critical"]
AlertStatus = Literal["open", "acked", "resolved"]
AlertSubject = Literal["session", "agent", "task", "workspace"]
TaskStatus = Literal["inbox", "assigned", "running", "complete", "failed"]
# What an agent can obey; the console offers an action only where the agent lists it.
Capability = Literal["pause", "resume", "inject", "redirect", "kill", "spawn", "approve"]

ACTIVE_SESSION_STATUSES: frozenset[str] = frozenset({"running", "waiting", "paused"})
ENDED_SESSION_STATUSES: frozenset[str] = frozenset({"completed", "failed", "killed"})
OPEN_TASK_STATUSES: frozenset[str] = frozenset({"inbox", "assigned", "running"})
FINAL_TASK_STATUSES: frozenset[str] = frozenset({"complete", "failed"})

# What the command channel has always offered an agent that reports over REST or the SDK;
# an agent that declares no capabilities at registration gets these.
COMMAND_CHANNEL_CAPABILITIES: tuple[Capability, ...] = ("pause", "resume", "inject", "kill")
# What Claude Code obeys through its hooks: everything but spawn (its user starts it).
CLAUDE_CODE_CAPABILITIES: tuple[Capability, ...] = (
    "pause", "resume", "inject", "redirect", "kill", "approve")
# Frameworks of agents known only from OpenTelemetry spans: watched, never acted on.
OTEL_FRAMEWORKS: frozenset[str] = frozenset({"opentelemetry", "openllmetry", "openinference"})


def default_capabilities(framework: str | None) -> list[Capability]:
    """What an agent that declared nothing can obey, by where it reports from."""
    if framework in OTEL_FRAMEWORKS:
        return []
    if framework == "claude-code":
        return list(CLAUDE_CODE_CAPABILITIES)
    return list(COMMAND_CHANNEL_CAPABILITIES)


class WireModel(BaseModel):
    """Base for requests: camelCase or snake_case in, snake_case out, unknown fields ignored.
    Strict: a field takes the JSON type the OpenAPI document gives it (no `"5"` for 5, no
    `true` for 1), so the document is the whole truth about what is accepted."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", strict=True)


class Entity(BaseModel):
    """Base for response entities: plain snake_case."""

    model_config = ConfigDict(extra="ignore")


class Identity(Entity):
    """Who a token is (`GET /api/v1/whoami`): the console offers only what its role may do."""

    name: str
    role: TokenRole
    workspace: str


# ---- ingest events -------------------------------------------------------------------------


class _IngestBase(WireModel):
    ts: EventTime | None = None
    event_key: Key | None = None


class AgentRegistered(_IngestBase):
    type: Literal["agent.registered"]
    agent_id: Id
    name: Annotated[str, Field(max_length=200)] | None = None
    kind: Annotated[str, Field(max_length=100)] = "agent"
    framework: Annotated[str, Field(max_length=100)] = "custom"
    model: Annotated[str, Field(max_length=200)] | None = None
    # the actions this agent obeys; absent: what it registered with before, or, for a new
    # agent, the command channel's pause, resume, inject and kill
    capabilities: Annotated[list[Capability], Field(max_length=16)] | None = None
    # what the agent is for, and a picture of it (an image URL or a short glyph such as an
    # emoji); absent: what it registered with before
    description: Annotated[str, Field(max_length=4000)] | None = None
    avatar: Annotated[str, Field(max_length=2000)] | None = None


class AgentHeartbeat(_IngestBase):
    type: Literal["agent.heartbeat"]
    agent_id: Id
    status: AgentStatus | None = None


class SessionStarted(_IngestBase):
    type: Literal["session.started"]
    session_id: Id
    agent_id: Id
    parent_session_id: Id | None = None
    task_id: Id | None = None
    model: Annotated[str, Field(max_length=200)] | None = None
    title: Annotated[str, Field(max_length=1000)] | None = None


class SessionMessage(_IngestBase):
    type: Literal["session.message"]
    session_id: Id
    role: Role = "assistant"
    content: Text
    seq: Count | None = None  # assigned by the server


class SessionToolCall(_IngestBase):
    type: Literal["session.tool_call"]
    session_id: Id
    tool: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["ok", "error"] = "ok"
    duration_ms: DurationMs | None = None
    output: Text | None = None


class SessionUsage(_IngestBase):
    type: Literal["session.usage"]
    session_id: Id
    model: Annotated[str, Field(max_length=200)] | None = None
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    cost_usd: Money | None = None  # computed at ingest when absent
    priced: bool | None = None  # set at ingest: False when the model has no known price
    latency_ms: DurationMs | None = None  # how long the model call took to answer


class SessionStatusChanged(_IngestBase):
    type: Literal["session.status"]
    session_id: Id
    status: ReportedStatus
    detail: Annotated[str, Field(max_length=4000)] | None = None
    # how far the session's work is, 0 to 1, when the agent knows
    progress: Annotated[float, Field(ge=0, le=1)] | None = None


class SessionEnded(_IngestBase):
    type: Literal["session.ended"]
    session_id: Id
    status: EndStatus = "completed"
    error: Text | None = None


class ApprovalRequested(_IngestBase):
    type: Literal["approval.requested"]
    approval_id: Id
    session_id: Id
    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    detail: Text | None = None


IngestEvent = Annotated[
    AgentRegistered
    | AgentHeartbeat
    | SessionStarted
    | SessionMessage
    | SessionToolCall
    | SessionUsage
    | SessionStatusChanged
    | SessionEnded
    | ApprovalRequested,
    Field(discriminator="type"),
]

INGEST_TYPES: tuple[str, ...] = (
    "agent.registered",
    "agent.heartbeat",
    "session.started",
    "session.message",
    "session.tool_call",
    "session.usage",
    "session.status",
    "session.ended",
    "approval.requested",
)


class IngestBatch(WireModel):
    events: Annotated[list[IngestEvent], Field(max_length=1000)]


class IngestAccepted(Entity):
    accepted: int
    duplicates: int
    first_event_id: int | None
    last_event_id: int | None


# ---- entities ------------------------------------------------------------------------------


class Agent(Entity):
    id: str
    name: str
    kind: str = "agent"
    framework: str = "custom"
    model: str | None = None
    status: AgentStatus = "idle"
    last_seen: float = 0.0
    created_at: float = 0.0
    capabilities: list[Capability] = Field(default_factory=list)
    description: str | None = None
    avatar: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_capabilities(cls, data: Any) -> Any:
        """Agents stored before capabilities existed get what their framework obeys."""
        if isinstance(data, dict) and data.get("capabilities") is None:
            return {**data, "capabilities": default_capabilities(data.get("framework"))}
        return data


class Session(Entity):
    id: str
    agent_id: str
    parent_session_id: str | None = None
    task_id: str | None = None
    model: str | None = None
    title: str | None = None
    status: SessionStatus = "running"
    detail: str | None = None
    progress: float | None = None  # 0 to 1, as the agent last reported it
    started_at: float = 0.0
    ended_at: float | None = None
    last_activity: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = True  # False once a usage had no price: cost_usd is then a lower bound
    tool_calls: dict[str, int] = Field(default_factory=dict)
    messages: int = 0
    error: str | None = None


class Message(Entity):
    session_id: str
    seq: int
    role: Role
    content: str
    ts: float


class Approval(Entity):
    id: str
    session_id: str
    summary: str
    detail: str | None = None
    status: ApprovalStatus = "pending"
    requested_at: float = 0.0
    decided_at: float | None = None
    decided_by: str | None = None
    note: str | None = None


class Command(Entity):
    id: str
    # a spawn goes to an agent: no session until the agent acknowledges it with the one it
    # started
    session_id: str | None
    agent_id: str
    action: CommandAction
    payload: dict[str, Any] = Field(default_factory=dict)
    status: CommandStatus = "pending"
    issued_by: str
    issued_at: float
    updated_at: float
    expires_at: float
    detail: str | None = None


class Alert(Entity):
    """A rule that fired for one subject; `alert.*` events carry the whole alert.

    Repeats of one rule on one subject fold into one alert: `count` says how often it fired
    (for an agent alert rolled up from its sessions, how many sessions fired), `first_seen`
    and `last_seen` when, `last_value` the latest reading (`value` is the one that raised or
    escalated it, quoted by `message`). `rollup` marks an agent alert that stands for a
    per-session rule firing on many of its sessions; `sessions` lists some of them.
    """

    id: str
    rule: str
    severity: AlertSeverity
    subject_type: AlertSubject
    subject_id: str
    message: str
    value: float
    threshold: float
    status: AlertStatus = "open"
    raised_at: float
    updated_at: float
    resolved_at: float | None = None
    resolved_reason: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    last_value: float | None = None
    rollup: bool = False
    sessions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _seen(self) -> Alert:
        """Alerts stored before grouping existed were seen when raised and last updated."""
        if not self.first_seen:
            self.first_seen = self.raised_at
        if not self.last_seen:
            self.last_seen = self.updated_at
        if self.last_value is None:
            self.last_value = self.value
        return self


class WorkQueue(Entity):
    id: str
    name: str
    team_id: str | None = None
    description: str | None = None
    created_at: float = 0.0
    created_by: str | None = None


class Task(Entity):
    """A unit of business work in a queue; sessions that name it in `task_id` work on it."""

    id: str
    queue_id: str
    name: str
    priority: int = 3  # 1..5, 5 is the most urgent
    payload: Any = None
    deadline: float | None = None
    status: TaskStatus = "inbox"
    assignee: str | None = None  # agent id
    created_at: float = 0.0
    updated_at: float = 0.0
    assigned_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None
    sla_breached: bool = False
    breached_at: float | None = None


class TaskSession(Entity):
    """One session that worked on a task, as listed with the task."""

    id: str
    agent_id: str
    parent_session_id: str | None = None
    title: str | None = None
    status: SessionStatus
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    started_at: float = 0.0
    ended_at: float | None = None


class TaskView(Task):
    """A task with what its sessions (subagents included) did and cost."""

    queue_name: str | None = None
    sessions: list[TaskSession] = Field(default_factory=list)
    session_count: int = 0
    active_sessions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_seconds: float | None = None


class Event(Entity):
    """One entry of the event log, as streamed and paged."""

    id: int
    type: str
    ts: float
    workspace: str
    data: dict[str, Any]


class Snapshot(Entity):
    last_event_id: int
    workspace: str
    server_time: float
    agents: list[Agent]
    sessions: list[Session]
    approvals: list[Approval]
    commands: list[Command]
    alerts: list[Alert] = Field(default_factory=list)  # open and acked
    queues: list[WorkQueue] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)  # open, and finished in the last hours


class ErrorBody(Entity):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Entity):
    error: ErrorBody
