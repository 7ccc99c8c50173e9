"""POST /api/v1/hooks/claude-code: one Claude Code hook payload, answered once it is durable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from agentops_tui.server.auth import Principal
from agentops_tui.server.claude_hooks import HookJob, HookPayload, HookResult
from agentops_tui.server.context import ServerContext, get_ctx, operator
from agentops_tui.server.ingest import decode_json, rejection
from agentops_tui.server.routes.ingest import read_limited
from agentops_tui.server.routes.otlp import ctx_cost
from agentops_tui.server.writer import Rejected

router = APIRouter(prefix="/api/v1/hooks", tags=["ingest"])


def parse_hook(body: bytes) -> HookPayload:
    """Validate a hook payload; 400/422 naming what is wrong."""
    raw = decode_json(body)
    if not isinstance(raw, dict):
        raise Rejected(422, "invalid_request", "body must be the hook's JSON object")
    try:
        return HookPayload.model_validate(raw)
    except ValidationError as exc:
        raise rejection(exc, "invalid_hook") from None


@router.post(
    "/claude-code",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": HookPayload.model_json_schema()}},
        }
    },
)
async def claude_code_hook(
    request: Request,
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """The JSON a Claude Code hook command gets on stdin (any hook event), as forwarded by
    `examples/claude-code/agentops_hook.py`. Unknown hook events are accepted and only keep
    the session alive."""
    hook = parse_hook(await read_limited(request))
    job = HookJob(ctx.store, principal.workspace, hook, ctx_cost(ctx))
    result: HookResult = await ctx.store.write(job)
    return {"session_id": result.session_id, **result.accepted.model_dump()}
