"""Liveness (no token, says nothing else), who the caller is and the server's metrics
(any token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from agentops_tui.models import Identity
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.ops_metrics import Sample, info_sample, render, workspace_samples

router = APIRouter()

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


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


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse,
            responses={200: {"content": {PROMETHEUS_TEXT: {}}}})
async def metrics(principal: Principal = Depends(viewer),
                  ctx: ServerContext = Depends(get_ctx)) -> PlainTextResponse:
    """Prometheus text format: this server's capacity figures and the caller's workspace."""
    ws = principal.workspace
    bus, store = ctx.bus, ctx.store
    newest = await store.read(lambda conn: ctx.heads.newest_id(conn, ws))
    samples = [
        info_sample(),
        Sample("agentops_stream_clients", "gauge", "Open event streams (all workspaces).",
               len(bus.streams)),
        Sample("agentops_stream_clients_limit", "gauge", "Most streams the server accepts.",
               bus.max_clients),
        Sample("agentops_long_poll_waiters", "gauge",
               "Long-polls waiting for a command or a decision (all workspaces).",
               len(bus.waiters)),
        Sample("agentops_long_poll_waiters_limit", "gauge", "Most long-polls waiting at once.",
               bus.max_waiters),
        Sample("agentops_stream_dropped_total", "counter",
               "Streams cut off for falling too far behind.", bus.dropped_total),
        Sample("agentops_writer_commits_total", "counter",
               "Group commits by the writer since the server started.", store.writer.commits),
        Sample("agentops_events_total", "counter",
               "Events committed in this workspace since the server started.",
               ctx.heads.events_total(ws), (("workspace", ws),)),
        Sample("agentops_last_event_id", "gauge", "Newest event id of this workspace.",
               newest, (("workspace", ws),)),
    ]
    samples += store.with_fleet(ws, lambda fleet: workspace_samples(fleet, ws))
    return PlainTextResponse(render(samples), media_type=PROMETHEUS_TEXT)
