"""SSE: replay, resume, filters, heartbeat, reset — over a real socket."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from agentops_tui.server.store.sqlite import Retention

from conftest import LiveServer, start_server
from factories import agent, message, started, usage
from sse import SseReader
from waiting import wait_for


def _ingest(c: httpx.Client, *events: dict[str, object]) -> dict[str, int]:
    r = c.post("/api/v1/ingest", json={"events": list(events)})
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def _auth(live: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token}"}


def test_replay_then_live_without_gaps(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, agent(), started(), message(content="one"))
        reader = SseReader(f"{live.url}/api/v1/stream", _auth(live), {"since": 0}).start()
        frames = reader.wait_for(3)
        assert [f.event for f in frames] == ["agent.registered", "session.started",
                                              "session.message"]
        for i in range(50):
            _ingest(c, message(content=f"live {i}"))
        frames = reader.wait_for(53)
        reader.stop()
    ids = [int(f.id) for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 53
    assert ids == list(range(1, 54))
    assert reader.retry == 2000


def test_resume_with_last_event_id_header(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, started(), *[message(content=str(i)) for i in range(10)])
        headers = {**_auth(live), "Last-Event-ID": "6"}
        reader = SseReader(f"{live.url}/api/v1/stream", headers).start()
        frames = reader.wait_for(5)
        reader.stop()
    assert [int(f.id) for f in frames] == [7, 8, 9, 10, 11]


def test_live_only_without_cursor(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, started(), message(content="old"))
        reader = SseReader(f"{live.url}/api/v1/stream", _auth(live)).start()
        wait_for(lambda: live.open_streams() == 1, what="the stream to subscribe")
        _ingest(c, message(content="new"))
        frames = reader.wait_for(1)
        reader.stop()
    assert frames[0].data["content"] == "new"


def test_type_and_session_filters(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, started("a"), started("b"), message("a", "for a"), message("b", "for b"),
                usage("a"))
        r1 = SseReader(f"{live.url}/api/v1/stream", _auth(live),
                       {"since": 0, "session": "b"}).start()
        r2 = SseReader(f"{live.url}/api/v1/stream", _auth(live),
                       {"since": 0, "types": "session.usage,session.ended"}).start()
        assert [f.event for f in r1.wait_for(2)] == ["session.started", "session.message"]
        assert [f.data["session_id"] for f in r2.wait_for(1)] == ["a"]
        _ingest(c, usage("b"), message("a", "again"))
        assert [f.event for f in r1.wait_for(3)][-1] == "session.usage"
        assert [f.data["session_id"] for f in r2.wait_for(2)] == ["a", "b"]
        r1.stop()
        r2.stop()


def test_heartbeat_comment_when_idle(live: LiveServer) -> None:
    seen: list[str] = []
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", f"{live.url}/api/v1/stream", headers=_auth(live)) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            start = time.monotonic()
            for line in r.iter_lines():
                seen.append(line)
                if line == ": keepalive" or time.monotonic() - start > 5:
                    break
    assert ": keepalive" in seen  # the fixture's heartbeat is 1 s


def test_cursor_older_than_retention_gets_reset(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "r.db", retention=Retention(max_events=5, every_commits=1))
    try:
        with srv.client() as c:
            _ingest(c, started())
            for i in range(20):
                _ingest(c, message(content=str(i)))
            page = c.get("/api/v1/events", params={"after": 1}).json()
            assert page["reset"] is True
            reader = SseReader(f"{srv.url}/api/v1/stream",
                               {"Authorization": f"Bearer {srv.token}"}, {"since": 1}).start()
            [reset] = reader.wait_for(1)
            assert reset.event == "reset"
            assert reset.data["last_event_id"] == int(reset.id) == 21
            _ingest(c, message(content="after reset"))
            frames = reader.wait_for(2)
            reader.stop()
            assert frames[1].data["content"] == "after reset"
            # a cursor ahead of the log (another database) is a reset too
            with connect_sse(c, "GET", "/api/v1/stream", params={"since": 10_000}) as src:
                first = next(e for e in src.iter_sse() if e.event != "message")
            assert first.event == "reset"
    finally:
        srv.server.stop()


def test_events_polling_pages(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, started(), *[message(content=str(i)) for i in range(9)])
        p1 = c.get("/api/v1/events", params={"after": 0, "limit": 4}).json()
        p2 = c.get("/api/v1/events", params={"after": 4, "limit": 100}).json()
        assert [e["id"] for e in p1["events"]] == [1, 2, 3, 4] and p1["has_more"]
        assert [e["id"] for e in p2["events"]] == list(range(5, 11)) and not p2["has_more"]
        assert p2["last_event_id"] == 10 and p2["reset"] is False
        assert c.get("/api/v1/events", params={"after": -1}).status_code == 422
        bad = c.get("/api/v1/stream", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["error"]["message"]


def test_slow_client_is_dropped_and_others_continue(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "s.db", stream_backlog=500, heartbeat_seconds=1.0)
    try:
        auth = {"Authorization": f"Bearer {srv.token}"}
        fast = SseReader(f"{srv.url}/api/v1/stream", auth, {"since": 0}).start()
        with httpx.Client(timeout=10) as slow_client, srv.client() as c:
            with slow_client.stream("GET", f"{srv.url}/api/v1/stream", headers=auth,
                                    params={"since": 0}):
                # the slow client never reads; the server cuts it off, not the fast one
                _ingest(c, started())
                for _ in range(40):
                    _ingest(c, *[message(content="x" * 2000) for _ in range(100)])
                fast.wait_for(4001, timeout=30)
                wait_for(lambda: srv.metric("agentops_stream_clients") == 1,
                         what="the slow client to be dropped")
        fast.stop()
    finally:
        srv.server.stop()


def test_a_frame_reuses_the_logs_json_and_says_the_same() -> None:
    import json

    from pydantic_core import to_json

    from agentops_tui.server.bus import encode_frame
    from agentops_tui.server.store.writer import LoggedEvent

    data = {"type": "session.message", "session_id": "se-1", "content": "héllo \"quoted\"",
            "seq": 3, "extra": None}
    written = LoggedEvent(7, "session.message", 1_800_000_000.25, "w", data,
                          to_json(data).decode())
    spaced = LoggedEvent(8, "session.message", 3.5, "w", data, json.dumps(data))  # older rows
    empty = LoggedEvent(9, "x", 2.0, "w", {}, "{}")
    for event in (written, spaced, empty):
        frame = encode_frame(event).data.decode()
        head, payload = frame.split("data: ", 1)
        assert head == f"id: {event.id}\nevent: {event.type}\n"
        assert json.loads(payload) == {**event.data, "ts": event.ts}
