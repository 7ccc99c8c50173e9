"""POST /api/v1/ingest against a real server: acceptance, bad input, idempotency."""

from __future__ import annotations

import json
from typing import Any

from conftest import LiveServer
from factories import agent, ended, message, started, tool, usage


def test_batch_is_applied_and_snapshot_agrees(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [
            agent(), started(title="fix login bug"), message(), tool(), tool(name="Read"),
            usage(inp=1200, out=300), {"type": "session.status", "session_id": "se-1",
                                        "status": "waiting", "detail": "needs input"},
        ]})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["accepted"] == 7 and body["duplicates"] == 0
        snap = c.get("/api/v1/snapshot").json()
    assert snap["last_event_id"] == body["last_event_id"]
    [session] = snap["sessions"]
    assert session["status"] == "waiting" and session["detail"] == "needs input"
    assert session["input_tokens"] == 1200 and session["output_tokens"] == 300
    assert session["tool_calls"] == {"Bash": 1, "Read": 1}
    assert session["cost_usd"] == 0.0081  # 1200 * $3/M + 300 * $15/M
    [ag] = snap["agents"]
    assert ag["id"] == "ag-1" and ag["status"] == "waiting" and ag["name"] == "name-ag-1"


def test_camel_case_fields_are_accepted(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [
            {"type": "session.started", "sessionId": "se-c", "agentId": "ag-c",
             "parentSessionId": None, "taskId": "t-1"},
            {"type": "session.usage", "sessionId": "se-c", "inputTokens": 5, "outputTokens": 7},
        ]})
        assert r.status_code == 202, r.text
        s = c.get("/api/v1/sessions/se-c").json()
    assert (s["task_id"], s["input_tokens"], s["output_tokens"]) == ("t-1", 5, 7)


def test_retried_batch_with_event_keys_is_counted_once(live: LiveServer) -> None:
    batch = {"events": [
        started(event_key="k1"), usage(inp=10, out=1, event_key="k2"),
        usage(inp=10, out=1, event_key="k2"),  # a duplicate inside the batch too
    ]}
    with live.client() as c:
        first = c.post("/api/v1/ingest", json=batch).json()
        again = c.post("/api/v1/ingest", json=batch).json()
        s = c.get("/api/v1/sessions/se-1").json()
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert s["input_tokens"] == 10


def _error(r: object) -> dict[str, object]:
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_malformed_json_is_400(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", content=b'{"events": [',
                   headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert _error(r)["code"] == "malformed_json"


def test_one_bad_event_rejects_the_whole_batch_naming_index_and_field(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [
            started(), usage(), {"type": "session.usage", "session_id": "se-1",
                                 "input_tokens": "lots"},
        ]})
        assert r.status_code == 422
        err = _error(r)
        assert "events[2].input_tokens" in str(err["message"])
        assert c.get("/api/v1/sessions/se-1").status_code == 404  # nothing was written
        assert c.get("/api/v1/events?after=0").json()["events"] == []


def test_unknown_type_and_unknown_session(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [{"type": "session.bogus"}]})
        assert r.status_code == 422 and "events[0]" in str(_error(r)["message"])
        r = c.post("/api/v1/ingest", json={"events": [started(), message(session_id="se-x")]})
        assert r.status_code == 422
        err = _error(r)
        assert err["code"] == "unknown_session" and "events[1].session_id" in str(err["message"])
        assert c.get("/api/v1/sessions/se-1").status_code == 404


def test_oversize_bodies_are_413(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [started()] * 1001})
        assert r.status_code == 413 and _error(r)["code"] == "too_many_events"
        big = json.dumps({"events": [message(content="x" * 60_000)] * 20}).encode()
        r = c.post("/api/v1/ingest", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and _error(r)["code"] == "too_large"

        def chunks():  # no Content-Length: the limit still holds while streaming
            for _ in range(20):
                yield b" " * 65536

        r = c.post("/api/v1/ingest", content=chunks())
        assert r.status_code == 413


def test_wrong_shapes_are_422_not_500(live: LiveServer) -> None:
    with live.client() as c:
        for body in ([], {"events": "nope"}, {"events": [1, 2]}, {"evts": []}, "text"):
            r = c.post("/api/v1/ingest", json=body)
            assert r.status_code == 422, (body, r.text)
            _error(r)


def test_ended_session_and_message_paging(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()] + [
            message(content=f"m{i}") for i in range(1, 8)
        ] + [ended(status="failed", error="boom")]}).raise_for_status()
        page = c.get("/api/v1/sessions/se-1/messages", params={"after": 2, "limit": 3}).json()
        assert [m["content"] for m in page["messages"]] == ["m3", "m4", "m5"]
        back = c.get("/api/v1/sessions/se-1/messages", params={"before": 3, "limit": 5}).json()
        assert [m["seq"] for m in back["messages"]] == [1, 2]
        s = c.get("/api/v1/sessions/se-1").json()
        assert (s["status"], s["error"], s["messages"]) == ("failed", "boom", 7)
        assert c.get("/api/v1/sessions/nope/messages").status_code == 404
        # events after the end do not reopen it
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.status", "session_id": "se-1", "status": "running"}
        ]}).raise_for_status()
        assert c.get("/api/v1/sessions/se-1").json()["status"] == "failed"


def test_the_logged_data_is_what_model_dump_gives_for_every_event_type() -> None:
    """`event_data` reads the struct's fields; it must stay equal to the model's
    `model_dump` (keys in the same order), with every optional field set so none is
    skipped, whether the struct was decoded or converted from the model."""
    from pydantic import TypeAdapter

    from agentops_tui.models import INGEST_TYPES, IngestEvent
    from agentops_tui.server.ingest.wire import decode_fast, event_data, from_model

    common = {"ts": 1_800_000_000.5, "event_key": "k-1"}
    samples = [
        {"type": "agent.registered", "agent_id": "a", "name": "n", "kind": "coder",
         "framework": "f", "model": "m"},
        {"type": "agent.heartbeat", "agent_id": "a", "status": "running"},
        {"type": "session.started", "session_id": "s", "agent_id": "a",
         "parent_session_id": "p", "task_id": "t", "model": "m", "title": "x"},
        {"type": "session.message", "session_id": "s", "role": "user", "content": "c",
         "seq": 4},
        {"type": "session.tool_call", "session_id": "s", "tool": "Read", "status": "error",
         "duration_ms": 5.5, "output": "o"},
        {"type": "session.usage", "session_id": "s", "model": "m", "input_tokens": 1,
         "output_tokens": 2, "cache_read_tokens": 3, "cache_write_tokens": 4,
         "cost_usd": 0.5, "priced": True},
        {"type": "session.status", "session_id": "s", "status": "waiting", "detail": "d"},
        {"type": "session.ended", "session_id": "s", "status": "failed", "error": "e"},
        {"type": "approval.requested", "approval_id": "ap", "session_id": "s",
         "summary": "x", "detail": "d"},
    ]
    adapter: TypeAdapter[Any] = TypeAdapter(IngestEvent)
    assert sorted(s["type"] for s in samples) == sorted(INGEST_TYPES)
    for sample in samples:
        event = adapter.validate_python({**sample, **common})
        dumped = event.model_dump(exclude={"ts", "event_key"})
        decoded = decode_fast(json.dumps({"events": [{**sample, **common}]}).encode())
        assert decoded is not None
        for struct in (from_model(event), decoded.events[0]):
            assert list(event_data(struct).items()) == list(dumped.items())
            assert (struct.ts, struct.event_key) == (event.ts, event.event_key)
