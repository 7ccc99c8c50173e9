"""Fleets and load for the benchmarks: `python -m agentops_tui.bench.load URL TOKEN ...`.

Seeds `--agents` agents and `--sessions` running sessions, prints `{"seeded": ...}`, waits
for a line on standard input when `--wait` is given, then posts batches of realistic events
(messages, tool calls, usage, heartbeats, each with an `event_key` like the SDK's) at
`--rate` events/s (0: as fast as the server takes them) for `--duration` seconds. Each event
carries `ts` = the moment its batch was sent, so a stream client can tell its latency.
Bodies are built from string templates: the generator must cost far less than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from typing import Any

import httpx

from agentops_tui.bench import percentile

MODELS = ("claude-sonnet-4-5", "gpt-5", "claude-haiku-4-5", "gemini-2.5-pro")
TOOLS = ("Read", "Edit", "Bash", "Grep", "WebFetch")


def agent_id(i: int) -> str:
    return f"ag-{i:05d}"


def session_id(i: int) -> str:
    return f"se-{i:06d}"


def seed_events(agents: int, sessions: int, ts: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "agent.registered", "agent_id": agent_id(i), "name": f"agent-{i}",
         "kind": ("coder", "reviewer", "researcher", "triager")[i % 4],
         "model": MODELS[i % len(MODELS)], "ts": ts}
        for i in range(agents)
    ]
    events += [
        {"type": "session.started", "session_id": session_id(i),
         "agent_id": agent_id(i % max(agents, 1)), "model": MODELS[i % len(MODELS)],
         "title": f"work item {i}", "ts": ts}
        for i in range(sessions)
    ]
    return events


class Batches:
    """Ingest bodies over `sessions` existing sessions (and their agents)."""

    def __init__(self, agents: int, sessions: int, seed: int = 1, prefix: str = "b") -> None:
        self.agents = max(agents, 1)
        self.sessions = max(sessions, 1)
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.counter = 0

    def event(self, ts: float) -> str:
        self.counter += 1
        n = self.counter
        rng = self.rng
        sid = session_id(rng.randrange(self.sessions))
        key = f'"event_key":"{self.prefix}{n}","ts":{ts:.6f}'
        pick = rng.random()
        if pick < 0.4:
            return (f'{{"type":"session.message","session_id":"{sid}","role":"assistant",'
                    f'"content":"step {n}: reading src/module_{n % 97}.py and checking the '
                    f'retry path for timeouts",{key}}}')
        if pick < 0.7:
            return (f'{{"type":"session.tool_call","session_id":"{sid}","tool":'
                    f'"{TOOLS[n % len(TOOLS)]}","duration_ms":{n % 900},{key}}}')
        if pick < 0.9:
            return (f'{{"type":"session.usage","session_id":"{sid}","model":'
                    f'"{MODELS[n % len(MODELS)]}","input_tokens":{1000 + n % 5000},'
                    f'"output_tokens":{100 + n % 700},{key}}}')
        return f'{{"type":"agent.heartbeat","agent_id":"{agent_id(n % self.agents)}",{key}}}'

    def body(self, size: int, ts: float | None = None) -> bytes:
        when = time.time() if ts is None else ts
        return ('{"events":[' + ",".join(self.event(when) for _ in range(size)) + "]}").encode()


async def seed(http: httpx.AsyncClient, agents: int, sessions: int) -> None:
    events = seed_events(agents, sessions, time.time())
    for i in range(0, len(events), 1000):
        r = await http.post("/api/v1/ingest", json={"events": events[i : i + 1000]})
        if r.status_code != 202:
            raise RuntimeError(f"seeding failed: HTTP {r.status_code}: {r.text[:300]}")


async def run_load(http: httpx.AsyncClient, batches: Batches, *, rate: float, duration: float,
                   batch: int, concurrency: int, stop: asyncio.Event) -> dict[str, Any]:
    """Post for `duration` seconds; returns what was sent and how long the posts took."""
    latencies: list[float] = []
    sent = 0
    errors = 0
    start = time.perf_counter()
    deadline = start + duration
    interval = batch / rate if rate > 0 else 0.0

    async def worker(index: int) -> None:
        nonlocal sent, errors
        due = start + interval * index
        while not stop.is_set():
            now = time.perf_counter()
            if now >= deadline:
                return
            if interval and due > now:
                await asyncio.sleep(due - now)
            due += interval * concurrency
            body = batches.body(batch)
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/ingest", content=body,
                                    headers={"content-type": "application/json"})
                ok = r.status_code == 202
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            if ok:
                sent += batch
            else:
                errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "sent": sent, "seconds": elapsed, "posts": len(latencies), "errors": errors,
        "events_per_s": sent / elapsed if elapsed else 0.0,
        "post_p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "post_p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.token}"}
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=60,
                                 limits=limits) as http:
        if (args.agents or args.sessions) and not args.no_seed:
            await seed(http, args.agents, args.sessions)
        print(json.dumps({"seeded": True}), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if args.wait:
            await loop.run_in_executor(None, sys.stdin.readline)

        def watch_stdin() -> None:  # an empty read means the parent wants us to stop
            sys.stdin.read()
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the load had ended already and its loop is closed
                pass

        if args.wait:
            threading.Thread(target=watch_stdin, daemon=True).start()
        batches = Batches(args.agents, args.sessions, seed=args.seed, prefix=args.prefix)
        return await run_load(http, batches, rate=args.rate, duration=args.duration,
                              batch=args.batch, concurrency=args.concurrency, stop=stop)


def main() -> int:
    p = argparse.ArgumentParser(prog="agentops_tui.bench.load")
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("--agents", type=int, default=0)
    p.add_argument("--sessions", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.0, help="events/s; 0 = unlimited")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--prefix", default="b")
    p.add_argument("--wait", action="store_true", help="start on a line from stdin")
    p.add_argument("--no-seed", action="store_true", help="the fleet exists already")
    args = p.parse_args()
    stats = asyncio.run(main_async(args))
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
