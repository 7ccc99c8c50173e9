"""Which committed events need the operator, and what to tell them.

`notices(event, fleet)` runs in the writer thread right after the commit (the fleet is the
writer's own, current state), so it must stay cheap: most events are not of interest and
leave at the first dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.control.approvals import WAITING_PREFIX
from agentops_tui.server.notify.rules import SEVERITY_RANK, NotifyRule
from agentops_tui.server.store.write_context import LoggedEvent

OPEN_CONSOLE = "run `agentops tui` (or open the web console) and press 5 for Review"


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing that needs the operator."""

    kind: str
    workspace: str
    severity: str
    agent_id: str | None
    headline: str  # one line: what needs them
    detail: str  # how to act
    event_id: int

    def matches(self, rule: NotifyRule) -> bool:
        return (
            self.kind in rule.on
            and (not rule.workspaces or self.workspace in rule.workspaces)
            and (not rule.agents or self.agent_id in rule.agents)
            and SEVERITY_RANK[self.severity] >= SEVERITY_RANK[rule.min_severity]
        )


def _session_words(fleet: Fleet, session_id: str) -> tuple[str | None, str]:
    """The session's agent id, and how to name the session and its agent."""
    session = fleet.sessions.get(session_id)
    if session is None:
        return None, f"session {session_id}"
    agent = fleet.agents.get(session.agent_id)
    agent_name = agent.name if agent is not None and agent.name else session.agent_id
    title = f"{session.title!r} ({session_id})" if session.title else f"session {session_id}"
    return session.agent_id, f"{title} of agent {agent_name}"


def _approval(ev: LoggedEvent, fleet: Fleet) -> Notice:
    agent_id, who = _session_words(fleet, ev.data["session_id"])
    return Notice("approval", ev.workspace, "warning", agent_id,
                  f"Approval needed: {ev.data['summary']}",
                  f"{who} waits for a decision. To approve or reject, {OPEN_CONSOLE}.",
                  ev.id)


def _status(ev: LoggedEvent, fleet: Fleet) -> Notice | None:
    if ev.data.get("status") != "waiting":
        return None
    if str(ev.data.get("detail") or "").startswith(WAITING_PREFIX):
        return None  # the session waits for an approval: the `approval` notice says so
    agent_id, who = _session_words(fleet, ev.data["session_id"])
    why = f": {ev.data['detail']}" if ev.data.get("detail") else ""
    return Notice("waiting", ev.workspace, "info", agent_id, f"Waiting for input{why}",
                  f"{who} is waiting. To answer it, run `agentops tui`, select the session "
                  "and inject a message.", ev.id)


def _alert(ev: LoggedEvent, fleet: Fleet) -> Notice | None:
    data = ev.data
    if data.get("status") != "open":  # updates that ack or resolve need nobody
        return None
    kind = "budget" if str(data.get("rule", "")).startswith("budget") else "alert"
    raised = "raised" if ev.type == "alert.raised" else "escalated"
    agent_id = data.get("subject_id") if data.get("subject_type") == "agent" else None
    if data.get("subject_type") == "session":
        agent_id, _ = _session_words(fleet, str(data.get("subject_id")))
    return Notice(kind, ev.workspace, str(data.get("severity", "warning")), agent_id,
                  f"{str(data.get('severity', '')).capitalize()} alert {raised}: "
                  f"{data.get('message', data.get('rule'))}",
                  f"Alert {data.get('id')} on {data.get('subject_type')} "
                  f"{data.get('subject_id')}. To acknowledge it, run `agentops tui` and open "
                  "Alerts (press 6).", ev.id)


def _sla(ev: LoggedEvent, fleet: Fleet) -> Notice:
    data = ev.data
    late = float(data.get("late_seconds") or 0)
    return Notice("sla", ev.workspace, "warning", data.get("assignee"),
                  f"SLA breached: task {data.get('title')!r} ({data.get('task_id')})",
                  f"{data.get('priority')} task is {late:.0f} s past its deadline "
                  f"(status {data.get('status')}). To reassign or cancel it, run "
                  "`agentops tui` and open Tasks (press 3).", ev.id)


def _command(ev: LoggedEvent, fleet: Fleet) -> Notice | None:
    data = ev.data
    if data.get("status") not in ("failed", "expired"):
        return None
    target = "session"
    if data.get("session_id") is None:  # a spawn the agent did not carry out
        agent = fleet.agents.get(str(data.get("agent_id")))
        who = f"agent {agent.name if agent is not None else data.get('agent_id')}"
        target = "agent"
    else:
        _agent, who = _session_words(fleet, str(data.get("session_id")))
    why = f": {data['detail']}" if data.get("detail") else ""
    return Notice("command", ev.workspace, "warning", data.get("agent_id"),
                  f"Command {data.get('action')} {data.get('status')}{why}",
                  f"Sent to {who} by {data.get('issued_by')}. To retry, run "
                  f"`agentops tui` and select the {target}.", ev.id)


_ROUTES: dict[str, Any] = {
    "approval.requested": _approval,
    "session.status": _status,
    "alert.raised": _alert,
    "alert.updated": _alert,
    "sla.breached": _sla,
    "command.updated": _command,
}


def notice_for(ev: LoggedEvent, fleet_of: Any) -> Notice | None:
    """The notice `ev` makes, or None; `fleet_of(workspace)` gives the writer's fleet."""
    route = _ROUTES.get(ev.type)
    if route is None:
        return None
    notice: Notice | None = route(ev, fleet_of(ev.workspace))
    return notice
