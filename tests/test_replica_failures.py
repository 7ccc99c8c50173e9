"""Replicas on one PostgreSQL database under failures an operator does not plan for: the
database restarted under two replicas with a stream and ingest on each, connections killed
from the server side (the tailer's, the leader's lock), a frozen leader, a replica started
mid-ingest, a resume cursor far beyond the log, and a replica folding the log again while
another one appends."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.sqlite import Store

from conftest import ServeProcess, two_replicas
from factories import message, started
from postgres_cluster import Cluster, running_cluster
from replica_helpers import Ingester, LeaderWatch, client, leader_of, leaders, stream_ids
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


def _last_statement(admin: psycopg.Connection[object], database: str,
                    application: str) -> object:
    row = admin.execute(
        "SELECT query_start FROM pg_stat_activity WHERE datname = %s"
        " AND application_name LIKE %s", (database, application + "%")).fetchone()
    assert row is not None
    return row[0]


def _name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


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


@pytest.fixture
def two(database: str) -> Iterator[tuple[ServeProcess, ServeProcess, str]]:
    with two_replicas(database) as pair:
        yield pair


def test_connections_killed_by_the_server_never_leave_two_leaders_or_a_deaf_tailer(
        two: tuple[ServeProcess, ServeProcess, str], database: str, postgres: Cluster) -> None:
    a, b, token = two
    pair = (a, b)
    leader = wait_for(lambda: leader_of(pair, token), 15, what="one leader")
    other = b if leader is a else a
    auth = {"Authorization": f"Bearer {token}"}
    with client(leader.url, token) as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    reader = SseReader(f"{other.url}/api/v1/stream", auth, params={"since": 0}).start()
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        # every tailer's LISTEN connection: the other replica still hears the leader's events
        assert _terminate(admin, _name(database), "agentops tailer") == 2
        with client(leader.url, token) as c:
            for n in range(5):
                c.post("/api/v1/ingest", json={"events": [message(content=f"m{n}")]}
                       ).raise_for_status()
            head = c.get("/api/v1/events").json()["last_event_id"]
        wait_for(lambda: stream_ids(reader)[-1:] == [head], 15,
                 what="the other replica's stream to carry what the leader took after")
        assert stream_ids(reader) == list(range(1, head + 1))

        # the leader's lock connection: the lock goes to the other, never to both at once
        watch = LeaderWatch(pair, token)
        watch.start()
        wait_for(lambda: watch.readings >= 3, 15, what="the leaders to be read")
        # just after it confirmed its lock: the longest it could go on believing it leads
        lock_name = f"agentops replica pid {leader.proc.pid}"
        confirmed = _last_statement(admin, _name(database), lock_name)
        wait_for(lambda: _last_statement(admin, _name(database), lock_name) != confirmed, 15,
                 what="the leader to confirm its lock")
        assert _terminate(admin, _name(database), lock_name) == 1
        try:
            wait_for(lambda: leader_of(pair, token) is other, 20,
                     what="the other replica to take the lead")
        finally:
            watch.stop()
        assert watch.most == 1
    assert "lost the leader lock" in leader.log or "lost the leader lock" in leader.stop()
    reader.stop()


def test_a_frozen_leader_is_replaced_and_knows_it_when_it_wakes(
        two: tuple[ServeProcess, ServeProcess, str]) -> None:
    a, b, token = two
    pair = (a, b)
    leader = wait_for(lambda: leader_of(pair, token), 15, what="one leader")
    other = b if leader is a else a
    leader.proc.send_signal(signal.SIGSTOP)  # a paused VM, a stuck process
    try:
        # its lock connection sits idle: the server closes it and the other takes over
        wait_for(lambda: leaders((other,), token) == [1], 20,
                 what="the other replica to lead while the leader is frozen")
    finally:
        leader.proc.send_signal(signal.SIGCONT)
    watch = LeaderWatch(pair, token)
    watch.start()
    try:
        wait_for(lambda: watch.readings >= 20, 30, what="the leaders to be read after waking")
    finally:
        watch.stop()
    assert watch.most == 1
    assert leaders(pair, token) == [int(r is other) for r in pair]


def test_a_database_restart_under_two_busy_replicas_loses_nothing_and_needs_no_one() -> None:
    with running_cluster() as cluster:  # its own: this one is stopped under the replicas
        database = cluster.new_database()
        token = make_token(database, "admin", "test")
        auth = {"Authorization": f"Bearer {token}"}
        a = ServeProcess("--db", database)
        b = ServeProcess("--db", database)
        pair = (a, b)
        agents: list[Ingester] = []
        watch = LeaderWatch(pair, token)
        try:
            with client(a.url, token) as c:
                c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
            readers = [SseReader(f"{r.url}/api/v1/stream", auth, params={"since": 0}).start()
                       for r in pair]
            agents = [Ingester(r.url, token, tag) for r, tag in ((a, "a"), (b, "b"))]
            for agent in agents:
                agent.start()
            wait_for(lambda: all(len(x.acked) >= 200 for x in agents), 60,
                     what="both replicas to take events")
            watch.start()
            wait_for(lambda: watch.most == 1, 15, what="the leader to be read")
            cluster.stop("immediate")
            wait_for(lambda: all(x.statuses[503] for x in agents), 30,
                     what="both replicas to answer 503 while the database is down")
            with client(b.url, token) as c:
                assert c.get("/api/v1/events", params={"after": 0}).status_code == 503
                assert c.get("/healthz").status_code == 200
            taken = [len(x.acked) for x in agents]
            cluster.start()
            wait_for(lambda: all(len(x.acked) > n + 200
                                 for x, n in zip(agents, taken, strict=True)), 60,
                     what="both replicas to take events again by themselves")
            for agent in agents:
                agent.stop()
            assert [set(x.statuses) - {202, 503} for x in agents] == [set(), set()]

            with psycopg.connect(database) as conn:
                stored = {r[0] for r in conn.execute(
                    "SELECT event_key FROM events WHERE event_key IS NOT NULL")}
                head = conn.execute("SELECT head FROM log_head").fetchone()[0]
            assert {k for x in agents for k in x.acked} <= stored
            for reader in readers:
                wait_for(lambda r=reader: stream_ids(r)[-1:] == [head], 30,
                         what="each replica's stream to reach the head")
                assert stream_ids(reader) == list(range(1, head + 1))  # no gap, nothing twice
            wait_for(lambda: leader_of(pair, token), 20, what="one leader again")

            # idle through a second restart: their first requests after it are answered
            cluster.stop("immediate")
            cluster.start()
            for replica in pair:
                with client(replica.url, token) as c:
                    log_page = c.get("/api/v1/events", params={"after": head - 1})
                    assert log_page.status_code == 200, log_page.text
                    messages = c.get("/api/v1/sessions/se-1/messages")
                    assert messages.status_code == 200, messages.text
                    r = c.post("/api/v1/ingest", json={"events": [message(content="after")]})
                    assert r.status_code == 202, r.text
        finally:
            watch.stop()
            for agent in agents:
                agent.stop()
            logs = [r.stop() for r in pair]
        assert watch.most == 1  # never two at once
        assert all(" 500 " not in log for log in logs)


def test_a_replica_started_mid_ingest_streams_the_whole_log_once(database: str) -> None:
    token = make_token(database, "admin", "test")
    first = ServeProcess("--db", database)
    agents: list[Ingester] = []
    late: ServeProcess | None = None
    try:
        with client(first.url, token) as c:
            c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        agents = [Ingester(first.url, token, f"a{n}", batch=20) for n in range(3)]
        for agent in agents:
            agent.start()
        wait_for(lambda: sum(len(x.acked) for x in agents) >= 3000, 60,
                 what="the first replica to be busy")
        late = ServeProcess("--db", database)  # folds the log while it keeps growing
        reader = SseReader(f"{late.url}/api/v1/stream",
                           {"Authorization": f"Bearer {token}"}, params={"since": 0}).start()
        agents.append(Ingester(late.url, token, "late", batch=20))
        agents[-1].start()
        wait_for(lambda: len(agents[-1].acked) >= 1000, 60, what="the late replica to ingest")
        for agent in agents:
            agent.stop()
        with client(first.url, token) as c:
            head = c.get("/api/v1/events").json()["last_event_id"]
        wait_for(lambda: stream_ids(reader)[-1:] == [head], 30,
                 what="the late replica's stream to reach the head")
        assert stream_ids(reader) == list(range(1, head + 1))
        acked = sum(len(x.acked) for x in agents)
        with client(late.url, token) as c:
            assert c.get("/api/v1/sessions/se-1").json()["messages"] == acked
    finally:
        for agent in agents:
            agent.stop()
        if late is not None:
            late.stop()
        first.stop()


def test_a_cursor_far_beyond_the_log_gets_a_reset_on_a_replica(
        two: tuple[ServeProcess, ServeProcess, str]) -> None:
    a, b, token = two
    with client(a.url, token) as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    with client(b.url, token) as c:
        wait_for(lambda: c.get("/api/v1/events").json()["last_event_id"] == 1, 15,
                 what="the other replica to apply the event")
    reader = SseReader(f"{b.url}/api/v1/stream",
                       {"Authorization": f"Bearer {token}", "Last-Event-ID": str(10**12)}
                       ).start()
    [frame] = reader.wait_for(1, timeout=20)  # after the wait for a tailer that never gets there
    assert frame.event == "reset" and frame.id == "1"
    assert frame.data["cursor"] == 10**12 and frame.data["last_event_id"] == 1
    reader.stop()
    with client(b.url, token) as c:  # beyond any id: refused at once
        r = c.get("/api/v1/stream", headers={"Last-Event-ID": str(2**63)})
        assert r.status_code == 422 and "Last-Event-ID" in r.json()["error"]["message"]


def test_a_replica_frozen_inside_a_group_commit_does_not_stop_the_others_writing(
        two: tuple[ServeProcess, ServeProcess, str], database: str) -> None:
    a, b, token = two
    with client(a.url, token) as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    frozen: list[httpx.Response] = []
    with psycopg.connect(database, autocommit=True) as blocker:
        # a row with the key B is about to append, not committed yet: B's group waits for it
        # with the log's counter row locked, and freezes as soon as it goes on
        blocker.execute("BEGIN")
        blocker.execute("INSERT INTO events (id, workspace, type, ts, event_key, data)"
                        " VALUES (%s, 'default', 'session.message', 0, 'held', '{}')",
                        (2**62,))
        blocked_by = blocker.info.backend_pid

        def post_to_b() -> None:
            with client(b.url, token) as c:
                frozen.append(c.post("/api/v1/ingest", json={"events": [
                    message(content="held", event_key="held")]}))

        posting = threading.Thread(target=post_to_b)
        posting.start()
        wait_for(lambda: blocker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            (blocked_by,)).fetchone() == (1,), 15, what="B's group to wait for the key")
        b.proc.send_signal(signal.SIGSTOP)
        try:
            blocker.execute("ROLLBACK")
            wait_for(lambda: blocker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND state = 'idle in transaction'", (_name(database),)).fetchone() == (1,),
                15, what="B's group to wait, frozen, with the counter row locked")
            with httpx.Client(base_url=a.url, headers={"Authorization": f"Bearer {token}"},
                              timeout=60) as c:
                r = c.post("/api/v1/ingest", json={"events": [message(content="on A")]})
            assert r.status_code == 202, r.text
        finally:
            b.proc.send_signal(signal.SIGCONT)
        posting.join(30)
    [answer] = frozen
    assert answer.status_code == 503, answer.text  # its transaction was ended: not written
    with client(b.url, token) as c:
        again = c.post("/api/v1/ingest", json={"events": [
            message(content="held", event_key="held")]})
        assert again.status_code == 202 and again.json()["accepted"] == 1, again.text
    with psycopg.connect(database) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
    assert ids == list(range(1, len(ids) + 1)) and len(ids) == 3


def test_state_read_after_a_restart_that_failed_a_write_is_the_whole_log() -> None:
    """A write that failed while the database was down leaves memory to be folded again
    from the log; on a replica that does not lead (no checkpoint timer heals it), a read of
    the current state after the database is back folds it first (the checkpointed tables
    alone would leave out the newest events), and is answered."""
    with running_cluster() as cluster:  # its own: this one is stopped under the replicas
        database = cluster.new_database()
        token = make_token(database, "operator", "agent")
        leader = ServeProcess("--db", database)  # leads: it started first
        # no token to look up: the write reaches the writer while the database is down
        other = ServeProcess("--db", database, "--no-auth")
        try:
            with client(other.url, token) as c:
                c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
                c.post("/api/v1/ingest", json={"events": [
                    message(content=f"m{n}") for n in range(5)]}).raise_for_status()
                cluster.stop("immediate")
                down = c.post("/api/v1/ingest", json={"events": [message(content="down")]})
                assert down.status_code == 503, down.text
                cluster.start()
                snapshot = c.get("/api/v1/snapshot")
                assert snapshot.status_code == 200, snapshot.text
                assert snapshot.json()["last_event_id"] == 6
                [live] = snapshot.json()["sessions"]
                assert live["messages"] == 5  # as of its last_event_id
                page = c.get("/api/v1/sessions/se-1/messages")
                assert page.status_code == 200, page.text
                assert [m["content"] for m in page.json()["messages"]] == [
                    f"m{n}" for n in range(5)]
        finally:
            log = other.stop()
            leader.stop()
        assert "write failed" in log  # the group of the write refused while it was down
