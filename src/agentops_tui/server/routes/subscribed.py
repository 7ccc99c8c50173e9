"""How routes hold bus subscriptions without leaking them.

An SSE response releases its stream slot when the response ends, however it ends: the body
finished, the client left, the server stopped, or the client left before the body even
started (an async generator that never ran would not run its `finally`). A stream also ends
once the token that opened it is revoked. A long-poll holds a
waiter slot for its `async with` block and stops waiting when its deadline passes, an event
arrives, the server shuts down, or the client closes the connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from agentops_tui.server.auth import TokenLookup
from agentops_tui.server.bus import Bus, Frame, OwnerFull, PoolFull, Subscriber
from agentops_tui.server.errors import error_response
from agentops_tui.server.store.write_context import StoreUnavailable

RETRY_AFTER_SECONDS = 2
TOKEN_STREAMS_429 = (
    "This token already holds the most streams one token may (`too_many_streams`,"
    " `details.per_token_limit`), or too many failed authentications or expensive reads"
    " (`too_many_requests`); retry after `Retry-After` seconds.")
TOKEN_RECHECK_SECONDS = 1.0
REVOKED_FRAME = b": token revoked; reconnecting will be refused\n\n"


class SubscribedStream(StreamingResponse):
    """An event stream that gives its bus subscription back when the response is over."""

    def __init__(self, content: AsyncIterator[bytes], bus: Bus, sub: Subscriber) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._bus = bus
        self._sub = sub
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._bus.release(self._sub)
            close = getattr(self._content, "aclose", None)
            if close is not None:  # run the generator's own cleanup now, not at collection
                await close()


class StreamCaller:
    """Whether the token that opened a stream is still valid.

    A stream outlives the request that authenticated it, so a revocation would otherwise
    never reach it. Asked each time the stream wakes, it reads the token table at most once
    per TOKEN_RECHECK_SECONDS: nothing is sent more than that long after a revocation.
    """

    def __init__(self, request: Request, tokens: TokenLookup) -> None:
        self._hash = stream_owner(request)  # without auth the caller is an address: no token
        self._tokens = tokens
        self._checked_at = time.monotonic()  # the request itself was just authenticated

    async def revoked(self) -> bool:
        if self._hash is None:
            return False
        now = time.monotonic()
        if now - self._checked_at < TOKEN_RECHECK_SECONDS:
            return False
        self._checked_at = now
        # on a read thread: the lookup may be a round trip to the database, never the loop's
        try:
            found = await asyncio.to_thread(self._tokens.resolve_hash, self._hash)
        except StoreUnavailable:  # the database is out of reach: asked again next time
            return False
        return found is None


KEEPALIVE_FRAME = b": keepalive\n\n"


async def next_wake(sub: Subscriber, caller: StreamCaller, heartbeat: float) -> bytes | None:
    """A stream's wait for news, at most `heartbeat` seconds. None: the subscription has
    frames (or was dropped) to look at. Otherwise the line to send instead: a keepalive, or
    `REVOKED_FRAME`, after which the stream must end."""
    idle = False
    if not sub.backlog and not sub.dropped:
        try:
            await asyncio.wait_for(sub.wakeup.wait(), heartbeat)
        except TimeoutError:
            idle = True
    if await caller.revoked():
        return REVOKED_FRAME
    return KEEPALIVE_FRAME if idle else None


def pool_full(exc: PoolFull, code: str) -> JSONResponse:
    """503 with Retry-After: the server is at a limit it chose, the client should come back.
    429 when it is the caller's own token that holds its most streams."""
    if isinstance(exc, OwnerFull):
        response = error_response(429, code, str(exc), {"retry_after": RETRY_AFTER_SECONDS,
                                                        "per_token_limit": exc.limit})
    else:
        response = error_response(503, code, f"{exc}; retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def stream_owner(request: Request) -> str | None:
    """Whom a stream counts against: the token's hash (None without auth: one local user)."""
    caller = str(getattr(request.state, "caller", ""))
    return caller.removeprefix("token:") if caller.startswith("token:") else None


class LongPoll:
    """One long-poll's wait on the bus, ended by its deadline or by the client leaving."""

    def __init__(self, sub: Subscriber, deadline: float, left: asyncio.Task[None]) -> None:
        self.sub = sub
        self.deadline = deadline
        self._left = left

    @property
    def client_gone(self) -> bool:
        return self._left.done()

    async def next(self) -> list[Frame] | None:
        """The frames that woke us, or None once there is nothing more to wait for."""
        loop = asyncio.get_running_loop()
        remaining = self.deadline - loop.time()
        if remaining <= 0 or self.sub.dropped or self.client_gone:
            return None
        woken = asyncio.ensure_future(self.sub.wakeup.wait())
        try:
            await asyncio.wait({woken, self._left}, timeout=remaining,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if self.sub.dropped or self.client_gone or not self.sub.wakeup.is_set():
            return None  # shutting down (or too far behind), client gone, or timed out
        return self.sub.take()


async def _until_disconnected(receive: Receive) -> None:
    try:
        while True:
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.disconnect":
                return
    except Exception:  # the connection is unusable either way: treat it as gone
        return


@asynccontextmanager
async def long_poll(
    request: Request, bus: Bus, workspace: str, types: frozenset[str], wait: float
) -> AsyncIterator[LongPoll]:
    """Hold a waiter slot for up to `wait` seconds. Raises PoolFull when none is free."""
    with bus.waiter(workspace, types) as sub:
        left = asyncio.create_task(_until_disconnected(request.receive))
        try:
            yield LongPoll(sub, asyncio.get_running_loop().time() + wait, left)
        finally:
            left.cancel()
