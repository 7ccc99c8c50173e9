"""Ingest → SSE latency (fan-out to saturation is in `fanout`; across two replicas in
`replicas`).

10 real httpx-sse clients (each parses every frame's JSON) follow a server that
takes 2,000 events/s from a load process; every event carries the time its batch was sent
in `ts`, so the delay is `now - ts` at the client (same clock). Baseline: the same run's
POST → 202 round trip (the durable commit every delivery has to wait for). Each client
must receive every acknowledged event: one short of them fails the figure, whatever its
latency, since a missing frame is a sample that was never measured.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from agentops_tui.bench import Result, check, percentile
from agentops_tui.bench.procs import LoadProcess, ServerProcess, server_process

LATENCY_RATE = 2000
LATENCY_BATCH = 50
LATENCY_CLIENTS = 10
MAX_P99_MS = 50.0
WARMUP_SECONDS = 1.0
DRAIN_SECONDS = 10.0  # after the load ends, for the clients to get its last events


@dataclass
class Followers:
    """What the stream clients saw of the load's events (those sent from `load_from` on;
    the fleet seeded before it is not counted): per client how many arrived, and the
    latency of each that arrived after `sample_from` (the warm-up is left out)."""

    clients: int
    load_from: float = math.inf
    sample_from: float = math.inf
    latencies: list[float] = field(default_factory=list)
    counts: list[int] = field(init=False)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * self.clients

    def shortfall(self, acknowledged: int) -> str:
        """'' when every client received every acknowledged event, else what is missing."""
        short = [f"client {i + 1} got {n:,}" for i, n in enumerate(self.counts)
                 if n < acknowledged]
        if not short:
            return ""
        errors = f" (client errors: {'; '.join(self.errors)[:300]})" if self.errors else ""
        return (f"FAILED: {len(short)} of {self.clients} clients short of the {acknowledged:,}"
                f" acknowledged events: {', '.join(short)}{errors}")

    async def caught_up(self, acknowledged: int, timeout: float) -> None:
        """Until every client has `acknowledged` events, or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        while min(self.counts) < acknowledged and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def _follow(server: ServerProcess, followers: Followers, index: int,
                  ready: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers,
                                     timeout=httpx.Timeout(10, read=60)) as http:
            async with aconnect_sse(http, "GET", "/api/v1/stream") as source:
                ready.set()
                async for sse in source.aiter_sse():
                    if not sse.data:
                        continue
                    now = time.time()
                    ts = float(json.loads(sse.data)["ts"])
                    if ts < followers.load_from:
                        continue
                    followers.counts[index] += 1
                    if now >= followers.sample_from:
                        followers.latencies.append(now - ts)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        followers.errors.append(f"client {index + 1}: {type(exc).__name__}: {exc}")
        ready.set()  # no use waiting for it: it will be short of events, and say why


async def follow_load(ingest: ServerProcess, stream: ServerProcess,
                      seconds: float) -> tuple[Followers, dict[str, Any]]:
    """`LATENCY_CLIENTS` clients on `stream`'s stream while a load process sends
    `LATENCY_RATE` events/s to `ingest` for `seconds` (the same server, or another replica
    of its database); the clients' view and the load's statistics."""
    load = LoadProcess(ingest, agents=50, sessions=500, rate=LATENCY_RATE, duration=seconds,
                       batch=LATENCY_BATCH, concurrency=2)
    followers = Followers(LATENCY_CLIENTS)
    readies = [asyncio.Event() for _ in range(LATENCY_CLIENTS)]
    tasks = [asyncio.create_task(_follow(stream, followers, i, ready))
             for i, ready in enumerate(readies)]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 10)
        followers.load_from = time.time()
        followers.sample_from = followers.load_from + WARMUP_SECONDS
        load.go()
        stats = await asyncio.to_thread(load.finish, seconds + 60)
        await followers.caught_up(int(stats["sent"]), DRAIN_SECONDS)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        load.kill()
    return followers, stats


def latency_results(prefix: str, followers: Followers, stats: dict[str, Any], *,
                    at_most: float, where: str) -> list[Result]:
    """`{prefix}_p50_ms` and `{prefix}_p99_ms` (judged against `at_most`, and failed when a
    client is short of an acknowledged event) of a `follow_load` run."""
    lat = followers.latencies
    if not lat:
        raise RuntimeError(f"no frame reached the stream clients ({'; '.join(followers.errors)})")
    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
    post99 = float(stats["post_p99_ms"])
    sent = int(stats["sent"])
    short = followers.shortfall(sent)
    received = short or f"each client received all {sent:,} acknowledged events"
    note = (f"baseline: POST /ingest → 202 p99 {post99:.1f} ms in the same run; {where}; "
            f"{len(lat):,} samples after a {WARMUP_SECONDS:g} s warm-up at "
            f"{stats['events_per_s']:,.0f} events/s; {received}")
    p99_result = check(f"{prefix}_p99_ms", p99, "ms", at_most=at_most, baseline=post99,
                       note=note)
    if short:
        p99_result = Result(p99_result.name, p99, "ms", p99_result.budget, False, post99, note)
    return [
        check(f"{prefix}_p50_ms", p50, "ms", baseline=float(stats["post_p50_ms"]),
              note=f"baseline: POST → 202 p50; {LATENCY_CLIENTS} clients"),
        p99_result,
    ]


def latency(quick: bool) -> list[Result]:
    seconds = 8.0 if quick else 20.0
    with server_process() as server:
        followers, stats = asyncio.run(follow_load(server, server, seconds))
    return latency_results("ingest_to_sse", followers, stats, at_most=MAX_P99_MS,
                           where=f"{LATENCY_CLIENTS} clients on the server that ingests")
