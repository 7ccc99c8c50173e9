"""Current fleet state and the one function that moves it: `Fleet.apply(event)`.

The server's writer and the console's client both keep a `Fleet` and feed it the same event
log, so what an operator sees is, by construction, what the backend stored. Every event is
applied in O(1) (agent status is re-derived from that agent's few active sessions).

The handlers of the frequent events (messages, tool calls, usage, heartbeats, status) write
an entity's field dict, `vars(entity)`, rather than its attributes. The entities are
pydantic models without assignment validation, so `BaseModel.__setattr__` would store the
same value in the same dict, at about three times the cost of the write itself, and record
the name in `model_fields_set`, which nothing reads for fleet entities.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from agentops_tui.models import (
    ACTIVE_SESSION_STATUSES,
    Agent,
    Alert,
    Approval,
    Capability,
    Command,
    Session,
    Task,
    WorkQueue,
    default_capabilities,
)

FINAL_COMMAND_STATUSES = frozenset({"acked", "failed", "expired"})
CAPABILITY_ORDER: tuple[Capability, ...] = get_args(Capability)


def ordered_capabilities(names: Iterable[str]) -> list[Capability]:
    """Capabilities once each, in the one order every answer lists them."""
    wanted = set(names)
    return [c for c in CAPABILITY_ORDER if c in wanted]


@dataclass
class Changes:
    """Which entities one or more applied events touched (ids only)."""

    agents: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    approvals: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    messages: set[str] = field(default_factory=set)  # session ids with new messages
    alerts: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)  # event types the fleet does not model

    def merge(self, other: Changes) -> None:
        self.agents |= other.agents
        self.sessions |= other.sessions
        self.approvals |= other.approvals
        self.commands |= other.commands
        self.messages |= other.messages
        self.alerts |= other.alerts
        self.tasks |= other.tasks
        self.queues |= other.queues
        self.other |= other.other

    def __bool__(self) -> bool:
        return bool(
            self.agents or self.sessions or self.approvals or self.commands or self.messages
            or self.alerts or self.tasks or self.queues or self.other
        )


class Fleet:
    """Agents, sessions, approvals and commands of one workspace, with lookup indexes."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.sessions: dict[str, Session] = {}
        self.approvals: dict[str, Approval] = {}
        self.commands: dict[str, Command] = {}
        self.alerts: dict[str, Alert] = {}  # open and acked; a resolved alert leaves
        self.queues: dict[str, WorkQueue] = {}
        self.tasks: dict[str, Task] = {}  # open, and finished recently
        self.last_event_id = 0
        self.sessions_by_agent: dict[str, set[str]] = {}
        self.sessions_by_task: dict[str, set[str]] = {}
        self.children: dict[str, set[str]] = {}
        self.active_by_agent: dict[str, set[str]] = {}
        self.pending_command_by_session: dict[str, str] = {}

    # ---- loading ---------------------------------------------------------------------------

    def load(
        self,
        agents: Iterable[Agent],
        sessions: Iterable[Session],
        approvals: Iterable[Approval] = (),
        commands: Iterable[Command] = (),
        last_event_id: int = 0,
        alerts: Iterable[Alert] = (),
        queues: Iterable[WorkQueue] = (),
        tasks: Iterable[Task] = (),
    ) -> None:
        """Replace the whole state (a snapshot)."""
        self.__init__()  # type: ignore[misc]
        for agent in agents:
            self.agents[agent.id] = agent
        for session in sessions:
            self.put_session(session)
        for approval in approvals:
            self.approvals[approval.id] = approval
        for command in commands:
            self._put_command(command)
        for alert in alerts:
            if alert.status != "resolved":
                self.alerts[alert.id] = alert
        self.queues = {q.id: q for q in queues}
        self.tasks = {t.id: t for t in tasks}
        self.last_event_id = last_event_id

    def put_session(self, session: Session) -> None:
        """Insert or replace a session, keeping the indexes right."""
        old = self.sessions.get(session.id)
        if old is not None:
            self._unindex(old)
        self.sessions[session.id] = session
        self.sessions_by_agent.setdefault(session.agent_id, set()).add(session.id)
        if session.task_id:
            self.sessions_by_task.setdefault(session.task_id, set()).add(session.id)
        if session.parent_session_id:
            self.children.setdefault(session.parent_session_id, set()).add(session.id)
        if session.status in ACTIVE_SESSION_STATUSES:
            self.active_by_agent.setdefault(session.agent_id, set()).add(session.id)

    def forget_session(self, session_id: str) -> None:
        """Drop a session from memory (it stays in the store)."""
        session = self.sessions.pop(session_id, None)
        if session is not None:
            self._unindex(session)

    def _unindex(self, session: Session) -> None:
        self.sessions_by_agent.get(session.agent_id, set()).discard(session.id)
        if session.task_id:
            self.sessions_by_task.get(session.task_id, set()).discard(session.id)
        if session.parent_session_id:
            self.children.get(session.parent_session_id, set()).discard(session.id)
        self.active_by_agent.get(session.agent_id, set()).discard(session.id)

    def _put_command(self, command: Command) -> None:
        self.commands[command.id] = command
        if command.status in FINAL_COMMAND_STATUSES:
            if self.pending_command_by_session.get(command.session_id) == command.id:
                del self.pending_command_by_session[command.session_id]
        else:
            self.pending_command_by_session[command.session_id] = command.id

    # ---- applying events -------------------------------------------------------------------

    def apply(
        self, event_id: int, type_: str, ts: float, data: dict[str, Any],
        changes: Changes | None = None,
    ) -> Changes:
        """Apply one logged event; what it touched is added to `changes` (a new one if not
        given), so a caller applying many events gathers them in one without merging.
        Unknown types are recorded in `Changes.other`."""
        if changes is None:
            changes = Changes()
        if event_id > self.last_event_id:
            self.last_event_id = event_id
        handler = _HANDLERS.get(type_)
        if handler is None:
            changes.other.add(type_)
        else:
            handler(self, ts, data, changes)
        return changes

    def _agent(self, agent_id: str, ts: float, changes: Changes) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = Agent(id=agent_id, name=agent_id, created_at=ts, last_seen=ts)
            self.agents[agent_id] = agent
        fields = vars(agent)
        if ts > fields["last_seen"]:
            fields["last_seen"] = ts
        changes.agents.add(agent_id)
        return agent

    def _touch(self, session_id: str, ts: float, changes: Changes) -> dict[str, Any] | None:
        """A session's field dict, its last activity moved to `ts` (and its agent's last
        sight); None for a session not in memory."""
        session = self.sessions.get(session_id)
        if session is None:
            return None
        fields: dict[str, Any] = vars(session)
        if ts > fields["last_activity"]:
            fields["last_activity"] = ts
        changes.sessions.add(session_id)
        agent = self.agents.get(fields["agent_id"])
        if agent is not None:
            agent_fields = vars(agent)
            if ts > agent_fields["last_seen"]:
                agent_fields["last_seen"] = ts
                changes.agents.add(agent_fields["id"])
        return fields

    def refresh_agent_status(self, agent_id: str, changes: Changes) -> None:
        """Derive an agent's status from its active sessions: waiting > running > paused."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        statuses = {self.sessions[s].status for s in self.active_by_agent.get(agent_id, ())}
        if "waiting" in statuses:
            status = "waiting"
        elif "running" in statuses:
            status = "running"
        elif "paused" in statuses:
            status = "paused"
        elif agent.status in ACTIVE_SESSION_STATUSES:
            status = "idle"
        else:
            return
        fields = vars(agent)
        if fields["status"] != status:
            fields["status"] = status
            changes.agents.add(agent_id)


def _agent_registered(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    known = data["agent_id"] in fleet.agents
    agent = fleet._agent(data["agent_id"], ts, changes)
    agent.name = data.get("name") or agent.name
    agent.kind = data.get("kind") or agent.kind
    agent.framework = data.get("framework") or agent.framework
    if data.get("model"):
        agent.model = data["model"]
    for name in ("description", "avatar"):  # absent: what it registered with before
        if data.get(name) is not None:
            setattr(agent, name, data[name])
    declared = data.get("capabilities")
    if declared is not None:
        agent.capabilities = ordered_capabilities(declared)
    elif not known:  # logged before registrations carried them: what its framework obeys
        agent.capabilities = default_capabilities(agent.framework)
    # else: a registration that declares nothing keeps what the agent declared before
    if agent.status == "offline":
        agent.status = "idle"
    fleet.refresh_agent_status(agent.id, changes)


def _agent_heartbeat(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    agent = fleet._agent(data["agent_id"], ts, changes)
    fields = vars(agent)
    status = data.get("status")
    if status:
        fields["status"] = status
    elif fields["status"] == "offline":
        fields["status"] = "idle"
    fleet.refresh_agent_status(fields["id"], changes)


def _agent_offline(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    agent = fleet.agents.get(data["agent_id"])
    if agent is not None and not fleet.active_by_agent.get(agent.id):
        agent.status = "offline"  # last_seen stays: it says when we last heard from it
        changes.agents.add(agent.id)


def _session_started(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    agent = fleet._agent(data["agent_id"], ts, changes)
    old = fleet.sessions.get(data["session_id"])
    if old is not None:  # a re-sent start updates what describes it, keeps what was counted
        fleet.forget_session(old.id)
        for name in ("parent_session_id", "task_id", "model", "title"):
            if data.get(name) is not None:
                setattr(old, name, data[name])
        session = old
    else:
        session = Session(
            id=data["session_id"],
            agent_id=agent.id,
            parent_session_id=data.get("parent_session_id"),
            task_id=data.get("task_id"),
            model=data.get("model") or agent.model,
            title=data.get("title"),
            status="running",
            started_at=ts,
            last_activity=ts,
        )
    fleet.put_session(session)
    changes.sessions.add(session.id)
    fleet.refresh_agent_status(agent.id, changes)


def _session_message(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    session = fleet._touch(data["session_id"], ts, changes)
    if session is not None:
        count = session["messages"]
        session["messages"] = max(count, int(data.get("seq") or count + 1))
        changes.messages.add(session["id"])


def _session_tool_call(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    session = fleet._touch(data["session_id"], ts, changes)
    if session is not None:
        tool = data["tool"]
        calls = session["tool_calls"]
        calls[tool] = calls.get(tool, 0) + 1


def _session_usage(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    session = fleet._touch(data["session_id"], ts, changes)
    if session is None:
        return
    session["input_tokens"] += int(data.get("input_tokens") or 0)
    session["output_tokens"] += int(data.get("output_tokens") or 0)
    session["cache_read_tokens"] += int(data.get("cache_read_tokens") or 0)
    session["cache_write_tokens"] += int(data.get("cache_write_tokens") or 0)
    session["cost_usd"] += float(data.get("cost_usd") or 0.0)
    if data.get("priced") is False:
        session["priced"] = False
    if data.get("model") and not session["model"]:
        session["model"] = data["model"]


def _session_status(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    session = fleet._touch(data["session_id"], ts, changes)
    if session is None or session["status"] not in ACTIVE_SESSION_STATUSES:
        return
    session["status"] = data["status"]
    session["detail"] = data.get("detail")
    if data.get("progress") is not None:
        session["progress"] = data["progress"]
    fleet.refresh_agent_status(session["agent_id"], changes)


def _session_ended(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    session = fleet._touch(data["session_id"], ts, changes)
    if session is None:
        return
    session["status"] = data.get("status") or "completed"
    session["error"] = data.get("error")
    session["ended_at"] = ts
    session["detail"] = None
    agent_id = session["agent_id"]
    fleet.active_by_agent.get(agent_id, set()).discard(session["id"])
    fleet.refresh_agent_status(agent_id, changes)
    agent = fleet.agents.get(agent_id)
    if agent is not None and session["status"] == "failed" and agent.status == "idle":
        agent.status = "error"
        changes.agents.add(agent.id)


def _approval_requested(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    fleet._touch(data["session_id"], ts, changes)
    approval_id = data["approval_id"]
    fleet.approvals[approval_id] = Approval(
        id=approval_id,
        session_id=data["session_id"],
        summary=data["summary"],
        detail=data.get("detail"),
        requested_at=ts,
    )
    changes.approvals.add(approval_id)


def _approval_decided(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    approval = Approval.model_validate(data)
    fleet.approvals[approval.id] = approval
    changes.approvals.add(approval.id)


def _command(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    command = Command.model_validate(data)
    fleet._put_command(command)
    changes.commands.add(command.id)
    changes.sessions.add(command.session_id)


def _alert(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    alert = Alert.model_validate(data)
    if alert.status == "resolved":
        fleet.alerts.pop(alert.id, None)
    else:
        fleet.alerts[alert.id] = alert
    changes.alerts.add(alert.id)


def _queue_created(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    queue = WorkQueue.model_validate(data)
    fleet.queues[queue.id] = queue
    changes.queues.add(queue.id)


def _queue_deleted(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    fleet.queues.pop(data["id"], None)
    changes.queues.add(data["id"])


def _task(fleet: Fleet, ts: float, data: dict[str, Any], changes: Changes) -> None:
    task = Task.model_validate(data)
    fleet.tasks[task.id] = task
    changes.tasks.add(task.id)


_Handler = Any
_HANDLERS: dict[str, _Handler] = {
    "agent.registered": _agent_registered,
    "agent.heartbeat": _agent_heartbeat,
    "agent.offline": _agent_offline,
    "session.started": _session_started,
    "session.message": _session_message,
    "session.tool_call": _session_tool_call,
    "session.usage": _session_usage,
    "session.status": _session_status,
    "session.ended": _session_ended,
    "approval.requested": _approval_requested,
    "approval.decided": _approval_decided,
    "command.created": _command,
    "command.updated": _command,
    "alert.raised": _alert,
    "alert.updated": _alert,
    "alert.refreshed": _alert,
    "alert.acked": _alert,
    "alert.resolved": _alert,
    "queue.created": _queue_created,
    "queue.deleted": _queue_deleted,
    "task.created": _task,
    "task.updated": _task,
}
