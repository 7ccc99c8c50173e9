"""The console's client against real servers: it stays identical to the backend's state
through bursts, a server that dies and comes back, a stream cap, retention resets and bad
tokens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentops_tui.client.connection import Connection
from agentops_tui.client.stream import ConnectionStatus
from agentops_tui.server import embedded
from agentops_tui.server.auth import hash_token
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer
from agentops_tui.server.store.sqlite import Retention

from conftest import LiveServer, start_server
from factories import agent, message, started, usage
from waiting import until


def _same_as_server(conn: Connection, live: LiveServer) -> None:
    with live.client() as c:
        snap = c.get("/api/v1/snapshot").json()
    fleet = conn.state.fleet
    assert fleet.last_event_id == snap["last_event_id"]
    assert {a["id"]: a for a in snap["agents"]} == {
        k: a.model_dump() for k, a in fleet.agents.items()}
    assert {s["id"]: s for s in snap["sessions"]} == {
        k: s.model_dump() for k, s in fleet.sessions.items()}


async def _ingest(live: LiveServer, *events: dict[str, object]) -> None:
    def post() -> None:
        with live.client() as c:
            r = c.post("/api/v1/ingest", json={"events": list(events)})
            assert r.status_code == 202, r.text

    await asyncio.to_thread(post)


async def test_state_matches_the_server_after_a_burst(live: LiveServer) -> None:
    await _ingest(live, agent("a1"), started("s1", "a1"))
    conn = Connection(live.url, live.token)
    task = asyncio.create_task(conn.run())
    try:
        await until(lambda: conn.status.state == "live", what="live")
        for i in range(20):
            await _ingest(live, *[message("s1", f"m{i}-{j}") for j in range(20)],
                          usage("s1", 100, 10), started(f"s{i + 2}", f"a{i % 3}"))
        with live.client() as c:
            head = c.get("/api/v1/snapshot").json()["last_event_id"]
        await until(lambda: conn.state.last_event_id == head, what="caught up")
        _same_as_server(conn, live)
        assert conn.state.snapshots == 1
    finally:
        await conn.close()
        task.cancel()


async def test_reconnect_after_the_server_dies_misses_nothing(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "r.db")
    port = srv.server.port
    statuses: list[str] = []
    conn = Connection(srv.url, srv.token)
    conn.on_status = lambda s: statuses.append(s.state)
    task = asyncio.create_task(conn.run())
    try:
        await _ingest(srv, agent("a1"), started("s1", "a1"))
        await until(lambda: "s1" in conn.state.fleet.sessions, what="first events")
        srv.server.stop()  # mid-stream
        await until(lambda: conn.status.state in ("reconnecting", "polling", "offline"),
                     what="noticed the drop")
        restarted = EmbeddedServer(ServerSettings(db_path=srv.db), port=port)
        restarted.start()
        srv.server = restarted
        await _ingest(srv, *[message("s1", f"after {i}") for i in range(30)])
        await until(lambda: conn.state.fleet.sessions["s1"].messages == 30, timeout=30,
                     what="the events written while away")
        await until(lambda: conn.status.state == "live", timeout=30, what="live again")
        _same_as_server(conn, srv)
        assert statuses[0] == "live" and "reconnecting" in statuses and statuses[-1] == "live"
        assert conn.state.snapshots == 1  # resumed by id, no re-snapshot needed
    finally:
        await conn.close()
        task.cancel()
        srv.server.stop()


async def test_polling_when_streams_are_refused(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "p.db", max_stream_clients=0)
    conn = Connection(srv.url, srv.token)
    task = asyncio.create_task(conn.run())
    try:
        await _ingest(srv, agent("a1"), started("s1", "a1"))
        await until(lambda: conn.status.state == "polling", timeout=30, what="polling")
        await _ingest(srv, message("s1", "by polling"))
        await until(lambda: conn.state.fleet.sessions.get("s1") is not None
                     and conn.state.fleet.sessions["s1"].messages == 1, what="polled events")
        _same_as_server(conn, srv)
    finally:
        await conn.close()
        task.cancel()
        srv.server.stop()


async def test_polling_waits_out_a_rate_limit(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "r.db", max_stream_clients=0, expensive_reads_per_minute=2)
    conn = Connection(srv.url, srv.token)
    task = asyncio.create_task(conn.run())
    try:
        await until(lambda: "limits log reads" in (conn.status.detail or ""), timeout=30,
                     what="the rate limit named")
        assert conn.status.state == "polling"  # not offline: it pages again when allowed
        assert conn.status.retry_in is not None and 1 <= conn.status.retry_in <= 60
    finally:
        await conn.close()
        task.cancel()
        srv.server.stop()


async def test_reset_takes_a_new_snapshot(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "x.db", retention=Retention(max_events=5, every_commits=1))
    conn = Connection(srv.url, srv.token)
    try:
        await _ingest(srv, agent("a1"), started("s1", "a1"))
        conn.state.load(await conn.api.snapshot())
        for i in range(15):
            await _ingest(srv, message("s1", f"m{i}"))
        task = asyncio.create_task(conn.run())  # its cursor is now older than the log
        await until(lambda: conn.state.snapshots >= 2, what="a re-snapshot")
        await until(lambda: conn.status.state == "live", what="live")
        _same_as_server(conn, srv)
        task.cancel()
    finally:
        await conn.close()
        srv.server.stop()


async def test_bad_token_is_offline_not_a_retry_loop(live: LiveServer) -> None:
    seen: list[ConnectionStatus] = []
    conn = Connection(live.url, "aot_wrong")
    conn.on_status = seen.append
    await asyncio.wait_for(conn.run(), 10)  # returns: nothing to retry
    assert conn.status.state == "offline"
    assert "token rejected" in str(conn.status.detail) and live.url in str(conn.status.detail)
    await conn.close()


async def test_unreachable_backend_is_named(tmp_path: Path) -> None:
    conn = Connection("http://127.0.0.1:9", "t")
    task = asyncio.create_task(conn.run())
    try:
        await until(lambda: conn.status.state in ("reconnecting", "offline"), what="status")
        assert "127.0.0.1:9" in str(conn.status.detail)
    finally:
        await conn.close()
        task.cancel()


async def test_the_token_role_is_asked_on_connect_and_after_a_restart(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "w.db")
    port = srv.server.port
    token = srv.token_for("operator", name="night shift")
    conn = Connection(srv.url, token)
    task = asyncio.create_task(conn.run())
    try:
        await until(lambda: conn.status.state == "live", what="live")
        assert conn.identity is not None and conn.role == "operator"
        assert (conn.identity.name, conn.identity.workspace) == ("night shift", "default")
        srv.server.stop()
        await until(lambda: conn.status.state != "live", what="noticed the drop")
        # while it was down, the token was demoted: the console must learn it on reconnect
        db = sqlite3.connect(srv.db)
        with db:
            db.execute("UPDATE tokens SET role = 'viewer' WHERE hash = ?", (hash_token(token),))
        db.close()
        restarted = EmbeddedServer(ServerSettings(db_path=srv.db), port=port)
        restarted.start()
        srv.server = restarted
        await until(lambda: conn.status.state == "live", timeout=30, what="live again")
        assert conn.role == "viewer"
    finally:
        await conn.close()
        task.cancel()
        srv.server.stop()


class _WithoutWhoami:
    """The server as one built before `/api/v1/whoami` existed answers it: a 404."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path") == "/api/v1/whoami":
            scope = {**scope, "path": "/api/v1/no-such-route", "raw_path": b""}
        await self.app(scope, receive, send)


