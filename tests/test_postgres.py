"""`agentops serve` on a real PostgreSQL: ingest, the stream, a server killed mid-ingest, a
retried batch, the database restarted under it, values PostgreSQL cannot store."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.sqlite import Store

from conftest import ServeProcess
from factories import agent, message, started
from postgres_cluster import Cluster, running_cluster
from sse import SseReader
from waiting import wait_for


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
def database(postgres: Cluster) -> str:
    return postgres.new_database()


@pytest.fixture
def served(database: str) -> Iterator[tuple[ServeProcess, str]]:
    token = make_token(database, "admin", "test")
    server = ServeProcess("--db", database)
    try:
        yield server, token
    finally:
        server.stop()


def test_serve_ingests_streams_and_deduplicates_a_retried_batch(
        served: tuple[ServeProcess, str], database: str) -> None:
    server, token = served
    assert "postgresql://" in server.log  # says what it serves
    reader = SseReader(f"{server.url}/api/v1/stream", {"Authorization": f"Bearer {token}"},
                       params={"since": 0}).start()
    with _client(server.url, token) as c:
        assert c.post("/api/v1/ingest", json={"events": [agent(), started()]}).status_code == 202
        batch = {"events": [message(content=f"m{n}", event_key=f"k{n}") for n in range(50)]}
        first = c.post("/api/v1/ingest", json=batch)
        assert first.status_code == 202 and first.json()["accepted"] == 50
        again = c.post("/api/v1/ingest", json=batch)  # the 202 was lost: the agent retries
        assert again.status_code == 202
        assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 50
        head = c.get("/api/v1/events").json()["last_event_id"]
        wait_for(lambda: reader.frames and reader.frames[-1].id == str(head), 15,
                 what="the stream to reach the head")
        ids = [int(f.id) for f in reader.frames if f.id]
        assert ids == list(range(1, head + 1))  # in order, no gap, nothing twice
        session = c.get("/api/v1/sessions/se-1").json()
        assert session["messages"] == 50
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT head FROM log_head").fetchone()[0] == head
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == head


def test_values_postgresql_cannot_store_are_422_alone(served: tuple[ServeProcess, str]) -> None:
    server, token = served
    with _client(server.url, token) as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        nul = c.post("/api/v1/ingest", json={"events": [message(content="a\x00b")]})
        assert nul.status_code == 422, nul.text
        assert "NUL" in nul.json()["error"]["message"]
        key = c.post("/api/v1/ingest", json={"events": [message(event_key="k\x00")]})
        assert key.status_code == 422, key.text
        big = c.post("/api/v1/ingest", json={"events": [
            {"type": "session.usage", "session_id": "se-1", "input_tokens": 2**63}]})
        assert big.status_code == 422, big.text
        assert c.post("/api/v1/ingest", json={"events": [message()]}).status_code == 202
        assert c.get("/api/v1/sessions/se-1").json()["messages"] == 1
        # and the state checkpoint, which holds the messages' text, is still written
        page = c.get("/api/v1/sessions/se-1/messages").json()["messages"]
        assert [m["content"] for m in page] == ["hello"]


def test_acknowledged_events_survive_sigkill(database: str) -> None:
    token = make_token(database, "operator", "agent")
    server = ServeProcess("--db", database)
    acked: list[str] = []
    try:
        with _client(server.url, token) as c:
            c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()

        def writer(n: int) -> None:  # several agents writing while the server dies
            with _client(server.url, token) as c:
                for i in range(100_000):
                    keys = [f"w{n}-b{i}-{j}" for j in range(20)]
                    try:
                        r = c.post("/api/v1/ingest", json={"events": [
                            message(content=k, event_key=k) for k in keys]})
                    except httpx.TransportError:
                        return
                    if r.status_code == 202:
                        acked.extend(keys)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 2000, 60, what="2000 acknowledged events")
        os.kill(server.proc.pid, signal.SIGKILL)  # mid-flight
        for t in threads:
            t.join(timeout=20)
    finally:
        server.stop()
    with psycopg.connect(database) as conn:
        stored = {r[0] for r in conn.execute(
            "SELECT event_key FROM events WHERE event_key IS NOT NULL")}
        assert set(acked) <= stored
        ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
        assert ids == list(range(1, len(ids) + 1))  # no gap
        assert conn.execute("SELECT head FROM log_head").fetchone()[0] == ids[-1]
    Store(database).close()  # a restart folds what the crash left out of the tables
    with psycopg.connect(database) as conn:
        contents = {r[0] for r in conn.execute("SELECT content FROM messages")}
        assert set(acked) <= contents
        count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        data = conn.execute("SELECT data FROM sessions WHERE id = 'se-1'").fetchone()[0]
        assert f'"messages":{count}' in data


def test_a_database_restart_gives_503s_then_recovers_by_itself() -> None:
    with running_cluster() as cluster:  # its own: this one is stopped under the server
        database = cluster.new_database()
        token = make_token(database, "operator", "agent")
        server = ServeProcess("--db", database)
        try:
            with _client(server.url, token) as c:
                c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
                before = c.post("/api/v1/ingest", json={"events": [message(content="before")]})
                assert before.status_code == 202
                cluster.stop("immediate")
                down = c.post("/api/v1/ingest", json={"events": [message(content="down")]})
                assert down.status_code == 503, down.text
                assert down.json()["error"]["code"] == "store_unavailable"
                read = c.get("/api/v1/events", params={"after": 0})
                assert read.status_code == 503, read.text
                assert c.get("/healthz").status_code == 200  # liveness only
                cluster.start()

                def written() -> bool:
                    r = c.post("/api/v1/ingest", json={"events": [
                        message(content="after", event_key="after")]})
                    return r.status_code == 202

                wait_for(written, 30, what="ingest to recover after the restart")
                events = c.get("/api/v1/events", params={"after": 0}).json()["events"]
                contents = [e["data"].get("content") for e in events]
                assert "before" in contents and "after" in contents
                ids = [e["id"] for e in events]
                assert ids == list(range(1, len(ids) + 1))
                messages = c.get("/api/v1/sessions/se-1/messages").json()
                assert [m["content"] for m in messages["messages"]][-1] == "after"
        finally:
            log = server.stop()
        assert "Traceback" not in log or "store_unavailable" not in log


def test_two_stores_share_the_database_and_one_leads(database: str) -> None:
    first = Store(database)
    try:
        second = Store(database)  # a replica: allowed, and it does not lead
        try:
            assert first.is_leader and not second.is_leader
        finally:
            second.close()
    finally:
        first.close()
