"""Ingest → SSE latency, and fan-out with one client that never reads.

latency: 10 real httpx-sse clients (each parses every frame's JSON) follow a server that
takes 2,000 events/s from a load process; every event carries the time its batch was sent
in `ts`, so the delay is `now - ts` at the client (same clock). Baseline: the same run's
POST → 202 round trip (the durable commit every delivery has to wait for).

fan-out: 20 clients read the byte stream and count frames (cheap, so the figure is the
server's, not a Python parser's) while one more client opens a stream and never reads.
The same load runs once without the stalled client; the others must not notice it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from urllib.parse import urlsplit

import httpx
from httpx_sse import aconnect_sse

from agentops_tui.bench import Result, check, percentile
from agentops_tui.bench.procs import LoadProcess, ServerProcess, server_process

LATENCY_RATE = 2000
LATENCY_CLIENTS = 10
MAX_P99_MS = 50.0
FANOUT_RATE = 5000
FANOUT_CLIENTS = 20
MIN_DELIVERIES = 80_000
MIN_UNAFFECTED = 0.9


async def _follow(server: ServerProcess, latencies: list[float], ready: asyncio.Event,
                  stop: asyncio.Event, warmup_until: list[float]) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers,
                                 timeout=httpx.Timeout(10, read=60)) as http:
        async with aconnect_sse(http, "GET", "/api/v1/stream") as source:
            ready.set()
            async for sse in source.aiter_sse():
                if stop.is_set():
                    return
                if not sse.data:
                    continue
                now = time.time()
                if now >= warmup_until[0]:
                    latencies.append(now - float(json.loads(sse.data)["ts"]))


async def _latency(server: ServerProcess, seconds: float) -> tuple[list[float], dict[str, float]]:
    load = LoadProcess(server, agents=50, sessions=500, rate=LATENCY_RATE, duration=seconds,
                       batch=50, concurrency=2)
    latencies: list[float] = []
    stop = asyncio.Event()
    warmup_until = [float("inf")]
    readies = [asyncio.Event() for _ in range(LATENCY_CLIENTS)]
    tasks = [asyncio.create_task(_follow(server, latencies, r, stop, warmup_until))
             for r in readies]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 10)
        warmup_until[0] = time.time() + 1.0
        load.go()
        stats = await asyncio.to_thread(load.finish, seconds + 60)
        await asyncio.sleep(0.5)  # the last frames in flight
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        load.kill()
    return latencies, stats


def latency(quick: bool) -> list[Result]:
    seconds = 8.0 if quick else 20.0
    with server_process() as server:
        lat, stats = asyncio.run(_latency(server, seconds))
    if not lat:
        raise RuntimeError("no frame reached the stream clients")
    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
    post99 = float(stats["post_p99_ms"])
    note = (f"baseline: POST /ingest → 202 p99 {post99:.1f} ms in the same run; "
            f"{len(lat):,} deliveries at {stats['events_per_s']:,.0f} events/s")
    return [
        check("ingest_to_sse_p50_ms", p50, "ms", baseline=float(stats["post_p50_ms"]),
              note=f"baseline: POST → 202 p50; {LATENCY_CLIENTS} clients"),
        check("ingest_to_sse_p99_ms", p99, "ms", at_most=MAX_P99_MS, baseline=post99, note=note),
    ]


class _Counter:
    def __init__(self) -> None:
        self.frames = 0


async def _count(server: ServerProcess, counter: _Counter, ready: asyncio.Event,
                 stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers,
                                 timeout=httpx.Timeout(10, read=60)) as http:
        async with http.stream("GET", "/api/v1/stream") as response:
            ready.set()
            tail = b""
            async for chunk in response.aiter_raw():
                if stop.is_set():
                    return
                data = tail + chunk
                counter.frames += data.count(b"\nid: ")
                tail = data[-5:]


def _stalled_client(server: ServerProcess) -> socket.socket:
    """A stream request whose response is never read."""
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {server.token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


async def _fanout(server: ServerProcess, seconds: float, stalled: bool, prefix: str
                  ) -> tuple[float, float]:
    """Deliveries/s to the reading clients, and the events/s the load achieved."""
    counters = [_Counter() for _ in range(FANOUT_CLIENTS)]
    readies = [asyncio.Event() for _ in counters]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_count(server, c, r, stop)) for c, r in zip(counters, readies,
                                                                             strict=True)]
    slow = _stalled_client(server) if stalled else None
    load = LoadProcess(server, agents=50, sessions=500, rate=FANOUT_RATE,
                       duration=seconds + 1.5, batch=100, concurrency=2, prefix=prefix,
                       seed_fleet=not stalled)
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 10)
        load.go()
        await asyncio.sleep(1.0)  # warm up
        before = sum(c.frames for c in counters)
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        delivered = sum(c.frames for c in counters) - before
        elapsed = time.perf_counter() - t0
        stats = await asyncio.to_thread(load.finish, 60)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        load.kill()
        if slow is not None:
            slow.close()
    return delivered / elapsed, float(stats["events_per_s"])


def fanout(quick: bool) -> list[Result]:
    seconds = 5.0 if quick else 15.0
    with server_process() as server:
        alone, _ = asyncio.run(_fanout(server, seconds, stalled=False, prefix="a"))
        with_slow, offered = asyncio.run(_fanout(server, seconds, stalled=True, prefix="s"))
    note = (f"{FANOUT_CLIENTS} reading clients + 1 that never reads, {offered:,.0f} events/s "
            f"offered; baseline: the same without the stalled client")
    return [
        check("fanout_deliveries_per_s", with_slow, "deliveries/s", at_least=MIN_DELIVERIES,
              baseline=alone, note=note),
        check("fanout_with_stalled_client_vs_without", with_slow / alone, "x",
              at_least=MIN_UNAFFECTED, baseline=alone,
              note="reading clients' rate with a stalled client / without"),
    ]
