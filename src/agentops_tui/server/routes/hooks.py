"""Claude Code's hooks: each event, recorded and answered with what Claude Code must do
(`POST /api/v1/hooks/claude-code`), and the long-poll a held event waits on."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from agentops_tui.server.auth import Principal
from agentops_tui.server.bus import Frame, PoolFull
from agentops_tui.server.context import ServerContext, get_ctx, operator
from agentops_tui.server.ingest.claude_code import control as claude_control
from agentops_tui.server.ingest.claude_code.control import Reply
from agentops_tui.server.ingest.claude_code.hooks import HookJob, HookPayload, HookResult
from agentops_tui.server.ingest.rest import decode_json, rejection
from agentops_tui.server.openapi import DESCRIPTIONS, answers
from agentops_tui.server.routes.ingest import read_limited
from agentops_tui.server.routes.otlp import ctx_cost
from agentops_tui.server.routes.subscribed import long_poll, pool_full
from agentops_tui.server.store.writer import Rejected

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


def _body(session_id: str | None, reply: Reply, **extra: Any) -> dict[str, Any]:
    """What Claude Code must print, plus (under `agentops`, which Claude Code ignores) what
    the hook script needs: the console session, and the wait to poll before printing."""
    return {**reply.answer,
            "agentops": {"session_id": session_id, "wait": reply.wait(), **extra}}


ANSWER_DOC = (
    "The body is the JSON the hook must print for Claude Code (e.g. `{\"continue\": false,"
    " ...}` after a kill, `{}` when there is nothing to say), plus an `agentops` object"
    " Claude Code ignores: `session_id`, the ingest counts, and `wait`. When `wait` is set"
    " (`{\"id\", \"kind\": \"hold\"|\"approval\", \"approval_id\"}`) the event is held:"
    " poll `GET /api/v1/hooks/claude-code/waits/{id}` until it answers without a wait, then"
    " print that answer."
)


@router.post(
    "/claude-code",
    description=ANSWER_DOC,
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
    `agentops_tui/integrations/claude_code_hook.py`, answered with what Claude Code must do.
    Unknown hook events are accepted and only keep the session alive."""
    hook = parse_hook(await read_limited(request))
    job = HookJob(ctx.store, principal.workspace, hook, ctx_cost(ctx))
    result: HookResult = await ctx.store.write(job)
    ctx.metrics.ingested(principal.workspace, "claude_code", result.accepted.accepted)
    return _body(result.session_id, result.reply, **result.accepted.model_dump())


WAKERS = frozenset({"command.created", "approval.decided", "session.ended"})


def _concerns(reply: Reply, frames: list[Frame]) -> bool:
    """Whether any of these events can change the held hook's answer."""
    for frame in frames:
        data = json.loads(frame.data.split(b"data: ", 1)[1])
        if data.get("session_id") in reply.scope or (
                reply.approval_id is not None and data.get("id") == reply.approval_id):
            return True
    return False


@router.get("/claude-code/waits/{wait_id}", description=ANSWER_DOC,
            responses=answers(503, s503=DESCRIPTIONS[503]))
async def claude_code_wait(
    wait_id: str,
    request: Request,
    wait: float = Query(0, ge=0, le=60, description="long-poll up to N s for the answer"),
    give_up: bool = Query(False, description="stop waiting for an approval: it expires and"
                                             " Claude Code asks its own user"),
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> Any:
    """A held Claude Code hook (a paused session, or a permission awaiting its decision in
    Review): its answer once the operator resumes, decides, kills or injects — or, after
    `wait` seconds, the same `wait` again (poll once more)."""
    ws = principal.workspace

    async def answer() -> Reply:
        reply: Reply = await ctx.store.write(
            lambda wctx: claude_control.wait_reply(wctx, ws, wait_id, give_up))
        return reply

    if not wait or give_up:
        reply = await answer()
        return _body(reply.scope[0] if reply.scope else None, reply)
    try:
        async with long_poll(request, ctx.bus, ws, WAKERS, wait) as poll:
            reply = await answer()  # now that we listen: nothing issued meanwhile is missed
            while reply.wait_id is not None and (frames := await poll.next()) is not None:
                if _concerns(reply, frames):
                    reply = await answer()
    except PoolFull as exc:
        return pool_full(exc, "too_many_waiters")
    return _body(reply.scope[0] if reply.scope else None, reply)
