"""The audit log's retention, through the real store on each backend: entries older than
`audit_max_age_seconds` go at the store's periodic pruning, by age alone, in every workspace;
younger ones stay, however many there are; 0 keeps every entry; a long backlog goes a batch
at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentops_tui.server import audit
from agentops_tui.server.store import retention
from agentops_tui.server.store.sqlite import Retention, Store
from agentops_tui.server.store.writer import WriteContext

from postgres_cluster import Cluster

DAY = 86400.0
OpenStore = Callable[[Retention], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens and starts a store on a fresh database of the backend; closes it at the end."""
    if request.param == "sqlite":
        url: str = str(tmp_path / "audit.db")
    else:
        cluster: Cluster = request.getfixturevalue("postgres")
        url = cluster.new_database()
    opened: list[Store] = []

    def start(kept: Retention) -> Store:
        store = Store(url, retention=kept)
        store.start()
        opened.append(store)
        return store

    yield start
    for store in opened:
        if not store.closed:
            store.close()


def _entries(entries: list[tuple[str, str, float]]) -> Callable[[WriteContext], None]:
    """A job writing audit entries (workspace, action, how many seconds ago)."""
    def job(ctx: WriteContext) -> None:
        for workspace, action, age in entries:
            audit.record(ctx.conn, audit.Actor("ops", workspace), action, "se-1", None,
                         "accepted", ctx.now - age)
    return job


async def _actions(store: Store) -> list[tuple[str, str]]:
    """The audit entries, read by a writer job: the writer runs a commit's after-commit steps
    (pruning, with `every_commits=1`) before it takes the next job, so this sees every
    pruning of the commits acknowledged before it."""
    def rows(ctx: WriteContext) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in ctx.conn.execute(
            "SELECT workspace, action FROM audit ORDER BY workspace, id").fetchall()]
    result: list[tuple[str, str]] = await store.write(rows)
    return result


async def test_entries_older_than_the_limit_go_and_younger_ones_stay(
        open_store: OpenStore) -> None:
    store = open_store(Retention(audit_max_age_seconds=30 * DAY, every_commits=1))
    await store.write(_entries([
        ("default", "old.pause", 31 * DAY),
        ("default", "recent.pause", 29 * DAY),
        ("default", "just-inside.pause", 30 * DAY - 60),
        ("other", "old.kill", 400 * DAY),
        ("other", "recent.kill", 60),
    ]))
    assert await _actions(store) == [
        ("default", "recent.pause"), ("default", "just-inside.pause"), ("other", "recent.kill")]


async def test_a_limit_of_0_keeps_every_entry(open_store: OpenStore) -> None:
    store = open_store(Retention(audit_max_age_seconds=0, every_commits=1))
    await store.write(_entries([("default", "ancient.pause", 10_000 * DAY),
                                ("default", "recent.pause", 60)]))
    assert await _actions(store) == [("default", "ancient.pause"), ("default", "recent.pause")]


async def test_the_event_log_limits_do_not_prune_the_audit_log(open_store: OpenStore) -> None:
    """Entries past the event log's age limit, and more of them than it keeps events, stay
    while they are younger than the audit limit (the default, 365 days)."""
    store = open_store(Retention(max_events=1, max_age_seconds=DAY, every_commits=1))
    await store.write(_entries([("default", f"a{n}.pause", 10 * DAY) for n in range(3)]))
    assert len(await _actions(store)) == 3


async def test_a_long_backlog_goes_a_batch_at_each_pruning(
        open_store: OpenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "AUDIT_BATCH", 2)
    store = open_store(Retention(audit_max_age_seconds=DAY, every_commits=1))
    await store.write(_entries([("default", "new.pause", 60)]
                               + [("default", f"old{n}.pause", 2 * DAY) for n in range(5)]))
    # 5 old and 1 young: each commit's pruning takes 2 old ones, until only the young one stays
    assert [len(await _actions(store)) for _ in range(3)] == [4, 2, 1]
    assert await _actions(store) == [("default", "new.pause")]
