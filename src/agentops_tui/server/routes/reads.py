"""Reads: snapshot, agents, sessions (filters + cursor paging), messages, the subagent tree."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from agentops_tui.core.fleet import Fleet
from agentops_tui.core.tree import build_forest, forest_json
from agentops_tui.models import Agent, Session, Snapshot
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, expensive_read, get_ctx, viewer
from agentops_tui.server.openapi import answers
from agentops_tui.server.routes.params import AgentStatusFilter, SessionStatusFilter, split
from agentops_tui.server.store.writer import Rejected
from agentops_tui.wire_values import MAX_INT64

router = APIRouter(prefix="/api/v1", tags=["state"])

@router.get("/snapshot", response_model=Snapshot)
async def snapshot(
    principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx)
) -> Snapshot:
    """Agents, active and recent sessions, pending approvals and open commands, together with
    the `last_event_id` they reflect: stream from there to stay current."""
    return ctx.store.snapshot(principal.workspace)


@router.get("/agents")
async def agents(
    status: list[AgentStatusFilter] | None = Query(None, description="repeat or comma-separate"),
    kind: str | None = None,
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, list[Agent]]:
    wanted = split(status)

    def pick(fleet: Fleet) -> list[Agent]:
        return [
            a.model_copy()
            for a in fleet.agents.values()
            if (not wanted or a.status in wanted) and (kind is None or a.kind == kind)
        ]

    found: list[Agent] = ctx.store.with_fleet(principal.workspace, pick)
    found.sort(key=lambda a: a.name)
    return {"agents": found}


@router.get("/agents/{agent_id}")
async def agent(
    agent_id: str, principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx)
) -> dict[str, Any]:
    def pick(fleet: Fleet) -> dict[str, Any] | None:
        found = fleet.agents.get(agent_id)
        if found is None:
            return None
        active = [fleet.sessions[s].id for s in fleet.active_by_agent.get(agent_id, ())]
        return {**found.model_dump(), "active_sessions": sorted(active)}

    result = ctx.store.with_fleet(principal.workspace, pick)
    if result is None:
        raise Rejected(404, "not_found", f"no agent {agent_id!r}")
    return result  # type: ignore[no-any-return]


def _encode_cursor(session: Session) -> str:
    raw = f"{session.started_at!r}|{session.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, sid = raw.split("|", 1)
        return float(started), sid
    except (ValueError, UnicodeDecodeError):
        raise Rejected(422, "invalid_request", "cursor: not a cursor this server issued") from None


@router.get("/sessions")
async def sessions(
    status: list[SessionStatusFilter] | None = Query(None, description="repeat or comma-separate"),
    agent_id: str | None = None,
    task_id: str | None = None,
    parent_session_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Sessions, newest first. Pass `next_cursor` back as `cursor` for the next page."""
    wanted = split(status)
    page = await ctx.store.sessions_page(
        principal.workspace,
        status=wanted or None,
        agent_id=agent_id,
        task_id=task_id,
        parent_session_id=parent_session_id,
        cursor=_decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    next_cursor = _encode_cursor(page[-1]) if len(page) == limit else None
    return {"sessions": [s.model_dump() for s in page], "next_cursor": next_cursor}


@router.get("/sessions/tree", response_model=dict[str, Any], responses=answers(404))
async def session_tree(
    root: str | None = Query(None, description="only the tree under this session"),
    active: bool = Query(False, description="only trees with an active session"),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """Sessions under their parents with cost, tokens and counts rolled up per subtree."""

    def build(fleet: Fleet) -> str:
        if root is not None and root not in fleet.sessions:
            raise Rejected(404, "not_found", f"no session {root!r} in current state")
        forest = build_forest(fleet.sessions, fleet.children, [root] if root else None)
        return forest_json(n for n in forest if not active or n.active)

    # Serialised here rather than by the framework, whose encoders recurse once per level.
    roots = ctx.store.with_fleet(principal.workspace, build)
    return Response('{"roots":' + roots + "}", media_type="application/json")


@router.get("/sessions/{session_id}")
async def session(
    session_id: str, principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx)
) -> Session:
    found = await ctx.store.session(principal.workspace, session_id)
    if found is None:
        raise Rejected(404, "not_found", f"no session {session_id!r}")
    return found


@router.get("/sessions/{session_id}/messages")
async def messages(
    session_id: str,
    after: int = Query(0, ge=0, le=MAX_INT64),
    before: int | None = Query(
        None, ge=1, le=MAX_INT64, description="page backwards from this seq"
    ),
    limit: int = Query(200, ge=1, le=1000),
    # not an expensive read: one session's page by index, fetched by the console's log
    # tail whenever the shown session has news, often several times a second
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """A session's messages by `seq`: forward with `after`, or backwards with `before`."""
    store = ctx.store
    if await store.session(principal.workspace, session_id) is None:
        raise Rejected(404, "not_found", f"no session {session_id!r}")
    if before is not None:
        page = await store.messages_before(principal.workspace, session_id, before, limit)
    else:
        page = await store.messages(principal.workspace, session_id, after, limit)
    return {"messages": [m.model_dump() for m in page]}
