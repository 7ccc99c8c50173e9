"""The store's seam, as every backend must keep it: writes commit in writer jobs and are then
readable; reads run off the event loop, each on its own thread's connection; a closed store
refuses reads; `current=True` waits for the state tables; the log, messages and sessions page.

Each test runs once per backend in `BACKENDS` (a real database each time: a SQLite file, a
fresh database in the test run's PostgreSQL cluster).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentops_tui.models import Session
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.read_pool import READ_THREADS, THREAD_NAME, StoreClosed
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import Rejected, WriteContext

from postgres_cluster import Cluster

WS = "default"
OpenStore = Callable[[], Store]


def _sqlite(request: pytest.FixtureRequest, folder: Path) -> OpenStore:
    return lambda: Store(folder / "contract.db")


def _postgres(request: pytest.FixtureRequest, folder: Path) -> OpenStore:
    cluster: Cluster = request.getfixturevalue("postgres")
    url = cluster.new_database()
    return lambda: Store(url)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], OpenStore]] = {
    "sqlite": _sqlite, "postgresql": _postgres}


@pytest.fixture(params=sorted(BACKENDS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens (and starts) the backend's store on the same database each time it is called."""
    opener = BACKENDS[request.param](request, tmp_path)

    def start() -> Store:
        store = opener()
        store.start()
        return store

    return start


@pytest.fixture
def store(open_store: OpenStore) -> Iterator[Store]:
    store = open_store()
    try:
        yield store
    finally:
        if not store.closed:
            store.close()


def _agent(ctx: WriteContext, agent_id: str, ts: float = 1000.0) -> int:
    return ctx.emit(WS, "agent.registered", {"agent_id": agent_id, "name": agent_id}, ts=ts).id


def _session(ctx: WriteContext, session_id: str, started_at: float,
             workspace: str = WS) -> None:
    ctx.emit(workspace, "session.started", {"session_id": session_id, "agent_id": "ag-1"},
             ts=started_at)


def _messages(ctx: WriteContext, session_id: str, seqs: range) -> None:
    for seq in seqs:
        ctx.emit(WS, "session.message", {
            "session_id": session_id, "role": "assistant", "content": f"m{seq}", "seq": seq,
        }, ts=2000.0 + seq)


async def test_a_committed_write_is_readable(store: Store) -> None:
    event_id = await store.write(lambda ctx: _agent(ctx, "ag-1"))
    assert store.last_event_id == event_id

    def agent_row(conn: Connection) -> Any:
        return conn.execute("SELECT name FROM agents WHERE workspace = ? AND id = ?",
                            (WS, "ag-1")).fetchone()

    assert (await store.read(agent_row, current=True))[0] == "ag-1"
    page = await store.events_after(WS, 0, 10)
    assert [(e.id, e.type, e.data["agent_id"]) for e in page] == [
        (event_id, "agent.registered", "ag-1")]


async def test_reads_run_off_the_loop_each_thread_on_its_own_connection(store: Store) -> None:
    loop_thread = threading.current_thread()
    # every read thread busy at once: each read waits for the others, so each has a thread
    together = threading.Barrier(READ_THREADS, timeout=30)

    def where(conn: Connection) -> tuple[threading.Thread, int]:
        together.wait()
        return threading.current_thread(), id(conn)

    seen = await asyncio.gather(*(store.read(where) for _ in range(READ_THREADS)))
    threads = {t for t, _ in seen}
    assert len(threads) == READ_THREADS and loop_thread not in threads
    assert all(t.name.startswith(THREAD_NAME) for t in threads)
    assert len({c for _, c in seen}) == READ_THREADS  # no connection shared by two threads
    again = await asyncio.gather(*(store.read(where) for _ in range(READ_THREADS)))
    assert set(again) == set(seen)  # and each thread keeps its own


async def test_reads_after_close_fail_cleanly(store: Store) -> None:
    await store.write(lambda ctx: _agent(ctx, "ag-1"))
    assert await store.read(lambda conn: 1) == 1
    store.close()
    called: list[bool] = []
    with pytest.raises(StoreClosed):
        await store.read(lambda conn: called.append(True))
    with pytest.raises(StoreClosed):
        await store.events_after(WS, 0, 10)
    with pytest.raises(StoreClosed):
        await store.write(lambda ctx: _agent(ctx, "ag-2"))
    assert called == []


