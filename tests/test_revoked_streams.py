"""A revoked token's open streams end: no frame for what happens after the revocation."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agentops_tui.server import auth

from conftest import LiveServer, start_server
from factories import message, started
from sse import SseReader
from waiting import wait_for


@pytest.fixture
def slow_heartbeat(tmp_path: Path) -> Iterator[LiveServer]:
    """The default 15 s keep-alive: the stream must end on waking to send, not by idling."""
    srv = start_server(tmp_path / "agentops.db")
    try:
        yield srv
    finally:
        srv.server.stop()


def _revoke(live: LiveServer, name: str) -> None:
    """As `agentops token revoke` does it: another connection to the database."""
    conn = sqlite3.connect(live.db)
    try:
        [row] = [r for r in auth.list_tokens(conn) if r["name"] == name]
        assert auth.revoke_token(conn, str(row["id"]))
    finally:
        conn.close()


def _keep_sending(live: LiveServer, reader: SseReader, send: Callable[[httpx.Client, int], str],
                  revoked_at: float) -> dict[str, float]:
    """Send every 0.2 s until the stream ends (or 5 s): each key with when its request began."""
    began: dict[str, float] = {}
    with live.client() as c:
        for i in range(25):
            start = time.monotonic()
            began[send(c, i)] = start
            if reader.wait_closed(0.2):
                break
    assert reader.closed_at is not None, "the stream is still open 5 s after the revocation"
    assert reader.closed_at - revoked_at < 2.0, reader.closed_at - revoked_at
    return began


@pytest.mark.parametrize("path", ["/api/v1/stream", "/api/v1/agents/ag-1/commands"])
def test_a_revoked_tokens_stream_ends(slow_heartbeat: LiveServer, path: str) -> None:
    live = slow_heartbeat
    token = live.token_for("operator", name="watcher")
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()

    def send(c: httpx.Client, i: int) -> str:
        if path == "/api/v1/stream":
            c.post("/api/v1/ingest", json={"events": [message(content=f"m{i}")]}
                   ).raise_for_status()
            return f"m{i}"
        r = c.post("/api/v1/sessions/se-1/inject", json={"message": f"m{i}"})
        r.raise_for_status()
        return str(r.json()["id"])

    def key(data: dict[str, object]) -> str:
        return str(data["content"] if path == "/api/v1/stream" else data["id"])

    reader = SseReader(live.url + path, {"Authorization": f"Bearer {token}"}).start()
    wait_for(lambda: live.open_streams() == 1, what="the stream to subscribe")
    with live.client() as c:
        first = send(c, -1)
    assert [key(f.data) for f in reader.wait_for(1)] == [first]

    _revoke(live, "watcher")
    revoked_at = time.monotonic()
    began = _keep_sending(live, reader, send, revoked_at)
    late = [key(f.data) for f in reader.frames if began.get(key(f.data), 0) > revoked_at + 1.0]
    assert late == [], "frames for events committed over a second after the revocation"
    assert reader.error is None
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as c:
        with c.stream("GET", path) as again:
            assert again.status_code == 401
