"""Client input the store could not hold is a 4xx for that request, never a 5xx, and never
a traceback in the server's log: out-of-range numbers, ids that no URL can reach, empty keys,
deep JSON, cursors beyond 64 bits."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import LiveServer
from factories import agent, message, started, usage

DEEP = 100_000


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the server logs, uvicorn's own errors included (they do not reach root)."""
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        yield caplog
    finally:
        uvicorn_log.removeHandler(caplog.handler)


def _no_errors_logged(log: pytest.LogCaptureFixture) -> None:
    bad = [r for r in log.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def _post(c: httpx.Client, path: str, body: str | bytes, kind: str = "application/json"
          ) -> httpx.Response:
    return c.post(path, content=body, headers={"content-type": kind})


@pytest.mark.parametrize("event, field", [
    ('{"type": "session.usage", "session_id": "se-1", "cost_usd": 1e308}', "cost_usd"),
    ('{"type": "session.usage", "session_id": "se-1", "cost_usd": Infinity}', "cost_usd"),
    ('{"type": "session.usage", "session_id": "se-1", "cost_usd": NaN}', "cost_usd"),
    ('{"type": "session.usage", "session_id": "se-1", "cost_usd": -1}', "cost_usd"),
    ('{"type": "session.usage", "session_id": "se-1", "input_tokens": 9223372036854775808}',
     "input_tokens"),
    ('{"type": "session.message", "session_id": "se-1", "content": "x", "ts": 1e308}', "ts"),
    ('{"type": "session.message", "session_id": "se-1", "content": "x", "ts": -1}', "ts"),
    ('{"type": "session.message", "session_id": "se-1", "content": "x",'
     ' "ts": "2101-01-01T00:00:00Z"}', "ts"),
    ('{"type": "session.message", "session_id": "se-1", "content": "x", "event_key": ""}',
     "event_key"),
    ('{"type": "session.tool_call", "session_id": "se-1", "tool": "t", "duration_ms": -1}',
     "duration_ms"),
    ('{"type": "session.tool_call", "session_id": "se-1", "tool": "t",'
     ' "duration_ms": 604800001}', "duration_ms"),
    ('{"type": "agent.registered", "agent_id": "team/bot"}', "agent_id"),
    ('{"type": "agent.registered", "agent_id": ".."}', "agent_id"),
    ('{"type": "agent.registered", "agent_id": "bot\\n"}', "agent_id"),
    ('{"type": "session.started", "session_id": "runs/1", "agent_id": "a"}', "session_id"),
    ('{"type": "session.started", "session_id": "s", "agent_id": "a", "task_id": "q/1"}',
     "task_id"),
    ('{"type": "approval.requested", "approval_id": "a/1", "session_id": "se-1",'
     ' "summary": "s"}', "approval_id"),
])
def test_values_the_store_cannot_hold_are_422_naming_the_field(
        live: LiveServer, server_log: pytest.LogCaptureFixture, event: str, field: str) -> None:
    with live.client() as c:
        assert c.post("/api/v1/ingest", json={"events": [started()]}).status_code == 202
        before = c.get("/api/v1/events").json()["last_event_id"]
        r = _post(c, "/api/v1/ingest", f'{{"events": [{event}]}}')
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_event"
        assert error["message"].startswith(f"events[0].{field}:"), error
        assert c.get("/api/v1/events").json()["last_event_id"] == before
    _no_errors_logged(server_log)


def test_an_empty_event_key_sent_twice_is_refused_not_a_conflict(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        r = c.post("/api/v1/ingest", json={"events": [message(event_key=""),
                                                      message(event_key="")]})
        assert r.status_code == 422 and "event_key" in r.json()["error"]["message"]


def test_a_bad_id_is_explained(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [agent("team/bot")]})
    assert r.status_code == 422
    assert "no '/'" in r.json()["error"]["message"]


def test_ids_in_hooks_and_dequeues_are_checked_too(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/hooks/claude-code",
                   json={"session_id": "a/b", "hook_event_name": "Stop"})
        assert r.status_code == 422 and "session_id" in r.json()["error"]["message"]
        r = c.post("/api/v1/hooks/claude-code",
                   json={"session_id": "ab", "hook_event_name": "Stop", "agent_id": "x/y"})
        assert r.status_code == 422 and "agent_id" in r.json()["error"]["message"]
        q = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        r = c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": "a/b"})
        assert r.status_code == 422 and "agentId" in r.json()["error"]["message"]
        assert c.get("/api/v1/sessions").json()["sessions"] == []


@pytest.mark.parametrize("task, field", [
    ({"name": "t", "deadline": 1e308}, "deadline"),
    ({"name": "t", "deadline": 946684799}, "deadline"),  # 1999
    ({"name": "t", "deadline": "2101-01-01T00:00:00Z"}, "deadline"),
    ({"name": "t", "payload": json.loads(_nested(900))}, "payload"),
    ({"name": "t", "payload": json.loads(_nested(33))}, "payload"),
])
def test_task_values_the_store_cannot_hold_are_422(
        live: LiveServer, server_log: pytest.LogCaptureFixture, task: dict[str, Any],
        field: str) -> None:
    with live.client() as c:
        q = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        r = c.post(f"/api/v1/work-queues/{q}/tasks", json=task)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"].startswith(f"{field}:")
        assert c.get(f"/api/v1/work-queues/{q}/tasks").json() == {"tasks": []}
    _no_errors_logged(server_log)


def test_free_form_json_up_to_32_levels_is_stored(live: LiveServer) -> None:
    with live.client() as c:
        q = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        payload = json.loads(_nested(32))
        r = c.post(f"/api/v1/work-queues/{q}/tasks", json={"name": "t", "payload": payload})
        assert r.status_code == 201, r.text
        done = c.post(f"/api/v1/work-queue-tasks/{r.json()['id']}/complete",
                      json={"result": json.loads(_nested(33))})
        assert done.status_code == 422 and done.json()["error"]["message"].startswith("result:")
        assert c.get(f"/api/v1/tasks/{r.json()['id']}").json()["payload"] == payload


def _body_routes(c: httpx.Client) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a body, ids filled with a real one."""
    spec = c.get("/openapi.json").json()
    found = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:
                found.append((method.upper(), path))
    return found


def test_json_nested_100k_deep_is_4xx_on_every_route_without_a_traceback(
        live: LiveServer, server_log: pytest.LogCaptureFixture) -> None:
    deep = _nested(DEEP)
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        q = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        t = c.post(f"/api/v1/work-queues/{q}/tasks", json={"name": "t"}).json()["id"]
        ids = {"{queue_id}": q, "{task_id}": t, "{session_id}": "se-1",
               "{command_id}": "cmd_x", "{approval_id}": "ap_x", "{alert_id}": "al_x"}
        routes = _body_routes(c)
        assert len(routes) >= 10, routes
        for method, template in routes:
            path = template
            for name, value in ids.items():
                path = path.replace(name, value)
            for body in (deep, f'{{"events": {deep}, "payload": {deep}, "result": {deep}}}'):
                r = c.request(method, path, content=body,
                              headers={"content-type": "application/json"})
                assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
        # the two free-form fields the writer stores, 150 deep: past what they may hold
        # but short of the decoder's own limit
        r = c.post("/api/v1/hooks/claude-code", content=(
            '{"session_id": "s", "hook_event_name": "PreToolUse", "tool_input": '
            + _nested(150) + "}"), headers={"content-type": "application/json"})
        assert r.status_code == 422 and "tool_input" in r.json()["error"]["message"], r.text
    _no_errors_logged(server_log)


def _nested_otlp_value(depth: int) -> bytes:
    """An OTLP protobuf export whose one attribute is a kvlist nested `depth` deep."""

    def field(number: int, payload: bytes) -> bytes:
        length, out = len(payload), bytearray()
        while True:
            byte = length & 0x7F
            length >>= 7
            out.append(byte | 0x80 if length else byte)
            if not length:
                break
        return bytes([number << 3 | 2]) + bytes(out) + payload

    value = field(1, b"x")  # AnyValue.string_value
    for _ in range(depth):  # AnyValue.kvlist_value -> KeyValueList.values -> KeyValue
        value = field(6, field(1, field(1, b"k") + field(2, value)))
    attribute = field(1, b"k") + field(2, value)
    span = field(1, b"\x01" * 16) + field(2, b"\x02" * 8) + field(5, b"s") + field(9, attribute)
    return field(1, field(2, field(2, span)))  # ResourceSpans.scope_spans.spans


def test_deep_otlp_exports_are_4xx_without_a_traceback(
        live: LiveServer, server_log: pytest.LogCaptureFixture) -> None:
    with live.client() as c:
        r = _post(c, "/v1/traces", _nested_otlp_value(10_000), "application/x-protobuf")
        assert r.status_code == 400, r.text
        r = _post(c, "/v1/traces", '{"resourceSpans": ' + _nested(DEEP) + "}")
        assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
        text = '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "' + "1" * 32 + (
            '", "spanId": "' + "2" * 16 + '", "name": "x", "attributes": [{"key": '
            '"gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}, {"key": '
            '"gen_ai.input.messages", "value": {"stringValue": ' + json.dumps(_nested(DEEP))
            + "}}]}]}]}]}")
        r = _post(c, "/v1/traces", text)
        assert r.status_code == 200, r.text
    _no_errors_logged(server_log)


def test_lone_surrogates_are_refused_before_the_store(
        live: LiveServer, server_log: pytest.LogCaptureFixture) -> None:
    surrogate = '"a\\ud800"'
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        q = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        r = _post(c, "/api/v1/ingest", '{"events": [{"type": "session.message",'
                  f' "session_id": "se-1", "content": {surrogate}}}]}}')
        assert r.status_code == 400
        r = _post(c, f"/api/v1/work-queues/{q}/tasks",
                  f'{{"name": "t", "payload": {{"k": [{surrogate}]}}}}')
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("payload:")
        r = _post(c, f"/api/v1/work-queues/{q}/tasks", f'{{"name": {surrogate}}}')
        assert r.status_code == 422
        r = _post(c, "/api/v1/hooks/claude-code", '{"session_id": "s", "hook_event_name":'
                  f' "PreToolUse", "tool_input": {surrogate}}}')
        assert r.status_code == 400
    _no_errors_logged(server_log)


@pytest.mark.parametrize("path, params, headers", [
    ("/api/v1/events", {"after": 2**63}, {}),
    ("/api/v1/stream", {"since": 2**63}, {}),
    ("/api/v1/stream", {}, {"Last-Event-ID": str(2**63)}),
    ("/api/v1/sessions/se-1/messages", {"after": 2**63}, {}),
    ("/api/v1/sessions/se-1/messages", {"before": 2**63}, {}),
])
def test_integers_beyond_64_bits_in_queries_are_422(
        live: LiveServer, server_log: pytest.LogCaptureFixture, path: str,
        params: dict[str, int], headers: dict[str, str]) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        r = c.get(path, params=params, headers=headers)
        assert r.status_code == 422, r.text
        at_limit = {k: 2**63 - 1 for k in params}
        if path != "/api/v1/stream":
            assert c.get(path, params=at_limit).status_code == 200
    _no_errors_logged(server_log)


def test_otlp_values_out_of_range_are_refused_per_span(live: LiveServer) -> None:
    def span(span_id: str, **attrs: Any) -> dict[str, Any]:
        return {"traceId": "ab" * 16, "spanId": span_id, "name": "chat", "kind": 3,
                "startTimeUnixNano": "1700000000000000000",
                "endTimeUnixNano": attrs.pop("end", "1700000001000000000"),
                "attributes": [{"key": k.replace("__", "."), "value": v}
                               for k, v in attrs.items()]}

    model = {"stringValue": "claude-sonnet-4"}
    chat = {"stringValue": "chat"}
    spans = [
        span("0000000000000001", gen_ai__request__model=model, gen_ai__operation__name=chat,
             gen_ai__usage__input_tokens={"intValue": "10"}),
        span("0000000000000002", gen_ai__request__model=model, gen_ai__operation__name=chat,
             gen_ai__usage__input_tokens={"intValue": "10"}, end="18446744073709551615"),
        span("0000000000000003", gen_ai__request__model=model, gen_ai__operation__name=chat,
             gen_ai__usage__input_tokens={"stringValue": "inf"},
             gen_ai__usage__output_tokens={"intValue": "5"},
             gen_ai__usage__cost={"doubleValue": 1e308}),
    ]
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "a/b"}}]},
        "scopeSpans": [{"spans": spans}]}]}
    with live.client() as c:
        r = c.post("/v1/traces", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
        assert "spans[1]" in r.json()["partialSuccess"]["errorMessage"]
        [s] = c.get("/api/v1/sessions").json()["sessions"]
        assert (s["input_tokens"], s["output_tokens"]) == (10, 5)
        assert 0 < s["cost_usd"] < 1  # priced from the table, not the absurd attribute
        assert [a["id"] for a in c.get("/api/v1/agents").json()["agents"]] == ["a-b"]


def test_usage_without_these_problems_is_still_accepted(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": [
            agent("team.bot"), started(agent_id="team.bot"),
            usage(cost_usd=999_999.0, ts="2099-12-31T00:00:00Z", event_key="k"),
            {"type": "session.tool_call", "session_id": "se-1", "tool": "t",
             "duration_ms": 604_800_000, "ts": 0},
        ]})
        assert r.status_code == 202, r.text
        assert c.get("/api/v1/agents/team.bot").status_code == 200
