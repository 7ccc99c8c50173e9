"""Replicas on one PostgreSQL database under failures an operator does not plan for: the
database restarted under two replicas with a stream and ingest on each, connections killed
from the server side (the tailer's, the leader's lock), a frozen leader, a replica started
mid-ingest, a resume cursor far beyond the log, and a replica folding the log again while
another one appends."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.sqlite import Store

from conftest import ServeProcess
from factories import message, started
from postgres_cluster import Cluster, running_cluster
from replica_helpers import Ingester, client, leader_of, leaders, stream_ids
from sse import SseReader
from waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def database(postgres: Cluster) -> str:
    return postgres.new_database()


def _terminate(admin: psycopg.Connection[object], database: str, application: str) -> int:
    """Close, from the server's side, the connections of `database` whose application name
    starts with `application`; how many there were."""
    row = admin.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = %s AND application_name LIKE %s",
        (database, application + "%")).fetchone()
    assert row is not None
    return int(row[0])


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def test_a_replica_folding_the_log_again_hands_on_events_in_id_order(database: str) -> None:
    """A replica that folds the log again (after a failed group, as on a database restart)
    publishes what it folded, then writes its checkpoint; when that checkpoint finds the
    leader's in the tables it folds once more and publishes what was appended meanwhile.
    Those come after the first ones, never before (a stream would send ids backwards)."""
    leader = Store(database)  # holds the lock: the others do not checkpoint on their own
    try:
        token = make_token(database, "admin", "test")
        appender = ServeProcess("--db", database)
        replica = Store(database)
        published: list[int] = []
        replica.subscribe(lambda events: published.extend(e.id for e in events))
        try:
            with client(appender.url, token) as c:
                def append(count: int) -> None:
                    c.post("/api/v1/ingest", json={"events": [
                        message(content=f"m{n}") for n in range(count)]}).raise_for_status()

                c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
                append(4)
                leader.writer.recover()  # the leader's checkpoint now holds ids 1-5
                append(5)
                with psycopg.connect(database, autocommit=True) as blocker:
                    # the replica's checkpoint will wait for this row while 11-12 commit
                    blocker.execute("BEGIN")
                    blocker.execute(
                        "SELECT value FROM meta WHERE key = 'state_through' FOR UPDATE")
                    blocked_by = blocker.info.backend_pid
                    folding = threading.Thread(target=replica.writer.recover)
                    folding.start()
                    wait_for(lambda: blocker.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE %s = ANY(pg_blocking_pids(pid))", (blocked_by,)
                    ).fetchone() == (1,), 15, what="the replica's checkpoint to wait")
                    append(2)
                    blocker.execute("ROLLBACK")
                folding.join(15)
            assert published == list(range(1, 13))
        finally:
            replica.close()
            appender.stop()
    finally:
        leader.close()
