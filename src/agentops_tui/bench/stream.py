"""Ingest → SSE latency (fan-out to saturation is in `fanout`).

10 real httpx-sse clients (each parses every frame's JSON) follow a server that
takes 2,000 events/s from a load process; every event carries the time its batch was sent
in `ts`, so the delay is `now - ts` at the client (same clock). Baseline: the same run's
POST → 202 round trip (the durable commit every delivery has to wait for).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from httpx_sse import aconnect_sse

from agentops_tui.bench import Result, check, percentile
from agentops_tui.bench.procs import LoadProcess, ServerProcess, server_process

LATENCY_RATE = 2000
LATENCY_CLIENTS = 10
MAX_P99_MS = 50.0


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
