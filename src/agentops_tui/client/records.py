"""Typed records the console reads from the API that have no model in `agentops_tui.models`
(the server's own models stay on the server side of the layering)."""

from __future__ import annotations

from typing import Any

from agentops_tui.models import Entity


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
