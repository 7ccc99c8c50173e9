"""Ingest → SSE latency across two replicas of one PostgreSQL database.

Two `agentops_tui.bench.serve` processes, A and B, on one fresh database of the throwaway
cluster. The load sends 2,000 events/s in 50-event batches to A, exactly as the
single-server benchmark (`stream`); its 10 parsing stream clients follow B. So every
sample crosses replicas: A's group commit, `pg_notify`, B's tailer (woken by the
notification, or its 250 ms poll) folding the rows, B's fan-out, the client. Baseline: the
POST → 202 round trip on A in the same run. Every client must receive every event A
acknowledged.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from agentops_tui.bench import Result, unavailable
from agentops_tui.bench.procs import server_process
from agentops_tui.bench.stream import LATENCY_CLIENTS, follow_load, latency_results

if TYPE_CHECKING:
    from agentops_tui.bench.pg_cluster import Cluster

PREFIX = "ingest_to_sse_two_replicas"
MAX_P99_MS = 60.0


def measure(cluster: Cluster, seconds: float) -> list[Result]:
    """The two figures, from a run of `seconds` of load on a fresh database of `cluster`.
    Both replicas are stopped before this returns or raises."""
    database = cluster.new_database()
    with server_process(db=database) as a, server_process(db=database) as b:
        followers, stats = asyncio.run(follow_load(a, b, seconds))
    return latency_results(PREFIX, followers, stats, at_most=MAX_P99_MS,
                           where=f"load on replica A, {LATENCY_CLIENTS} clients on replica B")


def run(cluster: Cluster, quick: bool) -> list[Result]:
    """`measure` for `agentops bench`: a run that breaks is a failed figure, so that the
    other PostgreSQL figures of the same benchmark still get reported."""
    try:
        return measure(cluster, 8.0 if quick else 20.0)
    except Exception as exc:  # any failure, reported with its reason rather than lost
        why = (str(exc).splitlines() or [""])[0][:300]
        return [Result(f"{PREFIX}_p99_ms", None, "ms", f"<= {MAX_P99_MS:g}", False, None,
                       f"failed: {type(exc).__name__}: {why}")]


def not_available(why: str) -> list[Result]:
    return [unavailable(f"{PREFIX}_p99_ms", "ms", f"<= {MAX_P99_MS:g}", why)]
