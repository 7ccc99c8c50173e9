"""Wire costs, metrics and alerting into a server: rollup retention and the alert engine.

The rollups themselves are a fold of the store's checkpoint (`store.rollup_fold`). The alert
feeds are reactions registered by event type, so an event they do not care about (most
messages) costs a single dict lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentops_tui.server.alerts.engine import AlertEngine
from agentops_tui.server.analytics.rollups import Rollups

if TYPE_CHECKING:
    from agentops_tui.server.context import ServerContext


def install(ctx: ServerContext) -> AlertEngine:
    """Register the reactions on the store's writer (before it starts) and the engine."""
    writer = ctx.store.writer
    Rollups().install(writer)
    engine = AlertEngine(ctx.settings.alerts, ctx.settings.command_expiry_seconds)
    engine.feeds.rollups = ctx.store.rollups  # spend committed but not yet in the tables
    for feed in (engine.feeds, engine.feeds.performance, engine.feeds.tokens):
        for kind, handler in feed.handlers().items():
            writer.react(handler, kind, derived=True)
    for prefix, handler in engine.feeds.prefix_handlers().items():
        writer.react(handler, prefixes=(prefix,), derived=True)
    ctx.alert_engine = engine
    return engine
