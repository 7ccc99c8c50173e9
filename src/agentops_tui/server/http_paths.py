"""Two things about request lines the router would get wrong, settled before routing.

- An encoded slash in a path segment (`/api/v1/agents/%2F`, `/agents/a%2Fb/messages`). The
  server decodes it into a real `/`, so the router would see other segments: a redirect to a
  shorter path, or "no such endpoint". No id may contain `/` (ingest refuses one), so such a
  segment names nothing: 404 `not_found`, naming the id as sent.
- `HEAD`. `curl -I` expects the headers `GET` would answer, without a body; the routes are
  declared for GET alone, so the router would answer 405. A HEAD request is served as GET
  and only the status and headers go out; a stream (SSE) ends after its headers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentops_tui.server.errors import error_response


class _HeadAnswered(Exception):
    """The headers of a HEAD request are out: whatever the route streams is not wanted."""


def slashed_segment(raw_path: bytes) -> str | None:
    """The first path segment holding an encoded `/`, decoded; None when there is none."""
    if b"%2f" not in raw_path.lower():
        return None
    for segment in raw_path.decode("latin-1").split("/"):
        if "%2f" in segment.lower():
            return unquote(segment)
    return None


class PathChecks:
    """ASGI middleware: encoded slashes answered 404, HEAD served as GET without a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        segment = slashed_segment(scope.get("raw_path") or b"")
        if segment is not None:
            response = error_response(
                404, "not_found", f"nothing has the id {segment!r}: ids never contain '/'",
                {"id": segment})
            await response(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await self._head(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def headers_only(message: Message) -> None:
            nonlocal answered
            if message["type"] != "http.response.body":
                await send(message)
                return
            if not answered:
                answered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                raise _HeadAnswered  # a stream: stop producing it (its cleanup runs)

        as_get: dict[str, Any] = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, headers_only)
        except _HeadAnswered:
            pass
