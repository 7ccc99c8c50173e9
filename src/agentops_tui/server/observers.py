"""Wire costs, metrics and alerting into a server: rollup retention and the alert engine.

The rollups themselves are a fold of the store's checkpoint (`store.rollup_fold`). The alert
feeds are reactions: one observer dispatches by event type to them, so an event they do not
care about (most messages) costs a single dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentops_tui.server.alerts.engine import AlertEngine
from agentops_tui.server.analytics.rollups import Rollups
from agentops_tui.server.store.writer import LoggedEvent, WriteContext

if TYPE_CHECKING:
    from agentops_tui.server.context import ServerContext

Handler = Callable[[WriteContext, LoggedEvent], None]


class Dispatch:
    """An observer that calls the handlers registered for an event's type (or a prefix of
    it), resolving each type once."""

    def __init__(self, exact: list[dict[str, Handler]], prefixes: dict[str, Handler]) -> None:
        self._exact: dict[str, list[Handler]] = {}
        for table in exact:
            for kind, handler in table.items():
                self._exact.setdefault(kind, []).append(handler)
        self._prefixes = prefixes
        self._resolved: dict[str, tuple[Handler, ...]] = {}

    def _resolve(self, kind: str) -> tuple[Handler, ...]:
        found = list(self._exact.get(kind, ()))
        found += [h for prefix, h in self._prefixes.items() if kind.startswith(prefix)]
        resolved = self._resolved[kind] = tuple(found)
        return resolved

    def __call__(self, ctx: WriteContext, event: LoggedEvent) -> None:
        handlers = self._resolved.get(event.type)
        if handlers is None:
            handlers = self._resolve(event.type)
        for handler in handlers:
            handler(ctx, event)


def install(ctx: ServerContext) -> AlertEngine:
    """Register the reactions on the store's writer (before it starts) and the engine."""
    writer = ctx.store.writer
    Rollups().install(writer)
    engine = AlertEngine(ctx.settings.alerts, ctx.settings.command_expiry_seconds)
    engine.feeds.rollups = ctx.store.rollups  # spend committed but not yet in the tables
    writer.observers.append(Dispatch(
        [engine.feeds.handlers()], engine.feeds.prefix_handlers()
    ))
    ctx.alert_engine = engine
    return engine
