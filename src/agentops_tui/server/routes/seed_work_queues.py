"""Seed 003's work-queue paths, verbatim: `/work-queues…` and `/work-queue-tasks…` without the
`/api/v1` prefix, each the very operation of routes/queues.py (docs/compat.md)."""

from __future__ import annotations

from agentops_tui.server.routes import queues
from agentops_tui.server.routes.aliases import aliases_of

router = aliases_of(
    queues.router, strip="/api/v1", tags=["seed 003: work queues"],
    note="Seed 003 path (docs/compat.md).",
)
