"""Ingest on PostgreSQL against raw COPY into the same table, measured in the same run.

Both run against a throwaway cluster (`pg_cluster`: initdb, a unix socket, fsync on, the
server's defaults otherwise) on this machine:

- raw: COPY (binary) of ready-made event rows into a fresh database's `events` table, in
  the server's own schema, one committed transaction per batch of `ingest.BATCH` rows. The
  ceiling for any durable ingest into that table.
- http: the real server in its own process on another fresh database of the cluster, with
  one idle stream client following it throughout, exactly as the SQLite ingest benchmark
  (`ingest.http_ingest`): every 202 is a committed group, every event reaches the client.

Then ingest → SSE latency across two replicas, the load on one and the stream clients on
the other (`replicas`), on a cluster of its own.

Not available (not failed) where PostgreSQL (or its driver, psycopg) is not installed.
"""

from __future__ import annotations

import time

from agentops_tui.bench import Result, check, unavailable
from agentops_tui.bench.ingest import AGENTS, BATCH, MIN_RATIO, SESSIONS, _rows, http_ingest
from agentops_tui.bench.load import Batches

_COPY = ("COPY events (id, workspace, type, ts, session_id, event_key, data)"
         " FROM STDIN (FORMAT BINARY)")
_TYPES = ["int8", "text", "text", "float8", "text", "text", "text"]


def raw_copy(url: str, seconds: float) -> float:
    """Events/s of COPY into the events table, one committed transaction per batch."""
    from agentops_tui.server.store.backends import open_connection
    from agentops_tui.server.store.postgres_connection import PgConnection

    conn = open_connection(url)
    assert isinstance(conn, PgConnection)
    batches = Batches(AGENTS, SESSIONS, prefix="r")
    pool = _rows(batches, 8, 1)
    per_round = len(pool) * BATCH
    inserted = 0
    offset = 0
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            for rows in pool:
                conn.execute("BEGIN")
                with conn.raw.cursor() as cursor, cursor.copy(_COPY) as copy:
                    copy.set_types(_TYPES)
                    for r in rows:  # fresh ids and keys each round: every row is new
                        copy.write_row((r[0] + offset, r[1], r[2], r[3], r[4],
                                        f"{r[5]}.{offset}", r[6]))
                conn.execute("COMMIT")
                inserted += len(rows)
            offset += per_round
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return inserted / elapsed


def _missing() -> str:
    """Why PostgreSQL cannot be benchmarked here ('' when it can)."""
    try:
        from agentops_tui.bench.pg_cluster import missing
    except ImportError as exc:  # psycopg, the driver, comes with the postgres extra
        return f"{exc} (pip install 'agentops-tui[postgres]')"
    return missing()


def run(quick: bool) -> list[Result]:
    from agentops_tui.bench import replicas

    why = _missing()
    if why:
        why = why.splitlines()[0][:200]
        return [unavailable("ingest_postgres_vs_raw_copy", "x", f">= {MIN_RATIO:g}", why),
                *replicas.not_available(why)]
    from agentops_tui.bench.pg_cluster import running_cluster

    seconds = 4.0 if quick else 12.0
    with running_cluster() as cluster:
        raw = raw_copy(cluster.new_database(), seconds / 2)
        http, stats = http_ingest(seconds, db=cluster.new_database())
    with running_cluster() as cluster:  # a cluster of its own: no vacuum of the ingest's rows
        two_replicas = replicas.run(cluster, quick)
    note = (f"baseline: raw binary COPY, {BATCH} rows per committed transaction "
            f"({raw:,.0f} events/s), same cluster")
    client = stats["client"]
    received = client["frames"][0] / stats["expected_frames"]
    return [
        check("ingest_postgres_http_events_per_s", http, "events/s", baseline=raw,
              note=f"{note}; POST p99 {stats['post_p99_ms']:.0f} ms; one stream client;"
                   f" server {stats['server_cores']:.2f} cores,"
                   f" {stats['server_us_per_event']:.1f} µs CPU per event"),
        check("ingest_postgres_vs_raw_copy", http / raw, "x", at_least=MIN_RATIO,
              baseline=raw, note=note),
        check("ingest_postgres_stream_client_received_vs_acknowledged", received, "x",
              at_least=1.0, note="the stream client got every acknowledged event"),
        *two_replicas,
    ]
