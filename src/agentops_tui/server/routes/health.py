"""Liveness: no auth, no store access beyond a counter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from agentops_tui import __version__
from agentops_tui.server.context import ServerContext, get_ctx

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz(ctx: ServerContext = Depends(get_ctx)) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "last_event_id": ctx.store.last_event_id,
        "stream_clients": len(ctx.bus.subscribers),
        "auth": ctx.settings.auth,
    }
