"""GET /api/v1/stream (SSE with replay) and GET /api/v1/events (paged log for polling).

A stream subscribes to the fan-out *before* it reads the log, then replays from the cursor and
switches to live frames, skipping ids it already sent: no event can fall between the two.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from agentops_tui.server.auth import Principal
from agentops_tui.server.bus import Frame, PoolFull, Subscriber, encode_frame
from agentops_tui.server.context import ServerContext, expensive_read, get_ctx, viewer
from agentops_tui.server.openapi import answers
from agentops_tui.server.routes.subscribed import (
    REVOKED_FRAME,
    TOKEN_STREAMS_429,
    StreamCaller,
    SubscribedStream,
    next_wake,
    pool_full,
    stream_owner,
)
from agentops_tui.server.store.writer import LoggedEvent, Rejected
from agentops_tui.wire_values import MAX_INT64

if TYPE_CHECKING:
    from agentops_tui.server.store.sqlite import Store

router = APIRouter(prefix="/api/v1", tags=["stream"])

REPLAY_PAGE = 2000

# A batch of (event id, type, ts, data) in log order -> the SSE text that stands for it.
Translate = Callable[[list[tuple[int, str, float, dict[str, Any]]]], bytes]


def _types(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    return frozenset(t.strip() for t in raw.split(",") if t.strip()) or None


def resume_cursor(last_event_id: str | None, since: int | None) -> int | None:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            raise Rejected(
                422, "invalid_request", f"Last-Event-ID must be an event id, not {last_event_id!r}"
            ) from None
        if not 0 <= value <= MAX_INT64:
            raise Rejected(422, "invalid_request", f"Last-Event-ID must be 0 to {MAX_INT64}")
        return value
    return since


AHEAD_WAIT_SECONDS = 5.0


async def applied(store: Store, cursor: int) -> None:
    """A cursor ahead of this replica's head was handed out by another replica sharing the
    database: wait (up to AHEAD_WAIT_SECONDS) for this one's tailer to apply that far,
    rather than answer `reset`. A cursor no replica has reached gets `reset` after it."""
    if not store.url.is_postgres:
        return
    deadline = asyncio.get_running_loop().time() + AHEAD_WAIT_SECONDS
    while store.last_event_id < cursor and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


def reset_frame(ctx: ServerContext, cursor: int, head: int) -> bytes:
    data = {
        "reason": "cursor is outside the retained log; take a new snapshot",
        "cursor": cursor,
        "oldest_available": ctx.store.pruned_through + 1,
        "last_event_id": head,
    }
    return f"id: {head}\nevent: reset\ndata: {json.dumps(data)}\n\n".encode()


class EventStream(StreamingResponse):
    """Server-Sent Events; named so the OpenAPI document gives the stream's media type."""

    media_type = "text/event-stream"


@router.get("/stream", response_class=EventStream, responses=answers(
    429, 503, s429=TOKEN_STREAMS_429,
    s503="The server's stream limit is reached; retry later (`too_many_streams`)."))
async def stream(
    request: Request,
    since: int | None = Query(
        None, ge=0, le=MAX_INT64, description="replay events after this id"
    ),
    types: str | None = Query(None, description="comma-separated event types"),
    session: str | None = Query(None, description="only events of this session"),
    last_event_id: str | None = Header(None),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """Server-Sent Events: `id:` event id, `event:` type, `data:` JSON. Resume by id."""
    cursor = resume_cursor(last_event_id, since)
    wanted = _types(types)
    try:
        sub = ctx.bus.open_stream(principal.workspace, wanted, session, stream_owner(request))
    except PoolFull as exc:
        return pool_full(exc, "too_many_streams")
    body = event_frames(ctx, StreamCaller(request, ctx.tokens), sub, principal.workspace,
                        cursor, wanted, session)
    return SubscribedStream(body, ctx.bus, sub)


async def event_frames(
    ctx: ServerContext,
    caller: StreamCaller,
    sub: Subscriber,
    workspace: str,
    cursor: int | None,
    wanted: frozenset[str] | None,
    session: str | None = None,
    translate: Translate | None = None,
) -> AsyncIterator[bytes]:
    """The body of an event stream: replay after `cursor` from the log, then the live frames
    of `sub` (subscribed before the log is read, so nothing falls between the two), ids
    never repeated. `translate`, when given, renders a batch of events in another vocabulary
    (ids stay the log's, so Last-Event-ID resumes the same way); by default the log's own
    frames go out as they are."""
    store = ctx.store
    settings = ctx.settings
    yield f"retry: {settings.retry_ms}\n: agentops stream\n\n".encode()
    sent = store.last_event_id if cursor is None else cursor
    if cursor is not None and cursor > store.last_event_id:
        await applied(store, cursor)
    head = store.last_event_id
    if cursor is not None and (cursor < store.pruned_through or cursor > head):
        yield reset_frame(ctx, cursor, head)
        sent = head
    elif cursor is not None:
        while True:
            page = await store.events_after(
                workspace, sent, REPLAY_PAGE, types=wanted, session=session
            )
            if await caller.revoked():
                yield REVOKED_FRAME
                return
            if page:
                body = (b"".join(encode_frame(e).data for e in page) if translate is None
                        else translate([(e.id, e.type, e.ts, e.data) for e in page]))
                if body:
                    yield body
                sent = page[-1].id
            if len(page) < REPLAY_PAGE:
                break
    while True:
        note = await next_wake(sub, caller, settings.heartbeat_seconds)
        if note is not None:
            yield note
            if note is REVOKED_FRAME:
                return
            continue
        if sub.dropped:
            if sub.shutting_down:
                yield b": server shutting down; reconnect with Last-Event-ID\n\n"
            else:
                yield b": too slow; reconnect with Last-Event-ID to resume\n\n"
            return
        if translate is None:
            chunk = [f.data for f in sub.take() if f.id > sent]
            if chunk:
                yield b"".join(chunk)
                sent = max(sent, _last_id(chunk))
            continue
        fresh = [f for f in sub.take() if f.id > sent]
        if fresh:
            body = translate([_parsed(f) for f in fresh])
            if body:
                yield body
            sent = max(sent, fresh[-1].id)


def _last_id(chunk: list[bytes]) -> int:
    line = chunk[-1].split(b"\n", 1)[0]  # b"id: 123"
    return int(line[4:])


def _parsed(frame: Frame) -> tuple[int, str, float, dict[str, Any]]:
    """A live frame as the log's event: its `data:` line (one line of JSON, with `ts`)."""
    data: dict[str, Any] = json.loads(frame.data.split(b"\ndata: ", 1)[1])
    return frame.id, frame.type, float(data.get("ts") or 0.0), data


@router.get("/events")
async def events(
    after: int = Query(0, ge=0, le=MAX_INT64),
    limit: int = Query(500, ge=1, le=5000),
    types: str | None = Query(None),
    session: str | None = Query(None),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """The log after `after`, oldest first. `reset: true` means `after` was pruned: re-snapshot."""
    store = ctx.store
    reset = after < store.pruned_through
    start = max(after, store.pruned_through) if reset else after
    page: list[LoggedEvent] = await store.events_after(
        principal.workspace, start, limit, types=_types(types), session=session
    )
    return {
        "events": [
            {"id": e.id, "type": e.type, "ts": e.ts, "workspace": e.workspace, "data": e.data}
            for e in page
        ],
        "last_event_id": store.last_event_id,
        "reset": reset,
        "has_more": len(page) == limit,
    }
