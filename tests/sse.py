"""A small real SSE reader for tests (httpx streaming + httpx-sse parsing)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import connect_sse


@dataclass
class Frame:
    id: str
    event: str
    data: Any
    retry: int | None = None


@dataclass
class SseReader:
    """Reads a stream in a background thread so the test can act meanwhile."""

    url: str
    headers: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    retry: int | None = None
    error: BaseException | None = None
    closed_at: float | None = None  # time.monotonic() when the stream ended

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._got = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SseReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=30)) as client:
                with connect_sse(client, "GET", self.url, headers=self.headers,
                                 params=self.params) as source:
                    for sse in source.iter_sse():
                        if sse.retry is not None:
                            self.retry = sse.retry
                        if not sse.event or sse.event == "message" and not sse.data:
                            continue
                        data = json.loads(sse.data) if sse.data else None
                        with self._got:
                            self.frames.append(Frame(sse.id, sse.event, data, sse.retry))
                            self._got.notify_all()
                        if self._stop.is_set():
                            return
        except BaseException as exc:  # surfaced by wait_for
            self.error = exc
        finally:
            with self._got:
                self.closed_at = time.monotonic()
                self._got.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Frame]:
        with self._got:
            ok = self._got.wait_for(
                lambda: len(self.frames) >= count or self.error is not None, timeout
            )
        if self.error is not None and len(self.frames) < count:
            raise AssertionError(f"stream failed after {len(self.frames)} frames: {self.error!r}")
        assert ok, f"got {len(self.frames)} frames, wanted {count}: {self.frames[-3:]}"
        return list(self.frames)

    def wait_closed(self, timeout: float) -> bool:
        with self._got:
            return self._got.wait_for(lambda: self.closed_at is not None, timeout)

    def stop(self) -> None:
        self._stop.set()
