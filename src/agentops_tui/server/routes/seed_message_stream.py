"""The SSE stream of one agent's messages (seed 002's `GET /agents/{id}/messages/stream`).

Built like the main stream (routes/stream.py): it subscribes to the fan-out *before* it
reads, so nothing falls between replay and live frames. Each frame's `id:` is the log id of
its message, so a client resuming with `Last-Event-ID` gets exactly the messages it missed,
from the log. A new stream instead replays the agent's latest messages from the messages
table, all carrying the log position they were read at; a live message also in that replay
is not sent twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from agentops_tui.server.bus import PoolFull
from agentops_tui.server.context import ServerContext
from agentops_tui.server.control import agent_views
from agentops_tui.server.routes.stream import REPLAY_PAGE, applied, reset_frame, resume_cursor
from agentops_tui.server.routes.subscribed import (
    KEEPALIVE_FRAME,
    REVOKED_FRAME,
    StreamCaller,
    SubscribedStream,
    next_wake,
    pool_full,
    stream_owner,
)

MESSAGE_EVENTS = frozenset({"session.message"})


def _frame(event_id: int, message: dict[str, Any]) -> bytes:
    return f"id: {event_id}\nevent: message\ndata: {json.dumps(message)}\n\n".encode()


class AgentSessions:
    """Whether a session is the agent's: its stored sessions, then the fleet for new ones."""

    def __init__(self, ctx: ServerContext, workspace: str, agent_id: str,
                 known: set[str]) -> None:
        self._ctx, self._ws, self.agent_id = ctx, workspace, agent_id
        self._mine = known
        self._others: set[str] = set()

    def __contains__(self, session_id: object) -> bool:
        if not isinstance(session_id, str) or session_id in self._others:
            return False
        if session_id in self._mine:
            return True
        session = self._ctx.store.with_fleet(self._ws, lambda f: f.sessions.get(session_id))
        mine = session is not None and session.agent_id == self.agent_id
        (self._mine if mine else self._others).add(session_id)
        return mine

    def entry(self, data: dict[str, Any], ts: float) -> dict[str, Any]:
        return agent_views.message_entry(
            self.agent_id, str(data["session_id"]), int(data["seq"]), str(data["role"]),
            str(data["content"]), ts)


async def message_stream(request: Request, ctx: ServerContext, workspace: str, agent_id: str,
                         replay: int, last_event_id: str | None) -> Response:
    cursor = resume_cursor(last_event_id, None)
    try:
        sub = ctx.bus.open_stream(workspace, MESSAGE_EVENTS, None, stream_owner(request))
    except PoolFull as exc:
        return pool_full(exc, "too_many_streams")
    store = ctx.store
    try:
        if cursor is not None and cursor > store.last_event_id:
            await applied(store, cursor)  # handed out by another replica: wait for ours
        head = store.last_event_id
        known = await store.read(
            lambda conn: agent_views.session_ids(conn, workspace, agent_id), current=True)
    except BaseException:
        ctx.bus.release(sub)
        raise
    sessions = AgentSessions(ctx, workspace, agent_id, known)
    caller = StreamCaller(request, ctx.tokens)

    async def frames() -> AsyncIterator[bytes]:
        yield f"retry: {ctx.settings.retry_ms}\n: agent {agent_id} messages\n\n".encode()
        sent = head
        replayed: set[tuple[str, int]] = set()
        if cursor is None and replay:
            latest = await store.read(
                lambda conn: agent_views.last_messages(conn, workspace, agent_id, replay),
                current=True)
            replayed = {(m["sessionId"], m["seq"]) for m in latest}
            if latest:
                yield b"".join(_frame(head, m) for m in latest)
        elif cursor is not None and (cursor < store.pruned_through or cursor > head):
            yield reset_frame(ctx, cursor, head)
        elif cursor is not None:
            sent = cursor
            while True:
                page = await store.events_after(workspace, sent, REPLAY_PAGE,
                                                types=MESSAGE_EVENTS)
                mine = [e for e in page if e.data.get("session_id") in sessions]
                if mine:
                    yield b"".join(_frame(e.id, sessions.entry(e.data, e.ts)) for e in mine)
                if page:
                    sent = page[-1].id
                if len(page) < REPLAY_PAGE:
                    break
        heartbeat = ctx.settings.heartbeat_seconds
        quiet_since = time.monotonic()
        while True:
            note = await next_wake(sub, caller, heartbeat)
            if note is not None:
                yield note
                quiet_since = time.monotonic()
                if note is REVOKED_FRAME:
                    return
                continue
            if sub.dropped:
                yield b": stream ended; reconnect with Last-Event-ID to resume\n\n"
                return
            out = []
            for frame in sub.take():
                if frame.id <= sent or frame.session_id not in sessions:
                    continue
                sent = frame.id
                data = json.loads(frame.data.split(b"data: ", 1)[1])
                if (data["session_id"], data["seq"]) not in replayed:
                    out.append(_frame(frame.id, sessions.entry(data, float(data["ts"]))))
            if out:
                yield b"".join(out)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= heartbeat:
                # other agents keep the subscription busy: a keepalive all the same
                yield KEEPALIVE_FRAME
                quiet_since = time.monotonic()

    return SubscribedStream(frames(), ctx.bus, sub)
