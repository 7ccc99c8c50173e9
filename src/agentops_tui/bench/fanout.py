"""SSE fan-out to saturation, and what one client that never reads costs the others.

Twenty stream clients read the byte stream and count frames (cheap, so the figure is the
server's, not a Python parser's). A load process offers events at a rising rate, the last
step as fast as the server acknowledges them; each step's deliveries/s is the frames the
clients counted over a fixed window after a warm-up. The ramp stops after `FLAT_STEPS`
steps in a row that grow deliveries/s by less than `GROWTH` over the best step so far, or
when the clients fall behind: cut off by the server as too slow, or still short of an
acknowledged event `DRAIN_S` after the load ended. The ceiling is the best step whose
clients kept up.

Then the same load runs four more times at `STALL_LOAD` of the ceiling's events/s: without,
with, with and without one more client that opens a stream and never reads. The reading
clients' rate with it over their rate without it is what the stalled client costs them.
Below the ceiling both should deliver everything offered; at the ceiling itself the ratio
would be the machine's noise (a saturated run on a shared two-core machine varies by tens
of per cent).

The clients run in this process, the server and the load in processes of their own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from agentops_tui.bench import Result, check
from agentops_tui.bench.follow import FrameCounter, follow, wait_for_frames
from agentops_tui.bench.procs import LoadProcess, ServerProcess, self_cpu_seconds, server_process

BATCH = 100
AGENTS, SESSIONS = 50, 500
GROWTH = 1.05
FLAT_STEPS = 2  # one step that does not grow can be a busy moment on a shared machine
STALL_LOAD = 0.8  # of the ceiling's events/s, for the stalled-client runs
DRAIN_S = 2.0
STARVED = 0.8  # of a core: below this at the ceiling, the machine was busy with others
MIN_DELIVERIES = 200_000
MIN_UNAFFECTED = 0.9


@dataclass(frozen=True)
class Plan:
    """How hard and how long; the tests run a small one."""

    seconds: float = 10.0  # each step's measured window
    clients: int = 20
    rates: tuple[float, ...] = (5_000, 10_000, 20_000, 40_000, 0)  # 0: as fast as acknowledged
    warmup: float = 1.0
    stall_order: tuple[bool, ...] = (False, True, True, False)  # a drift in the machine cancels


@dataclass
class Step:
    offered: float  # events/s asked of the load process (0: unlimited)
    events_per_s: float  # what the server acknowledged
    deliveries_per_s: float  # frames/s the reading clients counted, all of them together
    kept_up: bool
    drain_s: float  # after the load ended, until every reading client had every event
    client_cores: float  # this process's CPU over the window: the clients' cost
    server_cores: float  # the server's CPU over the window
    seconds: float  # the window

    @property
    def server_us_per_delivery(self) -> float:
        """CPU time, so less at the mercy of other processes than a rate."""
        deliveries = self.deliveries_per_s * self.seconds
        return self.server_cores * self.seconds / deliveries * 1e6 if deliveries else 0.0


def _stalled_client(server: ServerProcess) -> socket.socket:
    """A stream request whose response is never read."""
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {server.token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


class Clients:
    """The reading clients, following one server for the whole benchmark."""

    def __init__(self, server: ServerProcess, plan: Plan) -> None:
        self.server = server
        self.plan = plan
        self.counters = [FrameCounter() for _ in range(plan.clients)]
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        readies = [asyncio.Event() for _ in self.counters]
        self.tasks = [asyncio.create_task(follow(self.server.url, self.server.token, c, r))
                      for c, r in zip(self.counters, readies, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 15)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def total(self) -> int:
        return sum(c.frames for c in self.counters)

    async def step(self, offered: float, *, prefix: str, seed: bool,
                   stalled: bool = False) -> Step:
        seconds, warmup = self.plan.seconds, self.plan.warmup
        floors = [c.frames for c in self.counters]
        slow = _stalled_client(self.server) if stalled else None
        load = await asyncio.to_thread(  # it returns once the fleet is seeded
            LoadProcess, self.server, agents=AGENTS, sessions=SESSIONS, rate=offered,
            duration=warmup + seconds + 0.5, batch=BATCH, concurrency=2, prefix=prefix,
            seed_fleet=seed)
        try:
            load.go()
            await asyncio.sleep(warmup)
            before, t0 = self.total(), time.perf_counter()
            cpu0, server0 = self_cpu_seconds(), self.server.cpu_seconds()
            await asyncio.sleep(seconds)
            delivered, elapsed = self.total() - before, time.perf_counter() - t0
            cpu = self_cpu_seconds() - cpu0
            server_cpu = self.server.cpu_seconds() - server0
            stats = await asyncio.to_thread(load.finish, 60)
            seeded = AGENTS + SESSIONS if seed else 0
            expected = seeded + int(stats["sent"])
            drain = await wait_for_frames(self.counters, [f + expected for f in floors],
                                          DRAIN_S)
        finally:
            load.kill()
            if slow is not None:
                slow.close()
        kept_up = drain < DRAIN_S and not any(c.cut_off or c.ended for c in self.counters)
        return Step(offered, float(stats["events_per_s"]), delivered / elapsed, kept_up, drain,
                    cpu / elapsed, server_cpu / elapsed, elapsed)


async def _measure(server: ServerProcess, plan: Plan
                   ) -> tuple[list[Step], list[Step], list[Step]]:
    clients = Clients(server, plan)
    await clients.start()
    try:
        ramp: list[Step] = []
        flat = 0  # steps in a row that did not grow deliveries/s
        for n, rate in enumerate(plan.rates):
            step = await clients.step(rate, prefix=f"r{n}-", seed=n == 0)
            ramp.append(step)
            best = max((s.deliveries_per_s for s in ramp[:-1] if s.kept_up), default=0.0)
            flat = flat + 1 if step.deliveries_per_s < best * GROWTH else 0
            if not step.kept_up or flat == FLAT_STEPS:
                break
        # Never 0, which would ask the load for as much as the server takes.
        offered = max(100.0, round(STALL_LOAD * _ceiling(ramp).events_per_s, -2))
        alone: list[Step] = []
        with_slow: list[Step] = []
        for n, stalled in enumerate(plan.stall_order):
            step = await clients.step(offered, prefix=f"s{n}-", seed=False, stalled=stalled)
            (with_slow if stalled else alone).append(step)
    finally:
        await clients.stop()
    return ramp, alone, with_slow


def _ceiling(ramp: list[Step]) -> Step:
    kept = [s for s in ramp if s.kept_up]
    return max(kept or ramp, key=lambda s: s.deliveries_per_s)


def _rate(offered: float) -> str:
    return f"{offered:,.0f}" if offered else "unlimited"


def _pooled(steps: list[Step]) -> Step:
    """Several runs as one: rates weighted by their windows."""
    total = sum(s.seconds for s in steps)

    def mean(field: str) -> float:
        return float(sum(getattr(s, field) * s.seconds for s in steps)) / total

    return Step(steps[0].offered, mean("events_per_s"), mean("deliveries_per_s"),
                all(s.kept_up for s in steps), max(s.drain_s for s in steps),
                mean("client_cores"), mean("server_cores"), total)


def fanout(quick: bool, plan: Plan | None = None) -> list[Result]:
    plan = plan or Plan(seconds=3.0 if quick else 10.0)
    with server_process() as server:
        ramp, alone_runs, slow_runs = asyncio.run(_measure(server, plan))
    top = _ceiling(ramp)
    alone, with_slow = _pooled(alone_runs), _pooled(slow_runs)
    steps = "; ".join(
        f"{_rate(s.offered)} offered → {s.events_per_s:,.0f} ev/s, "
        f"{s.deliveries_per_s:,.0f} deliveries/s{'' if s.kept_up else ' (fell behind)'}"
        for s in ramp)
    ceiling_note = (
        f"{plan.clients} clients; ramp: {steps}. At the ceiling the server used "
        f"{top.server_cores:.2f} cores ({top.server_us_per_delivery:.1f} µs per delivery), "
        f"the clients {top.client_cores:.2f}, of this machine's {os.cpu_count()}; the clients "
        f"caught up {top.drain_s * 1000:.0f} ms after the load ended"
        + ("" if top.kept_up else "; no step kept up, the best is reported")
        + (f"; the server had less than {STARVED:.0%} of a core: other processes, not the "
           "server, set this ceiling" if top.server_cores < STARVED else ""))
    ratio = with_slow.deliveries_per_s / alone.deliveries_per_s if alone.deliveries_per_s else 0
    stalled_note = (
        f"{len(slow_runs)} runs with a client that never reads and {len(alone_runs)} without "
        f"(baseline), alternated, at {_rate(alone.offered)} events/s offered "
        f"({STALL_LOAD:.0%} of the ceiling's): {with_slow.deliveries_per_s:,.0f} against "
        f"{alone.deliveries_per_s:,.0f} deliveries/s; server CPU per delivery "
        f"{with_slow.server_us_per_delivery:.1f} against {alone.server_us_per_delivery:.1f} µs; "
        f"the reading clients caught up at most {with_slow.drain_s * 1000:.0f} ms after the "
        f"load ended with it, {alone.drain_s * 1000:.0f} ms without"
        + ("" if with_slow.kept_up else "; with it, the reading clients fell behind"))
    return [
        check("fanout_ceiling_deliveries_per_s", top.deliveries_per_s, "deliveries/s",
              at_least=MIN_DELIVERIES, baseline=ramp[0].deliveries_per_s, note=ceiling_note),
        check("fanout_server_cpu_us_per_delivery", top.server_us_per_delivery, "µs",
              note=(f"the server's CPU time over the deliveries at the ceiling, ingest "
                    f"included: {1e6 / top.server_us_per_delivery:,.0f} deliveries per "
                    "second of one core; unlike a rate, other processes on the machine "
                    "move it little") if top.server_us_per_delivery else "no deliveries"),
        check("fanout_with_stalled_client_vs_without", ratio, "x", at_least=MIN_UNAFFECTED,
              baseline=alone.deliveries_per_s, note=stalled_note),
    ]
