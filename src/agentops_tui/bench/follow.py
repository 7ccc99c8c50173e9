"""Stream clients that count frames: `python -m agentops_tui.bench.follow URL TOKEN [--clients N]`.

A client reads `GET /api/v1/stream` as raw bytes, counts the frames (each event frame starts
with `id: `) and throws them away, the cheapest way to consume a stream in full, so the
figures it takes part in are the server's and not a parser's.

As a process, it opens `--clients` streams, prints `{"ready": true}` once every response has
begun, and then reads a target from standard input: one line with a frame count. It waits
until every client has counted at least that many frames (or `--drain` seconds passed), then
prints one JSON line with each client's count, whether the server cut it off as too slow,
and its own CPU seconds. Running in its own process, its CPU is not the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence

import httpx

FRAME_START = b"\nid: "  # every event frame; the stream's first bytes are a comment
TOO_SLOW = b": too slow"


class FrameCounter:
    """What one stream client has received so far."""

    def __init__(self) -> None:
        self.frames = 0
        self.cut_off = False  # the server said the client fell too far behind
        self.ended = False  # the response ended, for whatever reason
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        # The last few bytes of the previous read go in front, so that a marker split
        # across two reads is seen; markers wholly inside them were counted already.
        data = self._tail + chunk
        self.frames += data.count(FRAME_START) - self._tail.count(FRAME_START)
        if TOO_SLOW in data:
            self.cut_off = True
        self._tail = data[-(len(TOO_SLOW) - 1):]


async def follow(url: str, token: str, counter: FrameCounter, ready: asyncio.Event) -> None:
    """Read one stream to its end (or until cancelled), counting frames."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=url, headers=headers,
                                 timeout=httpx.Timeout(10, read=60)) as http:
        async with http.stream("GET", "/api/v1/stream") as response:
            response.raise_for_status()
            ready.set()
            try:
                async for chunk in response.aiter_raw():
                    counter.feed(chunk)
            finally:
                counter.ended = True


async def wait_for_frames(counters: Sequence[FrameCounter], targets: Sequence[int],
                          timeout: float) -> float:
    """Wait until every counter still reading has its target count; the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if all(c.frames >= t or c.ended for c, t in zip(counters, targets, strict=True)):
            break
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    counters = [FrameCounter() for _ in range(args.clients)]
    readies = [asyncio.Event() for _ in counters]
    tasks = [asyncio.create_task(follow(args.url, args.token, c, r))
             for c, r in zip(counters, readies, strict=True)]
    try:
        waiting = asyncio.gather(*(r.wait() for r in readies))
        await asyncio.wait_for(waiting, 15)
        print(json.dumps({"ready": True}), flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        target = int(line) if line.strip() else 0
        waited = (await wait_for_frames(counters, [target] * len(counters), args.drain)
                  if target else 0.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    times = os.times()
    return {"frames": [c.frames for c in counters], "cut_off": [c.cut_off for c in counters],
            "drain_seconds": waited, "cpu_seconds": times.user + times.system}


def main() -> int:
    p = argparse.ArgumentParser(prog="agentops_tui.bench.follow")
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--drain", type=float, default=10.0,
                   help="seconds to wait for the target count once it is given")
    args = p.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