async def test_a_server_without_whoami_leaves_the_role_unknown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = embedded.create_app
    monkeypatch.setattr(embedded, "create_app", lambda settings: _WithoutWhoami(real(settings)))
    srv = start_server(tmp_path / "old.db")
    conn = Connection(srv.url, srv.token_for("viewer"))
    task = asyncio.create_task(conn.run())
    try:
        with srv.client() as c:
            r = c.get("/api/v1/whoami")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        await until(lambda: conn.status.state == "live", what="live without /whoami")
        assert conn.identity is None and conn.role is None
    finally:
        await conn.close()
        task.cancel()
        srv.server.stop()


# Answers the client still hands over as JSON; each says why.
UNTYPED_ON_PURPOSE = {
    "request": "the raw response, for the calls that read text (the audit export)",
}


def test_client_methods_return_typed_models() -> None:
    """No public call of `ApiClient` returns a bare dict or Any: what the server says arrives
    as the model both sides share (or a client record), so a renamed field fails here."""
    import inspect
    import typing

    from agentops_tui.client.api import ApiClient

    untyped = []
    for name, method in inspect.getmembers(ApiClient, inspect.iscoroutinefunction):
        if name.startswith("_") or name in UNTYPED_ON_PURPOSE:
            continue
        returned = typing.get_type_hints(method)["return"]
        loose = (returned is Any or typing.get_origin(returned) is dict or returned is dict
                 or any(a is Any or typing.get_origin(a) is dict
                        for a in typing.get_args(returned)))
        if loose:
            untyped.append(f"{name} -> {returned}")
    assert untyped == []


async def test_typed_answers_from_a_real_server(live: LiveServer) -> None:
    from agentops_tui.client.api import ApiClient

    await _ingest(live, agent("ag-1"), started("se-1"),
                  agent("ag-otel", capabilities=["pause"]), started("se-2", "ag-otel"),
                  {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
                   "summary": "ship it?"},
                  {"type": "approval.requested", "approval_id": "ap-2", "session_id": "se-1",
                   "summary": "delete the branch?"})
    api = ApiClient(live.url, live.token)
    try:
        assert (await api.health()).status == "ok"
        page = await api.events(after=0, limit=3)
        assert [e.type for e in page.events][:2] == ["agent.registered", "session.started"]
        assert page.has_more and not page.reset and page.last_event_id >= page.events[-1].id
        approved = await api.approve("ap-1", "fine")
        assert (approved.id, approved.status, approved.note) == ("ap-1", "approved", "fine")
        rejected = await api.reject("ap-2", "keep it")
        assert (rejected.status, rejected.note) == ("rejected", "keep it")
        engine = await api.alert_engine()
        assert engine.evaluations >= 0 and "budget" in engine.settings
        killed = await api.killswitch()
        assert [c.session_id for c in killed.commands] == ["se-1"]
        assert [(s.session_id, s.agent_id) for s in killed.skipped] == [("se-2", "ag-otel")]
        assert killed.skipped[0].reason
    finally:
        await api.close()
