"""On PostgreSQL the state checkpoint is written on a connection of its own while the writer
goes on committing groups. While it is in flight its rows are in neither memory's pending
set nor the tables: reads that merge what the tables lack must still see them; one that
fails must hand them back; the tables end up holding every event exactly once.

The checkpoint is held in flight by another connection locking `state_through`, which its
transaction locks first; the writer thread is not started, so each group is committed and
each checkpoint begun or settled by the test itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import psycopg
import pytest

from agentops_tui.server.store.background_checkpoint import FAILED, LANDED, BackgroundCheckpoint
from agentops_tui.server.store.rollup_fold import to_units
from agentops_tui.server.store.sqlite import Store

from factories import message, started, usage, writer_job
from postgres_cluster import Cluster
from waiting import wait_for

WORKSPACE = "default"


def _commit(store: Store, job: Any) -> None:
    future: Future[Any] = Future()
    store.writer._commit_group([(job, future)])
    future.result(timeout=0)  # committed in this call: the group did not wait


def _messages(store: Store) -> list[str]:
    return [m.content for m in asyncio.run(store.messages(WORKSPACE, "se-1", 0, 100))]


def _background(store: Store) -> BackgroundCheckpoint:
    background = store.writer.background
    assert background is not None
    return background


class _Tables:
    """What another connection sees of the derived tables."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def messages(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT content FROM messages ORDER BY seq")]

    def cost_units(self) -> int:
        return int(self.conn.execute("SELECT coalesce(sum(cost_e10), 0) FROM cost_rollup")
                   .fetchone()[0])

    def marker(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'state_through'")
                   .fetchone()[0])

    def waiting_checkpoint(self) -> int | None:
        """The backend whose checkpoint waits for the lock on `state_through`."""
        row = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%state_through%'").fetchone()
        return None if row is None else int(row[0])


@pytest.fixture
def database(postgres: Cluster) -> str:
    return postgres.new_database()


@pytest.fixture
def tables(database: str) -> Iterator[_Tables]:
    seen = _Tables(database)
    try:
        yield seen
    finally:
        seen.conn.close()


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    opened = Store(database, checkpoint_seconds=3600)
    try:
        yield opened
    finally:
        opened.close()


def _hold_marker(url: str) -> psycopg.Connection[Any]:
    """A transaction holding `state_through` locked: a checkpoint begun now waits."""
    blocker = psycopg.connect(url)
    blocker.execute("SELECT value FROM meta WHERE key = 'state_through' FOR UPDATE")
    return blocker


def test_groups_commit_while_the_checkpoint_is_in_flight_and_reads_see_it(
    store: Store, database: str, tables: _Tables
) -> None:
    _commit(store, writer_job(started(), message(content="a"), usage(), cost=1.0))
    first = store.writer.committed_id
    blocker = _hold_marker(database)
    try:
        _background(store).begin(store.writer)
        wait_for(tables.waiting_checkpoint, what="the checkpoint waiting for the marker")
        assert store.writer.checkpoint.in_flight
        # the writer is not held up: a group commits while the checkpoint cannot
        _commit(store, writer_job(message(content="b"), usage(), cost=2.0))
        assert _messages(store) == ["a", "b"]  # in flight and pending, merged
        assert store.rollups.pending_cost(WORKSPACE, lambda k: True) == to_units(3.0)
        assert tables.messages() == [] and tables.cost_units() == 0
    finally:
        blocker.rollback()
        blocker.close()
    assert _background(store).settle(store.writer) == LANDED
    cp = store.writer.checkpoint
    assert cp.through == first == tables.marker() and not cp.in_flight and cp.pending
    assert tables.messages() == ["a"] and tables.cost_units() == to_units(1.0)
    assert _messages(store) == ["a", "b"]
    assert store.rollups.pending_cost(WORKSPACE, lambda k: True) == to_units(2.0)
    assert store.checkpoint_now()
    assert tables.messages() == ["a", "b"] and tables.cost_units() == to_units(3.0)
    assert tables.marker() == store.writer.committed_id


def test_a_checkpoint_that_fails_in_flight_hands_its_rows_back(
    database: str, tables: _Tables, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(database, checkpoint_seconds=3600)
    try:
        _fail_one_then_land(store, database, tables, caplog)
    finally:
        store.close()
    Store(database).close()  # reopening folds nothing twice
    assert tables.messages() == ["a", "b", "c"] and tables.cost_units() == to_units(3.5)


def _fail_one_then_land(store: Store, database: str, tables: _Tables,
                        caplog: pytest.LogCaptureFixture) -> None:
    _commit(store, writer_job(started(), message(content="a"), usage(), cost=1.0))
    blocker = _hold_marker(database)
    try:
        _background(store).begin(store.writer)
        pid = wait_for(tables.waiting_checkpoint, what="the checkpoint waiting for the marker")
        _commit(store, writer_job(message(content="b"), usage(), cost=2.0))
        tables.conn.execute("SELECT pg_terminate_backend(%s)", (pid,))  # its connection dies
        assert _background(store).settle(store.writer) == FAILED
    finally:
        blocker.rollback()
        blocker.close()
    assert "writing the state checkpoint failed" in caplog.text
    cp = store.writer.checkpoint
    assert not cp.in_flight and cp.pending and cp.through == 0
    assert _messages(store) == ["a", "b"]
    assert store.rollups.pending_cost(WORKSPACE, lambda k: True) == to_units(3.0)
    assert tables.messages() == [] and tables.cost_units() == 0
    # the next checkpoint (on a connection opened again) writes the handed-back rows once
    _commit(store, writer_job(message(content="c"), usage(), cost=0.5))
    _background(store).begin(store.writer)
    assert _background(store).settle(store.writer) == LANDED
    assert tables.messages() == ["a", "b", "c"] and tables.cost_units() == to_units(3.5)
    assert tables.marker() == store.writer.committed_id and not cp.pending


def test_a_checkpoint_asked_for_while_one_is_in_flight_waits_for_it(
    store: Store, database: str, tables: _Tables
) -> None:
    """`checkpoint_now` (a read that must be current, retention, shutdown) lets the batch
    in flight land first, then writes the rest: never two at once, nothing twice."""
    _commit(store, writer_job(started(), message(content="a"), usage(), cost=1.0))
    blocker = _hold_marker(database)
    try:
        _background(store).begin(store.writer)
        wait_for(tables.waiting_checkpoint, what="the checkpoint waiting for the marker")
        _commit(store, writer_job(message(content="b"), usage(), cost=2.0))
    finally:
        blocker.rollback()
        blocker.close()
    assert store.checkpoint_now()
    cp = store.writer.checkpoint
    assert not cp.in_flight and not cp.pending and _background(store).written == 1
    assert tables.messages() == ["a", "b"] and tables.cost_units() == to_units(3.0)
    assert tables.marker() == store.writer.committed_id
