"""GET /api/agent-ops/stream?workspaceId=…: the work-queue stream under the Agent Ops queue
page's path and event names (docs/compat.md).

It is the main stream (`/api/v1/stream`) seen through `AgentOpsTranslator`: one bus
subscription of the same pool, the same replay from the log, the same Last-Event-ID resume
(ids are the log's), keepalives, revocation and stream cap.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.auth import Principal
from agentops_tui.server.bus import PoolFull
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.openapi import answers
from agentops_tui.server.routes.agent_ops_events import SOURCE_TYPES, AgentOpsTranslator
from agentops_tui.server.routes.stream import EventStream, event_frames, resume_cursor
from agentops_tui.server.routes.subscribed import (
    StreamCaller,
    SubscribedStream,
    pool_full,
)
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/agent-ops", tags=["compat"])


@router.get("/stream", response_class=EventStream, responses=answers(
    403, 503,
    s403="`workspaceId` is not the token's workspace (`forbidden`).",
    s503="The server's stream limit is reached; retry later (`too_many_streams`)."))
async def agent_ops_stream(
    request: Request,
    workspace_id: str = Query(
        ..., alias="workspaceId", min_length=1, max_length=200,
        description="the workspace to follow; must be the token's own"),
    last_event_id: str | None = Header(None),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """Server-Sent Events of work-queue items, approvals, runs and messages: `item.created`,
    `item.updated`, `item.resolved`, `approval.created`, `approval.approved`,
    `approval.rejected`, `run.updated`, `message.updated`, `sla.breached`. Payloads hold
    ids, statuses and ISO 8601 times, never text. Resume with Last-Event-ID."""
    if workspace_id != principal.workspace:
        raise Rejected(
            403, "forbidden", f"workspaceId {workspace_id!r} is not this token's workspace"
            f" ({principal.workspace!r}); a token streams its own workspace only")
    cursor = resume_cursor(last_event_id, None)
    try:
        sub = ctx.bus.open_stream(principal.workspace, SOURCE_TYPES)
    except PoolFull as exc:
        return pool_full(exc, "too_many_streams")
    workspace = principal.workspace

    def runs(session_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        def pick(fleet: Fleet) -> dict[str, tuple[str, str | None]]:
            found = (fleet.sessions.get(sid) for sid in session_ids)
            return {s.id: (s.agent_id, s.task_id) for s in found if s is not None}

        known: dict[str, tuple[str, str | None]] = ctx.store.with_fleet(workspace, pick)
        return known

    body = event_frames(ctx, StreamCaller(request, ctx.tokens), sub, workspace, cursor,
                        SOURCE_TYPES, translate=AgentOpsTranslator(runs))
    return SubscribedStream(body, ctx.bus, sub)
