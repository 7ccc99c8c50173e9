"""Wire costs, metrics and alerting into a server: rollup observers and the alert engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentops_tui.server.alerts import AlertEngine
from agentops_tui.server.rollups import Rollups

if TYPE_CHECKING:
    from agentops_tui.server.context import ServerContext


def install(ctx: ServerContext) -> AlertEngine:
    """Register the observers on the store's writer (before it starts) and the engine."""
    writer = ctx.store.writer
    Rollups().install(writer)
    engine = AlertEngine(ctx.settings.alerts, ctx.settings.command_expiry_seconds)
    engine.install(writer)
    ctx.alert_engine = engine
    return engine
