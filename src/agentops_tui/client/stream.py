"""Keeping `FleetState` current: snapshot, then SSE from `last_event_id`, resuming by id.

Before the first snapshot, and again after each outage, `on_connect` runs (the connection asks
who its token is there: the server may have been replaced meanwhile).
On a dropped stream: exponential backoff with full jitter from the server's `retry:` value.
After a few failures in a row it polls `/api/v1/events` instead while it keeps trying the
stream; a `reset` (the cursor fell out of the server's log) means a fresh snapshot. A rejected
token is not retried in a loop: the status says so.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse

from agentops_tui.client.api import (
    ApiClient,
    ApiError,
    BackendUnreachable,
    error_from,
    transport_reason,
)
from agentops_tui.client.state import FleetState

FAILURES_BEFORE_POLLING = 3
MAX_BACKOFF = 15.0
POLL_SECONDS = 1.5


@dataclass(frozen=True)
class ConnectionStatus:
    state: str  # connecting | live | reconnecting | polling | offline
    url: str
    retry_in: float | None = None
    detail: str | None = None
    since: float = 0.0


def retry_after(exc: ApiError) -> float:
    """The wait a 429 asks for (its `details.retry_after`), a few seconds if it names none."""
    details = exc.details if isinstance(exc.details, dict) else {}
    value = details.get("retry_after")
    return float(value) if isinstance(value, int | float) and value > 0 else 5.0


def why_down(exc: Exception, base_url: str) -> str:
    """What the header says about a failed connect or stream: short, and naming what to fix."""
    host = base_url.split("://", 1)[-1]
    if isinstance(exc, ApiError):
        if exc.status in (401, 403):
            return f"token rejected by {base_url}: {exc.message}"
        if exc.code == "too_many_streams":
            limit = re.search(r"limit of (\d+)", exc.message)
            return "server busy: too many streams" + (f" (limit {limit[1]})" if limit else "")
        if exc.status == 429:
            return "server busy: too many requests"
        return f"server error {exc.status}: {exc.message}"
    if isinstance(exc, BackendUnreachable):
        return f"cannot reach {host}: {exc.reason}"
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach {host}: {transport_reason(exc)}"
    if isinstance(exc, ValueError):
        return f"unreadable answer from {host}"
    return str(exc) or type(exc).__name__


class Reset(Exception):
    """The server said our cursor is outside its log."""


class StreamRunner:
    def __init__(self, api: ApiClient, state: FleetState,
                 on_status: Callable[[ConnectionStatus], None],
                 on_change: Callable[[], None],
                 on_connect: Callable[[], Awaitable[None]] | None = None) -> None:
        self.api = api
        self.state = state
        self._on_status = on_status
        self._on_change = on_change
        self._on_connect = on_connect
        self._connect_due = True  # first connect, and after every failure
        self.retry_ms = 2000
        self.failures = 0
        self.status = ConnectionStatus("connecting", api.base_url)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def _set(self, state: str, *, retry_in: float | None = None, detail: str | None = None
             ) -> None:
        self.status = ConnectionStatus(state, self.api.base_url, retry_in, detail, time.time())
        self._on_status(self.status)

    async def run(self) -> None:
        try:
            await self._run()
        except ApiError as exc:  # only a rejected token gets here
            self._set("offline", detail=why_down(exc, self.api.base_url))

    async def _run(self) -> None:
        need_snapshot = True
        while not self._stop.is_set():
            try:
                await self._connected()
                if need_snapshot:
                    await self._resnapshot()
                    need_snapshot = False
                await self._stream()
                self.failures = 0  # the server ended the stream politely: resume at once
                continue
            except Reset:
                need_snapshot = True
                continue
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                detail = why_down(exc, self.api.base_url)
            except (BackendUnreachable, httpx.HTTPError, ValueError) as exc:
                detail = why_down(exc, self.api.base_url)
            self.failures += 1
            self._connect_due = True
            if self.failures >= FAILURES_BEFORE_POLLING:
                need_snapshot = await self._poll_until_stream_works(detail, need_snapshot)
            else:
                await self._backoff(detail)

    async def _connected(self) -> None:
        if self._connect_due and self._on_connect is not None:
            await self._on_connect()
        self._connect_due = False

    def _delay(self) -> float:
        cap = min(MAX_BACKOFF, (self.retry_ms / 1000) * (2 ** (self.failures - 1)))
        return random.uniform(0.25 * cap, cap)  # jittered, never quite zero

    async def _backoff(self, detail: str) -> None:
        delay = self._delay()
        deadline = time.monotonic() + delay
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._set("reconnecting", retry_in=left, detail=detail)
            try:
                await asyncio.wait_for(self._stop.wait(), min(1.0, left))
            except TimeoutError:
                pass

    async def _stream(self) -> None:
        headers = {"Last-Event-ID": str(self.state.last_event_id)}
        timeout = httpx.Timeout(10.0, read=45.0)  # heartbeats come every 15 s
        async with aconnect_sse(self.api.http, "GET", "/api/v1/stream", headers=headers,
                                timeout=timeout) as source:
            if source.response.status_code >= 400:
                await source.response.aread()
                raise error_from(source.response)
            self.failures = 0
            self._set("live")
            await self._consume(source)

    async def _consume(self, source: EventSource) -> None:
        # Each event is applied as it arrives (O(1)); the UI coalesces repaints on its tick.
        async for sse in source.aiter_sse():
            if sse.retry:
                self.retry_ms = sse.retry
            if self._stop.is_set():
                return
            if sse.event == "reset":
                raise Reset()
            if not sse.id or not sse.data:
                continue
            data = json.loads(sse.data)
            ts = float(data.pop("ts", 0.0) or time.time())
            self._apply([(int(sse.id), sse.event, ts, data)])

    async def _resnapshot(self) -> None:
        self.state.load(await self.api.snapshot())
        self._on_change()

    def _apply(self, batch: list[tuple[int, str, float, dict[str, Any]]]) -> None:
        if self.state.apply(batch):
            self._on_change()

    async def _poll_until_stream_works(self, detail: str, need_snapshot: bool) -> bool:
        """Poll the log until a stream attempt would be worth making again."""
        polls = 0
        while not self._stop.is_set():
            try:
                await self._connected()
                if need_snapshot:
                    await self._resnapshot()
                    need_snapshot = False
                page = await self.api.events(self.state.last_event_id, 1000)
                if page.reset:
                    need_snapshot = True
                    continue
                self._apply([(e.id, e.type, e.ts, e.data) for e in page.events])
                self._set("polling", detail=detail)
                if page.has_more:
                    continue
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                if exc.status == 429:  # paging the log faster than the server allows
                    wait = retry_after(exc)
                    self._set("polling", retry_in=wait,
                              detail=f"the server limits log reads; next page in {wait:g} s")
                    await self._sleep(wait)
                    continue
                self._set("offline", detail=why_down(exc, self.api.base_url))
                self._connect_due = True
            except BackendUnreachable as exc:
                self._set("offline", detail=why_down(exc, self.api.base_url))
                self._connect_due = True
            polls += 1
            if polls % 5 == 0:  # every ~7 s, go back and try the stream
                self.failures = FAILURES_BEFORE_POLLING - 1
                return need_snapshot
            await self._sleep(POLL_SECONDS)
        return need_snapshot

    async def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less if the connection is closed meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass

