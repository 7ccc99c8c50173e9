"""One request never fails another: requests that share a group commit are answered as if
each had been committed alone."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from agentops_tui.server.store.writer import Rejected, WriteContext, Writer

from conftest import LiveServer
from factories import message, started

GOOD = 8


def _writer(live: LiveServer) -> Writer:
    writer: Writer = live.server._app.state.ctx.store.writer  # type: ignore[union-attr]
    return writer


@contextmanager
def one_group(live: LiveServer) -> Iterator[Callable[[int], None]]:
    """Hold the writer thread between two groups (not inside one: the writer's lock stays
    free, so readers on the event loop go on); everything queued meanwhile commits as one
    group when the block ends. Yields a function that waits until `n` jobs are queued."""
    writer = _writer(live)
    gate, held = threading.Event(), threading.Event()
    commit_group = writer._commit_group

    def gated(batch: list[Any]) -> None:
        held.set()
        gate.wait(20)
        commit_group(batch)

    writer._commit_group = gated  # type: ignore[method-assign]
    first = writer.submit(lambda ctx: None)
    assert held.wait(20)

    def queued(n: int) -> None:
        deadline = time.monotonic() + 20
        while writer._queue.qsize() < n:
            assert time.monotonic() < deadline, f"{writer._queue.qsize()} of {n} jobs queued"
            time.sleep(0.01)

    try:
        yield queued
    finally:
        gate.set()
        first.result(20)
        writer._commit_group = commit_group  # type: ignore[method-assign]


def _post_all(live: LiveServer, bodies: list[str]) -> tuple[list[threading.Thread],
                                                            list[httpx.Response | None]]:
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def post(i: int) -> None:
        with live.client() as c:
            answers[i] = c.post("/api/v1/ingest", content=bodies[i],
                                headers={"content-type": "application/json"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    return threads, answers


def _good(i: int) -> str:
    return json.dumps({"events": [message(content=f"good {i}", event_key=f"good-{i}")]})


def _messages(live: LiveServer) -> list[str]:
    with live.client() as c:
        page = c.get("/api/v1/sessions/se-1/messages").json()["messages"]
    return sorted(m["content"] for m in page)


BAD_BATCHES = [
    '{"events": [{"type": "session.usage", "session_id": "se-1", "model": "m",'
    ' "cost_usd": 1e308}]}',
    '{"events": [{"type": "session.usage", "session_id": "se-1", "model": "m",'
    ' "cost_usd": Infinity}]}',
    '{"events": [{"type": "session.message", "session_id": "se-1", "content": "x",'
    ' "ts": 1e308}]}',
    '{"events": [{"type": "session.message", "session_id": "se-1", "content": "x",'
    ' "event_key": ""}, {"type": "session.message", "session_id": "se-1", "content": "y",'
    ' "event_key": ""}]}',
]


def test_bad_batches_never_fail_the_batches_committed_with_them(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    with one_group(live) as queued:
        bad_threads, bad = _post_all(live, BAD_BATCHES)
        good_threads, good = _post_all(live, [_good(i) for i in range(GOOD)])
        # every good batch waits in the queue; a bad one is either answered or queued too
        deadline = time.monotonic() + 20
        while _writer(live)._queue.qsize() < GOOD + sum(a is None for a in bad):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        queued(GOOD)
    for t in bad_threads + good_threads:
        t.join(20)
    assert [a.status_code for a in good if a] == [202] * GOOD, [a.text for a in good if a]
    assert [a.status_code for a in bad if a] == [422] * len(BAD_BATCHES)
    assert _messages(live) == sorted(f"good {i}" for i in range(GOOD))


def _unstorable_at_flush(ctx: WriteContext) -> None:
    """Logs an event under a key already in the table: the flush fails on it."""
    ctx.emit("default", "session.message",
             {"session_id": "se-1", "role": "user", "content": "dup", "seq": 99},
             event_key="taken")


def _unstorable_while_running(ctx: WriteContext) -> None:
    ctx.conn.execute("SELECT ?", (2**64,))  # OverflowError: no SQLite integer holds it


@pytest.mark.parametrize("bad_job", [_unstorable_at_flush, _unstorable_while_running])
def test_a_job_that_fails_at_commit_fails_alone(
        live: LiveServer, caplog: pytest.LogCaptureFixture,
        bad_job: Callable[[WriteContext], None]) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            started(), message(content="first", event_key="taken")]}).raise_for_status()
    with one_group(live) as queued:
        threads, good = _post_all(live, [_good(i) for i in range(GOOD // 2)])
        queued(GOOD // 2)
        failing: Future[Any] = _writer(live).submit(bad_job)
        more, later = _post_all(live, [_good(i) for i in range(GOOD // 2, GOOD)])
        queued(GOOD + 1)
    for t in threads + more:
        t.join(20)
    answers = good + later
    assert [a.status_code for a in answers if a] == [202] * GOOD, [a.text for a in answers if a]
    with pytest.raises(Rejected) as refused:
        failing.result(10)
    assert refused.value.status == 422 and refused.value.code == "unstorable"
    assert _messages(live) == sorted(["first", *(f"good {i}" for i in range(GOOD))])
    with live.client() as c:  # the events the good batches got are the ones in the log
        ids = [e["id"] for e in c.get("/api/v1/events").json()["events"]]
        assert ids == list(range(1, len(ids) + 1))
        assert {a.json()["last_event_id"] for a in answers if a} <= set(ids)
    assert any("refused it alone" in r.getMessage() for r in caplog.records)


def test_one_event_key_from_two_requests_in_one_group_is_written_once(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "agentops.store")
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    same = json.dumps({"events": [message(content="once", event_key="retry-me")]})
    with one_group(live) as queued:
        threads, answers = _post_all(live, [same, same])
        queued(2)
    for t in threads:
        t.join(20)
    assert sorted((a.status_code, a.json()["accepted"]) for a in answers if a) == [
        (202, 0), (202, 1)]
    assert _messages(live) == ["once"]
    assert not [r for r in caplog.records if r.name == "agentops.store"]  # no rollback
