"""Two `agentops serve` replicas on one real PostgreSQL database: one ordered log seen by
both streams, resume on the other replica, a pause reaching an agent polling the other one,
dequeues handing each task out once, one leader, and a new leader after a SIGKILL."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from agentops_tui.server.store.database_url import parse
from agentops_tui.server.store.db_copy import copy_database
from agentops_tui.server.store.db_lock import DatabaseInUse
from agentops_tui.server.store.sqlite import Store

from conftest import ServeProcess
from factories import message, started, usage
from postgres_cluster import Cluster
from replica_helpers import client, metric
from sse import SseReader
from waiting import wait_for


def _leader(url: str, token: str) -> int:
    return int(metric(url, token, "agentops_leader"))


def test_both_streams_carry_every_event_in_the_same_order_and_resume_across(
        replicas: tuple[ServeProcess, ServeProcess, str]) -> None:
    a, b, token = replicas
    auth = {"Authorization": f"Bearer {token}"}
    readers = [SseReader(f"{s.url}/api/v1/stream", auth, params={"since": 0}).start()
               for s in (a, b)]
    with client(a.url, token) as ca, client(b.url, token) as cb:
        ca.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()

        def ingest(c: httpx.Client, tag: str) -> None:
            for n in range(30):
                c.post("/api/v1/ingest", json={"events": [
                    *(message(content=f"{tag}{n}-{k}") for k in range(4)),
                    usage(inp=1000, out=10)]}).raise_for_status()

        writers = [threading.Thread(target=ingest, args=(c, tag))
                   for c, tag in ((ca, "a"), (cb, "b"))]
        for w in writers:
            w.start()
        for w in writers:
            w.join(60)
        head = max(ca.get("/api/v1/events").json()["last_event_id"],
                   cb.get("/api/v1/events").json()["last_event_id"])
        assert head >= 301
        for reader in readers:
            wait_for(lambda r=reader: r.frames and r.frames[-1].id == str(head), 15,
                     what="each replica's stream to reach the head")
        streams = [[int(f.id) for f in r.frames if f.id] for r in readers]
        assert streams[0] == streams[1] == list(range(1, head + 1))
        for reader in readers:
            reader.stop()
        # both replicas checkpoint into the same tables: counted once, whoever wrote them
        for c in (ca, cb, ca):
            assert c.get("/api/v1/sessions/se-1").json()["messages"] == 240
        costs = [c.get("/api/v1/costs", params={"group_by": "agent"}).json()
                 for c in (ca, cb, ca, cb)]
        assert costs[0]["rows"][0]["input_tokens"] == 60 * 1000
        assert costs[0] == costs[1] == costs[2] == costs[3]
        for s in (a, b):
            assert metric(s.url, token, "agentops_tailer_lag_events") == 0

        # a console that read up to the middle on A resumes on B: no gap, nothing twice
        middle = head // 2
        resumed = SseReader(f"{b.url}/api/v1/stream",
                            {**auth, "Last-Event-ID": str(middle)}).start()
        ca.post("/api/v1/ingest", json={"events": [message(content="after")]}
                ).raise_for_status()
        wait_for(lambda: resumed.frames and resumed.frames[-1].id == str(head + 1), 15,
                 what="the resumed stream to reach the new head")
        ids = [int(f.id) for f in resumed.frames if f.id]
        assert ids == list(range(middle + 1, head + 2))
        assert all(f.event != "reset" for f in resumed.frames)
        resumed.stop()

        # a cursor B has not reached yet (A handed it out a moment ago): B waits, no reset
        ahead = SseReader(f"{b.url}/api/v1/stream",
                          {**auth, "Last-Event-ID": str(head + 3)}).start()
        ca.post("/api/v1/ingest", json={"events": [message(content=f"x{n}") for n in range(3)]}
                ).raise_for_status()
        ca.post("/api/v1/ingest", json={"events": [message(content="y")]}).raise_for_status()
        wait_for(lambda: ahead.frames and ahead.frames[-1].id == str(head + 5), 15,
                 what="the stream resumed ahead to go on from its cursor")
        assert [int(f.id) for f in ahead.frames if f.id] == [head + 4, head + 5]
        ahead.stop()

        # the agent's message stream (the seed path) waits for its tailer the same way
        open_before = metric(b.url, token, "agentops_stream_clients")
        messages_ahead = SseReader(f"{b.url}/agents/ag-1/messages/stream",
                                   {**auth, "Last-Event-ID": str(head + 6)}).start()
        # the request has reached B (its stream is open) before A appends what it waits for
        wait_for(lambda: metric(b.url, token, "agentops_stream_clients") > open_before, 10,
                 what="the message stream to be open on B")
        ca.post("/api/v1/ingest", json={"events": [message(content="m1"), message(content="m2")]}
                ).raise_for_status()
        wait_for(lambda: messages_ahead.frames and messages_ahead.frames[-1].id == str(head + 7),
                 15, what="the agent's message stream resumed ahead to go on from its cursor")
        assert [int(f.id) for f in messages_ahead.frames if f.id] == [head + 7]
        assert all(f.event != "reset" for f in messages_ahead.frames)
        messages_ahead.stop()


def test_a_pause_on_a_reaches_the_agent_polling_b_and_tasks_go_out_once(
        replicas: tuple[ServeProcess, ServeProcess, str]) -> None:
    a, b, token = replicas
    with client(a.url, token) as ca, client(b.url, token) as cb:
        ca.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        wait_for(lambda: cb.get("/api/v1/sessions/se-1").status_code == 200, 15,
                 what="B to see the session")
        polled: list[httpx.Response] = []
        agent = threading.Thread(target=lambda: polled.append(
            cb.get("/api/v1/agents/ag-1/commands", params={"wait": 10})))
        agent.start()
        wait_for(lambda: metric(b.url, token, "agentops_long_poll_waiters") == 1, 10,
                 what="the agent's long poll to wait on B")
        r = ca.post("/api/v1/sessions/se-1/pause")
        assert r.status_code == 202, r.text
        agent.join(30)
        [answer] = polled
        assert answer.status_code == 200, answer.text
        assert [c["action"] for c in answer.json()["commands"]] == ["pause"]

        q = ca.post("/api/v1/work-queues", json={"name": "triage", "teamId": "eng"}).json()["id"]
        for n in range(10):
            ca.post(f"/api/v1/work-queues/{q}/tasks", json={"name": f"t{n}"}).raise_for_status()
        results: list[tuple[int, str | None]] = []
        barrier = threading.Barrier(16)

        def worker(n: int) -> None:
            with client((a, b)[n % 2].url, token) as c:
                barrier.wait()
                got = c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": f"ag-{n}"})
                results.append((got.status_code,
                                got.json()["id"] if got.status_code == 200 else None))

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        taken = [tid for code, tid in results if code == 200]
        assert len(results) == 16 and len(taken) == 10 and len(set(taken)) == 10
        assert sorted(code for code, _ in results).count(204) == 6


def test_one_replica_leads_and_another_takes_over_when_it_is_killed(
        replicas: tuple[ServeProcess, ServeProcess, str]) -> None:
    a, b, token = replicas
    wait_for(lambda: _leader(a.url, token) + _leader(b.url, token) == 1, 15,
             what="exactly one leader")
    leader, other = (a, b) if _leader(a.url, token) else (b, a)
    # spend ingested on the replica that does not lead is seen by the leader's alert rules
    # (a first report on the leader has it keep the spend feeds it then adds to)
    now = time.time()
    with client(leader.url, token) as c:
        c.post("/api/v1/ingest", json={"events": [
            started(ts=now), usage(inp=1000, out=0, ts=now)]}).raise_for_status()
    with client(other.url, token) as c:
        wait_for(lambda: c.get("/api/v1/sessions/se-1").status_code == 200, 15,
                 what="the other replica to see the session")
        c.post("/api/v1/ingest", json={"events": [usage(inp=1_000_000, out=0, ts=now)]}
               ).raise_for_status()
    with client(leader.url, token) as c:
        wait_for(lambda: [x["rule"] for x in c.get("/api/v1/alerts").json()["alerts"]]
                 == ["runaway_cost"], 15, what="the leader to raise the alert")
        # a command the agent never acknowledges, issued on the leader just before it dies
        pause = c.post("/api/v1/sessions/se-1/pause")
        assert pause.status_code == 202, pause.text
        command_id = pause.json()["id"]
    leader.proc.send_signal(signal.SIGKILL)
    leader.proc.wait(10)
    wait_for(lambda: _leader(other.url, token) == 1, 15, what="the other replica to lead")
    with client(other.url, token) as c:
        # the new leader's expiry job ends it, once
        def expired() -> list[dict[str, object]]:
            events = c.get("/api/v1/events", params={"after": 0, "types": "command.updated"}
                           ).json()["events"]
            return [e for e in events if e["data"].get("id") == command_id
                    and e["data"].get("status") == "expired"]
        wait_for(expired, 15, what="the command to expire on the new leader")
        assert len(expired()) == 1


def test_db_copy_refuses_a_database_a_replica_is_connected_to(
        postgres: Cluster, tmp_path: Path) -> None:
    source = tmp_path / "agentops.db"
    Store(source).close()
    target = postgres.new_database()
    replica = Store(target)
    try:
        replica.lock.announce("http://127.0.0.1:8787")
        with pytest.raises(DatabaseInUse, match="in use by agentops replica pid"):
            copy_database(parse(f"sqlite://{source}"), parse(target))
    finally:
        replica.close()
