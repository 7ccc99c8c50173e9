"""Durable batched ingest, against raw SQLite batched inserts measured in the same run.

- raw: `executemany` of ready-made event rows into the server's own schema (same pragmas:
  WAL, synchronous=FULL), one transaction per batch. The ceiling for any durable ingest.
- writer: the server's ingest path without HTTP: parse and validate the JSON body, enrich,
  and run the `IngestJob` through the single writer (group commit, every observer the
  server installs), with a few batches in flight as concurrent requests would be.
- http: the real server in its own process; a load process POSTs bodies of `BATCH` events
  on a few connections and counts the 202s (each sent only after its batch is committed).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from agentops_tui.bench import Result, check
from agentops_tui.bench.load import Batches, seed_events
from agentops_tui.bench.procs import LoadProcess, server_process

BATCH = 1000
AGENTS = 100
SESSIONS = 1000
MIN_EVENTS_PER_S = 50_000
MIN_RATIO = 0.5


def _rows(batches: Batches, count: int, first_id: int) -> list[list[tuple[Any, ...]]]:
    out = []
    next_id = first_id
    for _ in range(count):
        rows = []
        for event in json.loads(batches.body(BATCH))["events"]:
            sid = event.get("session_id")
            key = event.pop("event_key")
            ts = event.pop("ts")
            rows.append((next_id, "default", event["type"], ts, sid, key, json.dumps(event)))
            next_id += 1
        out.append(rows)
    return out


def raw_sqlite(folder: Path, seconds: float) -> float:
    """Events/s of batched inserts into the events table, one fsync'd commit per batch."""
    from agentops_tui.server.store.sqlite_schema import connect, migrate

    conn = connect(folder / "raw.db")
    migrate(conn)
    batches = Batches(AGENTS, SESSIONS, prefix="r")
    pool = _rows(batches, 8, 1)
    per_round = len(pool) * BATCH
    inserted = 0
    offset = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for rows in pool:
            # fresh ids and keys each round, so every insert is a real new row
            shifted = [(r[0] + offset, r[1], r[2], r[3], r[4], f"{r[5]}.{offset}", r[6])
                       for r in rows]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (id, workspace, type, ts, session_id, event_key, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", shifted)
            conn.execute("COMMIT")
            inserted += len(rows)
        offset += per_round
    elapsed = time.perf_counter() - start
    conn.close()
    return inserted / elapsed


def writer_direct(folder: Path, seconds: float, in_flight: int = 4) -> float:
    """Events/s through parse → enrich → IngestJob → the writer, no HTTP."""
    from agentops_tui.server.app import create_app
    from agentops_tui.server.context import ServerContext, ServerSettings
    from agentops_tui.server.ingest.rest import IngestJob, enrich, parse_batch

    app = create_app(ServerSettings(db_path=folder / "writer.db"))
    ctx: ServerContext = app.state.ctx
    store = ctx.store
    store.start()
    try:
        seed = {"events": seed_events(AGENTS, SESSIONS, time.time())}
        for i in range(0, len(seed["events"]), 1000):
            part = json.dumps({"events": seed["events"][i : i + 1000]}).encode()
            store.writer.submit(IngestJob(store, "default", parse_batch(part))).result()

        def cost(usage: Any) -> Any:
            return ctx.prices.cost(usage.model, usage.input_tokens, usage.output_tokens,
                                   usage.cache_read_tokens, usage.cache_write_tokens)

        batches = Batches(AGENTS, SESSIONS, prefix="w")
        pending: deque[Future[Any]] = deque()
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch = parse_batch(batches.body(BATCH))
            enrich(batch, cost)
            pending.append(store.writer.submit(IngestJob(store, "default", batch)))
            while len(pending) >= in_flight:
                done += pending.popleft().result().accepted
        while pending:
            done += pending.popleft().result().accepted
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    return float(done) / elapsed


def http_ingest(seconds: float) -> tuple[float, dict[str, Any]]:
    with server_process() as server:
        load = LoadProcess(server, agents=AGENTS, sessions=SESSIONS, rate=0, duration=seconds,
                           batch=BATCH, concurrency=4)
        try:
            load.go()
            stats = load.finish(timeout=seconds + 60)
        finally:
            load.kill()
    return float(stats["events_per_s"]), stats


def run(quick: bool) -> list[Result]:
    seconds = 4.0 if quick else 12.0
    with tempfile.TemporaryDirectory(prefix="agentops-bench-ingest-") as tmp:
        folder = Path(tmp)
        raw = raw_sqlite(folder, seconds / 2)
        writer = writer_direct(folder, seconds)
    http, stats = http_ingest(seconds)
    raw_note = (f"baseline: raw SQLite executemany, {BATCH} rows per fsync'd commit "
                f"({raw:,.0f} events/s)")
    return [
        check("ingest_http_events_per_s", http, "events/s", at_least=MIN_EVENTS_PER_S,
              baseline=raw, note=f"{raw_note}; POST p99 {stats['post_p99_ms']:.0f} ms"),
        check("ingest_http_vs_raw_sqlite", http / raw, "x", at_least=MIN_RATIO, baseline=raw,
              note=raw_note),
        check("ingest_writer_events_per_s", writer, "events/s", at_least=MIN_EVENTS_PER_S,
              baseline=raw, note=raw_note),
        check("ingest_writer_vs_raw_sqlite", writer / raw, "x", at_least=MIN_RATIO,
              baseline=raw, note=raw_note),
    ]
