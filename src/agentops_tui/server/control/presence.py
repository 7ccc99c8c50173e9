"""Presence: an agent with no active session that has not been heard from goes `offline`.

Agents report heartbeats (the SDK does); an idle agent that stops doing so is gone, and the
roster should say so rather than show it idle forever. The change is a logged event
(`agent.offline`), so every console sees it at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.store.writer import WriteContext

log = logging.getLogger("agentops.presence")

def _silent(fleet: Fleet, before: float) -> list[str]:
    return [
        a.id for a in fleet.agents.values()
        if a.status != "offline" and a.last_seen < before and not fleet.active_by_agent.get(a.id)
    ]


def mark_offline(ctx: WriteContext, offline_after: float) -> int:
    count = 0
    for workspace, fleet in list(ctx.fleets().items()):
        for agent_id in _silent(fleet, ctx.now - offline_after):
            ctx.emit(workspace, "agent.offline", {"type": "agent.offline", "agent_id": agent_id})
            count += 1
    return count


async def presence_forever(server: Any, interval: float = 5.0) -> None:
    store = server.store
    offline_after = server.settings.offline_after_seconds
    while True:
        await asyncio.sleep(interval)
        cutoff = time.time() - offline_after
        with store.writer.lock:
            due = any(_silent(f, cutoff) for f in store.writer.fleets.values())
        if due:
            try:
                await store.write(lambda ctx: mark_offline(ctx, offline_after))
            except Exception:
                log.warning("presence pass failed", exc_info=True)
