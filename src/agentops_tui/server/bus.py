"""Fan-out of committed events to stream subscribers.

Each event is encoded as an SSE frame once and shared by every subscriber. A subscriber has a
bounded backlog; the stream task drains everything pending into one socket write. A client
that falls more than `max_backlog` events behind is cut off (it resumes by id from the log),
so a slow reader never holds up the writer or the other clients.

Subscribers come from two bounded pools: console streams (SSE) and long-polls (agents waiting
for a command or a decision). They are counted apart so that a fleet of agents polling for
commands can never take the slots consoles need to go live, nor consoles starve the agents.
One token may hold at most `max_per_owner` streams, so a single client (a runaway script, a
leaked token) cannot take every stream slot from the others.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from agentops_tui.server.store.writer import LoggedEvent


@dataclass(slots=True)
class Frame:
    """One event ready for the wire; shared by every subscriber, which only reads it (not
    frozen: a frozen dataclass's `__init__` costs ~0.5 µs more per event)."""

    id: int
    type: str
    workspace: str
    session_id: str | None
    data: bytes


def _number(value: float) -> str:
    """A finite number as JSON writes it: `repr` is what `json.dumps` calls for one, without
    the encoder's set-up (about 1.5 µs per frame)."""
    if (type(value) is float and math.isfinite(value)) or type(value) is int:
        return repr(value)
    return json.dumps(value)


def encode_frame(event: LoggedEvent) -> Frame:
    # `ts` rides along in the data so a client applies the event exactly as the server did
    data = event.data
    encoded = event.data_json
    if encoded != "{}" and "ts" not in data:  # the log's JSON, plus ts: one string built
        text = (f'id: {event.id}\nevent: {event.type}\ndata: {encoded[:-1]},'
                f'"ts":{_number(event.ts)}}}\n\n')
    else:
        payload = json.dumps({**data, "ts": event.ts}, separators=(",", ":"))
        text = f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n"
    return Frame(event.id, event.type, event.workspace, data.get("session_id"), text.encode())


class Subscriber:
    def __init__(
        self,
        bus: Bus,
        workspace: str,
        types: frozenset[str] | None,
        session: str | None,
        max_backlog: int,
        owner: str | None = None,
    ) -> None:
        self.bus = bus
        self.owner = owner  # the token holding the slot (None: not counted per token)
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
            self.bus.release(self)  # no more work for it; its stream ends on wakeup
        if added or self.dropped:
            self.wakeup.set()

    def take(self) -> list[Frame]:
        frames = list(self.backlog)
        self.backlog.clear()
        self.wakeup.clear()
        return frames


class PoolFull(Exception):
    """No room for another subscriber of this kind; the message says which limit."""


class OwnerFull(PoolFull):
    """This token already holds as many streams as one token may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this token already holds {limit} streams, the most one token may"
                         f" hold (the server's per-token limit of {limit});"
                         " close one of them or use another token")
        self.limit = limit


class Bus:
    """Owned by the event loop; `publish_threadsafe` is called from the writer thread."""

    def __init__(
        self, *, max_clients: int = 256, max_backlog: int = 20_000, max_waiters: int = 1024,
        max_per_owner: int = 64,
    ) -> None:
        self.max_clients = max_clients
        self.max_per_owner = max_per_owner
        self.per_owner: Counter[str] = Counter()  # streams held, by token
        self.max_waiters = max_waiters
        self.max_backlog = max_backlog
        self.streams: set[Subscriber] = set()
        self.waiters: set[Subscriber] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dropped_total = 0
        self.published_total = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def open_stream(
        self, workspace: str, types: frozenset[str] | None = None, session: str | None = None,
        owner: str | None = None,
    ) -> Subscriber:
        """A console stream's subscription; its holder must `release` it on every path.
        `owner` (a token's hash) counts it against that token's own limit."""
        if owner is not None and self.per_owner[owner] >= self.max_per_owner:
            raise OwnerFull(self.max_per_owner)
        if len(self.streams) >= self.max_clients:
            raise PoolFull(f"the server's limit of {self.max_clients} streams is reached")
        sub = Subscriber(self, workspace, types, session, self.max_backlog, owner)
        self.streams.add(sub)
        if owner is not None:
            self.per_owner[owner] += 1
        return sub

    @contextmanager
    def waiter(self, workspace: str, types: frozenset[str]) -> Iterator[Subscriber]:
        """A long-poll's subscription, held for the `with` block and released however it ends."""
        if len(self.waiters) >= self.max_waiters:
            raise PoolFull(f"the server's limit of {self.max_waiters} long-polls is reached")
        sub = Subscriber(self, workspace, types, None, self.max_backlog)
        self.waiters.add(sub)
        try:
            yield sub
        finally:
            self.waiters.discard(sub)

    def release(self, sub: Subscriber) -> None:
        if sub in self.streams and sub.owner is not None:
            self.per_owner[sub.owner] -= 1
            if self.per_owner[sub.owner] <= 0:
                del self.per_owner[sub.owner]
        self.streams.discard(sub)
        self.waiters.discard(sub)

    def _all(self) -> list[Subscriber]:
        return [*self.streams, *self.waiters]

    def close_all(self) -> None:
        """End every stream (server shutdown): each wakes, sees `dropped`, and returns."""
        for sub in self._all():
            sub.dropped = True
            sub.shutting_down = True
            sub.wakeup.set()
        self.streams.clear()
        self.per_owner.clear()
        self.waiters.clear()

    def close_all_threadsafe(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.close_all)
            except RuntimeError:
                pass

    def publish_threadsafe(self, events: list[LoggedEvent]) -> None:
        if self.loop is None or self.loop.is_closed() or not (self.streams or self.waiters):
            return
        frames = [encode_frame(e) for e in events]
        try:
            self.loop.call_soon_threadsafe(self.publish, frames)
        except RuntimeError:  # loop shutting down
            pass

    def publish(self, frames: list[Frame]) -> None:
        self.published_total += len(frames)
        for sub in self._all():
            sub.offer(frames)
