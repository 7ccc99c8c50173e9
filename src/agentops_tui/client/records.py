"""Typed records the console reads from the API that have no model in `agentops_tui.models`
or `agentops_tui.reports` (the server's own models stay on the server side of the layering).
Where the server answers with a shared model (`Approval`, `Alert`, `AlertEngineStatus`, …) the
client parses that very model, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentops_tui.models import Command, Entity, Event


class AuditEntry(Entity):
    """One line of the audit log, as `GET /api/v1/audit?format=json` returns it."""

    id: int
    ts: float
    workspace: str = ""
    actor: str
    action: str
    target: str | None = None
    payload: dict[str, Any] | None = None
    result: str
    address: str | None = None

    def text(self) -> str:
        """Every field as words, for the console's free-text filter."""
        return " ".join(str(v) for v in self.model_dump().values())


class Health(Entity):
    """`GET /healthz`: the process answers (it says nothing else, to anyone)."""

    status: str


class EventPage(Entity):
    """A page of the event log (`GET /api/v1/events`), oldest first. `reset`: the cursor
    fell out of the server's log, so a new snapshot is needed."""

    events: list[Event]
    last_event_id: int
    reset: bool = False
    has_more: bool = False


class KillSkipped(Entity):
    """A session the kill switch left alone, and why (its agent cannot be killed)."""

    session_id: str
    agent_id: str
    reason: str


class Killswitch(Entity):
    """`POST /api/v1/killswitch`: the kills sent, and the sessions skipped."""

    commands: list[Command]
    skipped: list[KillSkipped] = Field(default_factory=list)
