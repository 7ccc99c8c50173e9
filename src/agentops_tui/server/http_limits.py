"""Request bodies are capped and timed before routing, auth or any route sees them.

A body over its path's cap is refused with 413 as soon as that is known: at once when
Content-Length says so (nothing of the body is read, no `100 Continue` is sent), or as soon as
a chunked body passes the cap. A body not complete within the body timeout of its request
head gets 408: a total, not a gap between parts, so a client dribbling a byte at a time cannot
hold the connection. Both answers close the connection, so the unread rest of the body is never
parsed.

The body is read whole here (it is at most the cap, and every route buffers its body anyway)
and handed to the app in one piece, so no route ever sees part of a body, and a client that
goes away mid-upload simply ends the request: nothing to answer and nothing to log.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentops_tui.server.errors import error_response
from agentops_tui.server.ingest import rest as ingest
from agentops_tui.server.ingest.otlp import decode as otlp

DEFAULT_BODY_LIMIT = ingest.MAX_BYTES  # 1 MiB

# Paths allowed a larger body than the default; each is documented with its route.
BODY_LIMITS: dict[str, int] = {
    "/v1/traces": otlp.MAX_BYTES,  # 4 MiB, OTLP exporters batch many spans
}


def body_limit(path: str) -> int:
    return BODY_LIMITS.get(path, DEFAULT_BODY_LIMIT)


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _declared_length(scope: Scope) -> int | None:
    """Content-Length as a number; the HTTP parser has already refused malformed values."""
    raw = _header(scope, b"content-length")
    return int(raw) if raw is not None and raw.strip().isdigit() else None


class BodyLimits:
    """ASGI middleware: cap and time every request body (see the module docstring)."""

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        chunked = _header(scope, b"transfer-encoding") is not None
        if not chunked and not declared:
            await self.app(scope, receive, send)  # no body: nothing to cap or wait for
            return
        limit = body_limit(scope["path"])
        if declared is not None and declared > limit:
            await _refuse(scope, send, 413, "too_large",
                          f"body is {declared} bytes; the limit for {scope['path']} is {limit}")
            return
        try:
            # The app is called once the head is in: the clock for the whole body starts here.
            async with asyncio.timeout(self.body_timeout):
                body = await _read(receive, limit)
        except _BodyTooLarge:
            await _refuse(scope, send, 413, "too_large",
                          f"body exceeds the {limit}-byte limit for {scope['path']}")
            return
        except TimeoutError:
            await _refuse(scope, send, 408, "request_timeout",
                          f"the body did not arrive within {self.body_timeout:g} s")
            return
        except _ClientGone:
            return  # the client left mid-upload: there is no one to answer
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the server's own `receive` (disconnect notices)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    response = error_response(status, code, message)
    # The rest of the body stays unread, so the connection cannot carry another request.
    response.headers["connection"] = "close"

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
