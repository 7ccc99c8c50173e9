"""How uvicorn is configured to drop stalled connections, for `agentops serve` and embedded.

uvicorn closes a connection left idle after a response (`timeout_keep_alive`), but it has no
deadline for a request's head: a client that connects and then sends nothing, or sends its
headers a byte at a time, holds a connection (and a file descriptor) for as long as it likes,
and one byte after a response even cancels the keep-alive timer. `GuardedH11Protocol` adds
that deadline: the head of each request must be complete within `header_timeout` seconds of
the connection opening or of the previous response, else the connection is closed. (Heads
are also capped at h11's 16 KiB; a body's own timeout is in `http_limits`.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from agentops_tui.server.context import ServerSettings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    header_timeout: float = 30.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a complete head arrived and its request has started
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._awaiting_head():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        # A pipelined request may have started without new data: then the route is running.
        if self.transport.is_closing() or not self._awaiting_head():
            return
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass  # h11 is mid-exchange; closing the transport is what matters
        self.transport.close()


def guarded_protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class for uvicorn's `http=` option, with this head deadline."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout": header_timeout})


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """The connection timeouts of `settings` as `uvicorn.Config` keyword arguments."""
    return {
        "http": guarded_protocol(settings.header_timeout_seconds),
        "timeout_keep_alive": settings.idle_timeout_seconds,
    }
