"""Operator actions (pause, resume, kill, inject, redirect, spawn, killswitch) and the
agent's command channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from agentops_tui.action_requests import AckRequest, InjectRequest, KillswitchRequest, SpawnRequest
from agentops_tui.core.fleet import Fleet
from agentops_tui.models import Command
from agentops_tui.server.audit import Actor, audited_as
from agentops_tui.server.auth import Principal
from agentops_tui.server.bus import PoolFull
from agentops_tui.server.context import ServerContext, admin, get_ctx, operator
from agentops_tui.server.control import command_outcomes, commands
from agentops_tui.server.openapi import DESCRIPTIONS, answers
from agentops_tui.server.routes.subscribed import (
    REVOKED_FRAME,
    TOKEN_STREAMS_429,
    StreamCaller,
    SubscribedStream,
    long_poll,
    next_wake,
    pool_full,
    stream_owner,
)
from agentops_tui.server.store.writer import Rejected, WriteContext

router = APIRouter(prefix="/api/v1", tags=["control"])

COMMAND_EVENTS = frozenset({"command.created", "command.updated"})
MAX_WAIT = 60.0


def actor_of(request: Request, principal: Principal) -> Actor:
    address = request.client.host if request.client else None
    return Actor(name=principal.name, workspace=principal.workspace, address=address)


async def _act(
    request: Request, principal: Principal, ctx: ServerContext, session_id: str,
    action: str, payload: dict[str, Any],
) -> JSONResponse:
    actor = actor_of(request, principal)
    expiry = ctx.settings.command_expiry_seconds

    def body(wctx: WriteContext) -> Command:
        return commands.issue_command(
            wctx, principal.workspace, session_id, action, payload, actor,  # type: ignore[arg-type]
            expiry_seconds=expiry,
        )

    job = commands.audited(f"session.{action}", session_id, payload or None, actor, body)
    outcome = await ctx.store.write(job)
    command: Command = outcome.unwrap()
    return JSONResponse(command.model_dump(), status_code=202)


@router.post("/sessions/{session_id}/pause", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("session.pause"))
async def pause(session_id: str, request: Request, principal: Principal = Depends(operator),
                ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Ask the session's agent to pause; the session reads `paused` once the agent acks."""
    return await _act(request, principal, ctx, session_id, "pause", {})


