"""Durable batched ingest, against raw SQLite batched inserts measured in the same run.

- raw: `executemany` of ready-made event rows into the server's own schema (same pragmas:
  WAL, synchronous=FULL), one transaction per batch. The ceiling for any durable ingest.
- writer (informative): the server's ingest path without HTTP: parse and validate the JSON
  body, enrich, and run the `IngestJob` through the single writer (group commit, every
  observer the server installs), with a few batches in flight as concurrent requests would
  be. No stream client can follow it, so it is not what the budget describes and has none;
  it shows how much of the HTTP figure is the writer's.
- http: the real server in its own process, followed throughout by one idle stream client
  (a console nobody touches: it reads and counts every frame) in another; a load process
  POSTs bodies of `BATCH` events on a few connections and counts the 202s (each sent only
  after its batch is committed). The client must end up with every acknowledged event.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from agentops_tui.bench import Result, check, unavailable
from agentops_tui.bench.load import Batches, seed_events
from agentops_tui.bench.procs import FollowerProcess, LoadProcess, server_process

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


def http_ingest(seconds: float, db: str | None = None) -> tuple[float, dict[str, Any]]:
    """Events/s the real server acknowledges with one stream client following it throughout.

    A console is always attached in production, so the server pays for encoding and sending
    every event's frame; the client is a separate process that reads and counts every frame,
    and once the load ends it must have received every event the load got acknowledged."""
    with server_process(db=db) as server:
        follower = FollowerProcess(server, clients=1)
        load: LoadProcess | None = None
        try:
            load = LoadProcess(server, agents=AGENTS, sessions=SESSIONS, rate=0,
                               duration=seconds, batch=BATCH, concurrency=4)
            cpu0 = server.cpu_seconds()
            t0 = time.perf_counter()
            load.go()
            stats = load.finish(timeout=seconds + 60)
            cpu, elapsed = server.cpu_seconds() - cpu0, time.perf_counter() - t0
            stats["server_cores"] = cpu / elapsed
            stats["server_us_per_event"] = cpu / max(int(stats["sent"]), 1) * 1e6
            stats["expected_frames"] = AGENTS + SESSIONS + int(stats["sent"])
            client = follower.finish(stats["expected_frames"])
        finally:
            if load is not None:
                load.kill()
            follower.kill()
    stats["client"] = client
    return float(stats["events_per_s"]), stats


def _client_note(stats: dict[str, Any]) -> str:
    client = stats["client"]
    cut = " (the server cut it off as too slow)" if any(client["cut_off"]) else ""
    return (f"one stream client in its own process received {client['frames'][0]:,} frames "
            f"for {stats['expected_frames']:,} events acknowledged (seed included){cut}; "
            f"it used {client['cpu_seconds']:.1f} CPU s, the server "
            f"{stats['server_cores']:.2f} cores ({stats['server_us_per_event']:.1f} µs of CPU "
            f"per event), on this machine's {os.cpu_count()} cores")


def run(quick: bool) -> list[Result]:
    seconds = 4.0 if quick else 12.0
    with tempfile.TemporaryDirectory(prefix="agentops-bench-ingest-") as tmp:
        folder = Path(tmp)
        raw = raw_sqlite(folder, seconds / 2)
        try:
            writer: float | None = writer_direct(folder, seconds)
            why = ""
        except (ImportError, AttributeError, TypeError) as exc:  # internals moved on
            writer, why = None, f"the writer's internal API changed ({exc})"
    http, stats = http_ingest(seconds)
    raw_note = (f"baseline: raw SQLite executemany, {BATCH} rows per fsync'd commit "
                f"({raw:,.0f} events/s)")
    received = stats["client"]["frames"][0] / stats["expected_frames"]
    writer_note = ("no stream client can follow it, so it has no budget; " + raw_note)
    results = [
        check("ingest_http_events_per_s", http, "events/s", at_least=MIN_EVENTS_PER_S,
              baseline=raw, note=f"{raw_note}; POST p99 {stats['post_p99_ms']:.0f} ms; "
                                 "one stream client attached"),
        check("ingest_http_vs_raw_sqlite", http / raw, "x", at_least=MIN_RATIO, baseline=raw,
              note=raw_note),
        check("ingest_stream_client_received_vs_acknowledged", received, "x", at_least=1.0,
              note=_client_note(stats)),
    ]
    if writer is None:
        results += [unavailable("ingest_writer_events_per_s", "events/s", "", why)]
    else:
        results += [
            check("ingest_writer_events_per_s", writer, "events/s", baseline=raw,
                  note=writer_note),
            check("ingest_writer_vs_raw_sqlite", writer / raw, "x", baseline=raw,
                  note=writer_note),
        ]
    return results
