"""Message rows reach their table up to a second after their events: reads and restarts
must never notice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agentops_tui.server.store.sqlite import Retention, Store

from conftest import LiveServer, start_server
from factories import message, started
from waiting import wait_for


def _table(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, role, content FROM messages WHERE session_id = 'se-1' ORDER BY seq"
        ).fetchall()


def _store(live: LiveServer) -> Store:
    store: Store = live.server._app.state.ctx.store
    return store


def test_messages_read_back_before_they_are_copied_to_their_table(tmp_path: Path) -> None:
    live = start_server(tmp_path / "m.db")
    try:
        _store(live).writer.checkpoint.interval = 3600
        with live.client() as c:
            events = [started(), *(message(content=f"m{i}") for i in range(1, 6))]
            assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
            assert _table(live.db) == []  # not copied yet, only in the log
            page = c.get("/api/v1/sessions/se-1/messages", params={"after": 2}).json()
            assert [(m["seq"], m["content"]) for m in page["messages"]] == [
                (3, "m3"), (4, "m4"), (5, "m5")]
            page = c.get("/api/v1/sessions/se-1/messages",
                         params={"before": 5, "limit": 2}).json()
            assert [m["seq"] for m in page["messages"]] == [3, 4]
            # an operator's message, once the agent acks it, takes the same way
            command = c.post("/api/v1/sessions/se-1/inject", json={"message": "stop"}).json()
            assert c.post(f"/api/v1/commands/{command['id']}/ack",
                          json={"ok": True}).status_code == 200
            page = c.get("/api/v1/sessions/se-1/messages", params={"after": 5}).json()
            assert [(m["role"], m["content"]) for m in page["messages"]] == [
                ("operator", "stop")]
    finally:
        live.server.stop()
    # a clean stop copies what waited
    assert [r[2] for r in _table(live.db)] == ["m1", "m2", "m3", "m4", "m5", "stop"]


def test_an_idle_writer_copies_waiting_messages_within_the_interval(tmp_path: Path) -> None:
    live = start_server(tmp_path / "m.db")
    try:
        _store(live).writer.checkpoint.interval = 0.2
        with live.client() as c:
            events = [started(), message(content="a"), message(content="b")]
            assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
        wait_for(lambda: _table(live.db) == [(1, "assistant", "a"), (2, "assistant", "b")],
                 10, what="the messages to be copied")
        # later messages go on from there, in order, whether copied or waiting
        with live.client() as c:
            assert c.post("/api/v1/ingest",
                          json={"events": [message(content="c")]}).status_code == 202
            page = c.get("/api/v1/sessions/se-1/messages").json()
            assert [m["content"] for m in page["messages"]] == ["a", "b", "c"]
    finally:
        live.server.stop()


def test_messages_a_crash_left_uncopied_come_back_from_the_log(tmp_path: Path) -> None:
    live = start_server(tmp_path / "m.db")
    crashed = tmp_path / "crashed.db"
    try:
        _store(live).writer.checkpoint.interval = 3600
        with live.client() as c:
            events = [started(), message(content="x"), message(content="y")]
            assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
            # what a crash leaves on disk: everything committed, the messages not copied
            with sqlite3.connect(live.db) as src, sqlite3.connect(crashed) as dst:
                src.backup(dst)
    finally:
        live.server.stop()
    assert _table(crashed) == []
    reopened = start_server(crashed)
    try:
        assert _table(crashed) == [(1, "assistant", "x"), (2, "assistant", "y")]
        with reopened.client() as c:
            assert c.post("/api/v1/ingest",
                          json={"events": [message(content="z")]}).status_code == 202
            page = c.get("/api/v1/sessions/se-1/messages").json()
            assert [(m["seq"], m["content"]) for m in page["messages"]] == [
                (1, "x"), (2, "y"), (3, "z")]
    finally:
        reopened.server.stop()


def test_pruning_the_log_copies_waiting_messages_first(tmp_path: Path) -> None:
    live = start_server(tmp_path / "m.db", retention=Retention(max_events=5, every_commits=1))
    try:
        _store(live).writer.checkpoint.interval = 3600
        with live.client() as c:
            assert c.post("/api/v1/ingest", json={"events": [started()]}).status_code == 202
            for i in range(1, 11):
                assert c.post("/api/v1/ingest",
                              json={"events": [message(content=f"m{i}")]}).status_code == 202
            assert c.get("/api/v1/events", params={"after": 1}).json()["reset"] is True
            # ids 2-6 (m1-m5) are pruned from the log; their rows must be in the table
            assert {r[2] for r in _table(live.db)} >= {f"m{i}" for i in range(1, 6)}
            page = c.get("/api/v1/sessions/se-1/messages").json()
            assert [m["content"] for m in page["messages"]] == [f"m{i}" for i in range(1, 11)]
    finally:
        live.server.stop()