@router.post("/sessions/{session_id}/resume", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("session.resume"))
async def resume(session_id: str, request: Request, principal: Principal = Depends(operator),
                 ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    return await _act(request, principal, ctx, session_id, "resume", {})


@router.post("/sessions/{session_id}/kill", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("session.kill"))
async def kill(session_id: str, request: Request, principal: Principal = Depends(operator),
               ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    return await _act(request, principal, ctx, session_id, "kill", {})


@router.post("/sessions/{session_id}/inject", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("session.inject"))
async def inject(session_id: str, body: InjectRequest, request: Request,
                 principal: Principal = Depends(operator),
                 ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Send a message into the session; it appears with role `operator` once delivered."""
    return await _act(request, principal, ctx, session_id, "inject", {"message": body.message})


@router.post("/sessions/{session_id}/redirect", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("session.redirect"))
async def redirect(session_id: str, body: InjectRequest, request: Request,
                   principal: Principal = Depends(operator),
                   ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Stop the session's current step and have it take this instruction instead (a Claude
    Code session: its pending tool call is denied with it). Stored with role `operator` once
    delivered."""
    return await _act(request, principal, ctx, session_id, "redirect",
                      {"message": body.message})


@router.post("/agents/{agent_id}/spawn", status_code=202, response_model=Command,
             responses=answers(409), openapi_extra=audited_as("agent.spawn"))
async def spawn(agent_id: str, body: SpawnRequest, request: Request,
                principal: Principal = Depends(operator),
                ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Ask the agent to start a new session with this prompt (`task_id`: the task it works
    on). The command has `session_id: null` until the agent acknowledges it with the session
    it started, which then appears in the fleet as the agent reports it. 409 `not_capable`
    for an agent whose capabilities do not include `spawn`."""
    actor = actor_of(request, principal)
    expiry = ctx.settings.command_expiry_seconds
    payload: dict[str, Any] = {"prompt": body.prompt}
    if body.task_id is not None:
        payload["task_id"] = body.task_id

    def issue(wctx: WriteContext) -> Command:
        return commands.issue_spawn(wctx, principal.workspace, agent_id, body.prompt,
                                    body.task_id, actor, expiry_seconds=expiry)

    job = commands.audited("agent.spawn", agent_id, payload, actor, issue)
    outcome = await ctx.store.write(job)
    command: Command = outcome.unwrap()
    return JSONResponse(command.model_dump(), status_code=202)


@router.post("/killswitch", status_code=202, openapi_extra=audited_as("killswitch"))
async def killswitch(body: KillswitchRequest, request: Request,
                     principal: Principal = Depends(admin),
                     ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Kill every active session of the workspace. `confirm` must be exactly `KILL ALL`.
    Sessions whose agent cannot be killed are listed in `skipped`, each with the reason."""
    actor = actor_of(request, principal)
    expiry = ctx.settings.command_expiry_seconds
    result: commands.Killswitch = await ctx.store.write(
        lambda wctx: commands.killswitch(wctx, principal.workspace, actor, expiry)
    )
    return JSONResponse({"commands": [c.model_dump() for c in result.commands],
                         "skipped": result.skipped}, status_code=202)


@router.post("/commands/{command_id}/ack", response_model=Command, responses=answers(409))
async def ack(command_id: str, body: AckRequest, principal: Principal = Depends(operator),
              ctx: ServerContext = Depends(get_ctx)) -> Command:
    """The agent's answer to a command: `ok` applies it, otherwise it is marked failed."""
    result: Command = await ctx.store.write(
        lambda wctx: command_outcomes.acknowledge(wctx, principal.workspace, command_id, body.ok,
                                         body.detail, body.session_id)
    )
    return result


def _open_commands(ctx: ServerContext, workspace: str, agent_id: str,
                   statuses: frozenset[str]) -> list[Command]:
    def pick(fleet: Fleet) -> list[Command]:
        if agent_id not in fleet.agents:
            raise Rejected(404, "not_found", f"no agent {agent_id!r}")
        return sorted(
            (c.model_copy() for c in fleet.commands.values()
             if c.agent_id == agent_id and c.status in statuses),
            key=lambda c: c.issued_at,
        )

    found: list[Command] = ctx.store.with_fleet(workspace, pick)
    return found


async def _deliver(ctx: ServerContext, workspace: str, found: list[Command]) -> None:
    ids = [c.id for c in found if c.status == "pending"]
    if ids:
        await ctx.store.write(lambda wctx: command_outcomes.mark_delivered(wctx, workspace, ids))


SSE_CONTENT = {"text/event-stream": {"schema": {"type": "string"}}}


@router.get(
    "/agents/{agent_id}/commands",
    responses={
        200: {"description": "JSON with `wait`, else an event stream", "content": SSE_CONTENT},
        # delivering a command marks it delivered: a write
        **answers(429, 503, s429=TOKEN_STREAMS_429, s503=DESCRIPTIONS[503]),
    },
)
async def agent_commands(
    agent_id: str,
    request: Request,
    wait: float | None = Query(None, ge=0, le=MAX_WAIT, description="long-poll seconds"),
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> Any:
    """Commands for an agent: SSE by default (`event: command`), or `?wait=N` long-poll JSON."""
    if wait is not None:
        return await _poll_commands(request, ctx, principal.workspace, agent_id, wait)
    return _stream_commands(ctx, principal.workspace, agent_id, StreamCaller(request, ctx.tokens),
                            stream_owner(request))


async def _poll_commands(request: Request, ctx: ServerContext, ws: str, agent_id: str,
                         wait: float) -> Any:
    pending = _open_commands(ctx, ws, agent_id, frozenset({"pending"}))
    if not pending and wait > 0:
        try:
            async with long_poll(request, ctx.bus, ws, COMMAND_EVENTS, wait) as poll:
                # read again now that we listen: a command issued meanwhile is not missed
                pending = _open_commands(ctx, ws, agent_id, frozenset({"pending"}))
                while not pending and await poll.next() is not None:
                    pending = _open_commands(ctx, ws, agent_id, frozenset({"pending"}))
                if poll.client_gone:
                    return {"commands": []}  # nobody to hand them to: they stay pending
        except PoolFull as exc:
            return pool_full(exc, "too_many_waiters")
    await _deliver(ctx, ws, pending)
    return {"commands": [c.model_dump() for c in pending]}


def _stream_commands(ctx: ServerContext, ws: str, agent_id: str, caller: StreamCaller,
                     owner: str | None) -> Any:
    try:  # subscribed before reading state: nothing slips by
        sub = ctx.bus.open_stream(ws, COMMAND_EVENTS, owner=owner)
    except PoolFull as exc:
        return pool_full(exc, "too_many_streams")
    try:
        initial = _open_commands(ctx, ws, agent_id, frozenset({"pending", "delivered"}))
    except BaseException:
        ctx.bus.release(sub)
        raise

    async def frames() -> AsyncIterator[bytes]:
        sent: set[str] = set()
        yield f"retry: {ctx.settings.retry_ms}\n\n".encode()
        batch = initial
        while True:
            fresh = [c for c in batch if c.id not in sent]
            if fresh:
                yield b"".join(_command_frame(c) for c in fresh)
                sent.update(c.id for c in fresh)
                await _deliver(ctx, ws, fresh)
            batch = []
            note = await next_wake(sub, caller, ctx.settings.heartbeat_seconds)
            if note is not None:
                yield note
                if note is REVOKED_FRAME:
                    return
                continue
            if sub.dropped:
                return
            for frame in sub.take():
                if frame.type != "command.created":
                    continue
                data = json.loads(frame.data.split(b"data: ", 1)[1])
                if data.get("agent_id") == agent_id and data.get("status") == "pending":
                    batch.append(Command.model_validate(data))

    return SubscribedStream(frames(), ctx.bus, sub)


def _command_frame(command: Command) -> bytes:
    return f"id: {command.id}\nevent: command\ndata: {command.model_dump_json()}\n\n".encode()