async def test_a_current_read_waits_for_the_state_tables(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`current=True` reads only once `caught_up` returns; other reads never wait for it."""
    caught_up = asyncio.Event()
    waits: list[str] = []

    async def held() -> None:
        waits.append("wait")
        await caught_up.wait()

    monkeypatch.setattr(store, "caught_up", held)
    ran: list[str] = []

    def probe(name: str) -> Callable[[Connection], str]:
        def read(conn: Connection) -> str:
            ran.append(name)
            return name

        return read

    assert await store.read(probe("log")) == "log"
    assert waits == []
    current = asyncio.create_task(store.read(probe("state"), current=True))
    while not waits:
        await asyncio.sleep(0)
    assert ran == ["log"] and not current.done()
    caught_up.set()
    assert await current == "state"
    assert ran == ["log", "state"]


async def test_events_page_by_id_with_filters(store: Store) -> None:
    def fill(ctx: WriteContext) -> None:
        for n in range(12):
            _session(ctx, f"se-{n}", 1000.0 + n, workspace=WS if n % 3 else "other")
            ctx.emit(WS, "session.status", {"session_id": "se-1", "status": "running"})

    await store.write(fill)
    everything = await store.events_after(WS, 0, 1000)
    assert len(everything) == 8 + 12
    pages: list[int] = []
    after = 0
    while page := await store.events_after(WS, after, 5):
        assert len(page) <= 5
        pages += [e.id for e in page]
        after = page[-1].id
    assert pages == [e.id for e in everything] == sorted(pages)
    starts = await store.events_after(WS, 0, 1000, types=frozenset({"session.started"}))
    assert {e.data["session_id"] for e in starts} == {f"se-{n}" for n in range(12) if n % 3}
    one = await store.events_after(WS, 0, 1000, session="se-1")
    assert {e.type for e in one} == {"session.started", "session.status"}
    assert all(e.workspace == WS for e in everything)


async def test_messages_page_forward_and_back(open_store: OpenStore) -> None:
    store = open_store()
    await store.write(lambda ctx: _session(ctx, "se-1", 1000.0))
    await store.write(lambda ctx: _messages(ctx, "se-1", range(1, 14)))
    store.close()  # the rows so far reach their table; the rest are written after reopening
    store = open_store()
    try:
        await store.write(lambda ctx: _messages(ctx, "se-1", range(14, 26)))
        seqs: list[int] = []
        after = 0
        while page := await store.messages(WS, "se-1", after, 10):
            seqs += [m.seq for m in page]
            after = page[-1].seq
        assert seqs == list(range(1, 26))
        back = await store.messages_before(WS, "se-1", 26, 10)
        assert [m.seq for m in back] == list(range(16, 26))
        assert [m.content for m in back][:2] == ["m16", "m17"]
        assert [m.seq for m in await store.messages_before(WS, "se-1", 3, 10)] == [1, 2]
        assert await store.messages(WS, "nobody", 0, 10) == []
    finally:
        store.close()


async def test_sessions_page_newest_first_by_keyset(store: Store) -> None:
    # two pairs share a start time: the id breaks the tie, and no page loses or repeats one
    starts = {"se-a": 1000.0, "se-b": 1001.0, "se-c": 1001.0, "se-d": 1002.0, "se-e": 1003.0,
              "se-f": 1003.0, "se-g": 1004.0}

    def fill(ctx: WriteContext) -> None:
        for sid, ts in starts.items():
            _session(ctx, sid, ts)

    await store.write(fill)
    found: list[Session] = []
    cursor: tuple[float, str] | None = None
    while True:
        page = await store.sessions_page(WS, status=None, agent_id=None, task_id=None,
                                         parent_session_id=None, cursor=cursor, limit=3)
        found += page
        if len(page) < 3:
            break
        cursor = (page[-1].started_at, page[-1].id)
    expected = sorted(starts, key=lambda s: (starts[s], s), reverse=True)
    assert [s.id for s in found] == expected
    assert await store.session(WS, "se-c") is not None
    assert await store.session(WS, "se-zz") is None


async def test_a_rejected_job_writes_nothing(store: Store) -> None:
    await store.write(lambda ctx: _agent(ctx, "ag-1"))
    before = store.last_event_id

    def refuse(ctx: WriteContext) -> None:
        raise Rejected(409, "conflict", "no")

    results = await asyncio.gather(
        store.write(refuse), store.write(lambda ctx: _agent(ctx, "ag-2")), return_exceptions=True)
    assert isinstance(results[0], Rejected) and results[0].status == 409
    assert results[1] == before + 1  # a refusal never takes another request down
    page = await store.events_after(WS, before, 10)
    assert [e.data["agent_id"] for e in page] == ["ag-2"]
