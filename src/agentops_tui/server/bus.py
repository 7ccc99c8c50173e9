"""Fan-out of committed events to stream subscribers.

Each event is encoded as an SSE frame once and shared by every subscriber. A subscriber has a
bounded backlog; the stream task drains everything pending into one socket write. A client
that falls more than `max_backlog` events behind is cut off (it resumes by id from the log),
so a slow reader never holds up the writer or the other clients.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from agentops_tui.server.writer import LoggedEvent


@dataclass(frozen=True, slots=True)
class Frame:
    """One event ready for the wire."""

    id: int
    type: str
    workspace: str
    session_id: str | None
    data: bytes


def encode_frame(event: LoggedEvent) -> Frame:
    # `ts` rides along in the data so a client applies the event exactly as the server did
    encoded = event.data_json
    if encoded != "{}" and "ts" not in event.data:
        payload = f'{encoded[:-1]},"ts":{json.dumps(event.ts)}}}'  # the log's JSON, plus ts
    else:
        payload = json.dumps({**event.data, "ts": event.ts}, separators=(",", ":"))
    text = f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n"
    sid = event.data.get("session_id")
    return Frame(event.id, event.type, event.workspace, sid, text.encode())


class Subscriber:
    def __init__(
        self,
        bus: Bus,
        workspace: str,
        types: frozenset[str] | None,
        session: str | None,
        max_backlog: int,
    ) -> None:
        self.bus = bus
        self.workspace = workspace
        self.types = types
        self.session = session
        self.max_backlog = max_backlog
        self.backlog: deque[Frame] = deque()
        self.wakeup = asyncio.Event()
        self.dropped = False
        self.shutting_down = False

    def wants(self, frame: Frame) -> bool:
        if frame.workspace != self.workspace:
            return False
        if self.types is not None and frame.type not in self.types:
            return False
        return self.session is None or frame.session_id == self.session

    def offer(self, frames: Iterable[Frame]) -> None:
        if self.dropped:
            return
        added = False
        for frame in frames:
            if self.wants(frame):
                self.backlog.append(frame)
                added = True
        if len(self.backlog) > self.max_backlog:
            self.dropped = True
            self.backlog.clear()
            self.bus.dropped_total += 1
            self.bus.unsubscribe(self)  # no more work for it; its stream ends on wakeup
        if added or self.dropped:
            self.wakeup.set()

    def take(self) -> list[Frame]:
        frames = list(self.backlog)
        self.backlog.clear()
        self.wakeup.clear()
        return frames


class Bus:
    """Owned by the event loop; `publish_threadsafe` is called from the writer thread."""

    def __init__(self, *, max_clients: int = 256, max_backlog: int = 20_000) -> None:
        self.max_clients = max_clients
        self.max_backlog = max_backlog
        self.subscribers: set[Subscriber] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dropped_total = 0
        self.published_total = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def full(self) -> bool:
        return len(self.subscribers) >= self.max_clients

    def subscribe(
        self, workspace: str, types: frozenset[str] | None = None, session: str | None = None
    ) -> Subscriber:
        sub = Subscriber(self, workspace, types, session, self.max_backlog)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close_all(self) -> None:
        """End every stream (server shutdown): each wakes, sees `dropped`, and returns."""
        for sub in list(self.subscribers):
            sub.dropped = True
            sub.shutting_down = True
            sub.wakeup.set()
        self.subscribers.clear()

    def close_all_threadsafe(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.close_all)
            except RuntimeError:
                pass

    def publish_threadsafe(self, events: list[LoggedEvent]) -> None:
        if self.loop is None or self.loop.is_closed() or not self.subscribers:
            return
        frames = [encode_frame(e) for e in events]
        try:
            self.loop.call_soon_threadsafe(self.publish, frames)
        except RuntimeError:  # loop shutting down
            pass

    def publish(self, frames: list[Frame]) -> None:
        self.published_total += len(frames)
        for sub in list(self.subscribers):
            sub.offer(frames)
