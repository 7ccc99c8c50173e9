"""Seed 002's agent API at its own paths: an agent's messages across its sessions (a page, or
SSE with replay), inject / pause / resume / kill on its active sessions, the killswitch, and
the session tree (docs/compat.md).

Actions are the session commands of the main API (control/agent_control.py), audited the same
way; reads come from the same store. Roles: reads viewer, actions operator, kill-all admin.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from agentops_tui.action_requests import InjectRequest
from agentops_tui.core.fleet import Fleet
from agentops_tui.models import CommandAction
from agentops_tui.server.audit import audited_as
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import (
    ServerContext,
    admin,
    expensive_read,
    get_ctx,
    operator,
    viewer,
)
from agentops_tui.server.control import agent_control, agent_views, commands
from agentops_tui.server.openapi import DESCRIPTIONS, answers
from agentops_tui.server.routes.control import actor_of
from agentops_tui.server.routes.seed_message_stream import message_stream
from agentops_tui.server.routes.stream import EventStream
from agentops_tui.server.store.writer import Rejected
from agentops_tui.wire_values import MAX_INT64

router = APIRouter(tags=["seed 002: agents"])

ACTION_ANSWER = {202: {"description": "The commands sent, one per active session that can"
                            " take the action, and the sessions left out with the reason."},
                 **answers(409, s409="The agent has no active session, or none that can take"
                                     " this now (`no_active_session`, `not_capable`,"
                                     " `conflict`); `details` says why for each.")}


def require_agent(ctx: ServerContext, workspace: str, agent_id: str) -> None:
    if not ctx.store.with_fleet(workspace, lambda f: agent_id in f.agents):
        raise Rejected(404, "not_found", f"no agent {agent_id!r}")


@router.get("/agents/tree", responses=answers(422))
async def agent_tree(
    limit: int = Query(200, ge=1, le=1000, description="the newest sessions, at most"),
    principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx),
) -> list[dict[str, Any]]:
    """Sessions newest first, each naming its parent (`parentSessionId`) so a client builds
    the tree of agents and the subagents they spawned."""
    ws = principal.workspace
    found = await ctx.store.sessions_page(ws, status=None, agent_id=None, task_id=None,
                                          parent_session_id=None, cursor=None, limit=limit)

    def lookups(fleet: Fleet) -> tuple[dict[str, Any], dict[str, str]]:
        return ({a.id: a.model_copy() for a in fleet.agents.values()},
                {t.id: t.queue_id for t in fleet.tasks.values()})

    agents, queue_of_task = ctx.store.with_fleet(ws, lookups)
    return [agent_views.tree_entry(s, agents.get(s.agent_id), queue_of_task) for s in found]


@router.get("/agents/{agent_id}/messages")
async def agent_messages(
    agent_id: str,
    skip: int = Query(0, ge=0, le=MAX_INT64, description="messages to skip"),
    limit: int = Query(50, ge=1, le=1000, description="messages in the page"),
    principal: Principal = Depends(expensive_read), ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """The agent's messages across all its sessions, oldest first: `skip` and `limit` page
    through them; `total` counts them all."""
    ws = principal.workspace
    require_agent(ctx, ws, agent_id)
    page, total = await ctx.store.read(
        lambda conn: agent_views.message_page(conn, ws, agent_id, skip, limit), current=True)
    return {"agentId": agent_id, "messages": page, "total": total, "skip": skip,
            "limit": limit, "hasMore": skip + len(page) < total}


@router.get("/agents/{agent_id}/messages/stream", response_class=EventStream,
            responses=answers(503, s503="The server's stream limit is reached; retry later"
                                        " (`too_many_streams`)."))
async def agent_message_stream(
    agent_id: str, request: Request,
    replay: int = Query(50, ge=0, le=1000,
                        description="latest messages sent first when no Last-Event-ID"),
    last_event_id: str | None = Header(None),
    principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """Server-Sent Events, `event: message`, one per message of any of the agent's sessions.
    A new stream first replays the agent's latest `replay` messages; a stream resumed with
    `Last-Event-ID` replays exactly what it missed from the log."""
    require_agent(ctx, principal.workspace, agent_id)
    return await message_stream(request, ctx, principal.workspace, agent_id, replay,
                                last_event_id)


async def _act(request: Request, principal: Principal, ctx: ServerContext, agent_id: str,
               action: CommandAction, payload: dict[str, Any]) -> JSONResponse:
    actor = actor_of(request, principal)
    expiry = ctx.settings.command_expiry_seconds
    ws = principal.workspace
    job = commands.audited(
        f"agent.{action}", agent_id, payload or None, actor,
        lambda w: agent_control.act_on_agent(w, ws, agent_id, action, payload, actor,
                                             expiry_seconds=expiry))
    done: agent_control.AgentAction = (await ctx.store.write(job)).unwrap()
    return JSONResponse({"message": done.summary(), "agentId": agent_id, "action": action,
                         "commands": [c.model_dump() for c in done.commands],
                         "skipped": done.skipped}, status_code=202)


@router.post("/agents/{agent_id}/inject", status_code=202, responses=ACTION_ANSWER,
             openapi_extra=audited_as("agent.inject"))
async def inject(agent_id: str, body: InjectRequest, request: Request,
                 principal: Principal = Depends(operator),
                 ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Send `message` into each active session of the agent (stored with role `operator`
    once its agent takes it)."""
    return await _act(request, principal, ctx, agent_id, "inject", {"message": body.message})


@router.post("/agents/{agent_id}/pause", status_code=202, responses=ACTION_ANSWER,
             openapi_extra=audited_as("agent.pause"))
async def pause(agent_id: str, request: Request, principal: Principal = Depends(operator),
                ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Pause the agent's running or waiting sessions; each reads `paused` once acked."""
    return await _act(request, principal, ctx, agent_id, "pause", {})


@router.post("/agents/{agent_id}/resume", status_code=202, responses=ACTION_ANSWER,
             openapi_extra=audited_as("agent.resume"))
async def resume(agent_id: str, request: Request, principal: Principal = Depends(operator),
                 ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Resume the agent's paused sessions."""
    return await _act(request, principal, ctx, agent_id, "resume", {})


@router.post("/agents/{agent_id}/kill", status_code=202, responses=ACTION_ANSWER,
             openapi_extra=audited_as("agent.kill"))
async def kill(agent_id: str, request: Request, principal: Principal = Depends(operator),
               ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """Kill the agent's active sessions."""
    return await _act(request, principal, ctx, agent_id, "kill", {})


@router.post("/agents/kill-all", status_code=202, openapi_extra=audited_as("killswitch"),
             responses={202: {"description": "`total`, `killed` (kills sent), `failed` (sessions"
                                             " whose agent cannot be killed) and `errors`."},
                        **answers(503, s503=DESCRIPTIONS[503])})
async def kill_all(request: Request, principal: Principal = Depends(admin),
                   ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    """The killswitch: kill every active session of the workspace (role admin). The same
    operation as `POST /api/v1/killswitch`, which also wants the typed confirmation."""
    actor = actor_of(request, principal)
    expiry = ctx.settings.command_expiry_seconds
    ws = principal.workspace
    result = await ctx.store.write(lambda w: agent_control.kill_all(w, ws, actor, expiry))
    return JSONResponse(result, status_code=202)

