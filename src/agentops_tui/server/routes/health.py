"""Liveness (no token, says nothing else), who the caller is and the server's metrics
(any token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from agentops_tui.models import Identity
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.ops_metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """Whether the process answers; open to all, so it reveals nothing more."""
    return {"status": "ok"}


@router.get("/api/v1/whoami", tags=["identity"], response_model=Identity)
async def whoami(principal: Principal = Depends(viewer)) -> Identity:
    """The token's name, role and workspace, so a client offers only what the role may do.
    Without authentication (`--no-auth`) every caller is the local admin."""
    return Identity.model_validate({"name": principal.name, "role": principal.role,
                                    "workspace": principal.workspace})


class PrometheusText(PlainTextResponse):
    """Named so the OpenAPI document gives the exposition format's media type."""

    media_type = CONTENT_TYPE


@router.get("/metrics", tags=["health"], response_class=PrometheusText,
            responses={200: {"description": "Prometheus text format 0.0.4"}})
async def metrics(principal: Principal = Depends(viewer),
                  ctx: ServerContext = Depends(get_ctx)) -> PrometheusText:
    """Prometheus text format: this server's capacity, lag and leadership, and the caller's
    workspace (see docs/api.md for every figure)."""
    ws = principal.workspace
    newest = await ctx.store.read(lambda conn: ctx.metrics.newest_id(conn, ws))
    return PrometheusText(ctx.metrics.exposition(ws, newest))
