"""POST /v1/traces against a real server: the OTel SDK exporter, hand-written OTLP JSON, the
GenAI mapping and its older names, out-of-order exports, and bad requests."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from agentops_tui.server.ingest.otlp.decode import hex_ids_to_base64

from conftest import LiveServer

TRACE = "5b8efff798038103d269b633813fc60c"


def provider(live: LiveServer, service: str = "support-bot", gzip_on: bool = False) -> (
        TracerProvider):
    """Each span is exported on its own as it ends: children before their parents."""
    exporter = OTLPSpanExporter(
        endpoint=f"{live.url}/v1/traces",
        headers={"Authorization": f"Bearer {live.token}"},
        compression=Compression.Gzip if gzip_on else Compression.NoCompression,
        timeout=10,
    )
    tp = TracerProvider(resource=Resource.create({"service.name": service}))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as c:
        yield c


def sessions_by_title(c: httpx.Client) -> dict[str, dict[str, Any]]:
    return {s["title"]: s for s in c.get("/api/v1/sessions").json()["sessions"]}


def test_sdk_exporter_builds_the_agent_tree(live: LiveServer, client: httpx.Client) -> None:
    tp = provider(live, gzip_on=True)
    tracer = tp.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent planner", attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
        "gen_ai.conversation.id": "conv-42", "gen_ai.request.model": "claude-sonnet-4",
    }):
        with tracer.start_as_current_span("chat claude-sonnet-4", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.response.model": "claude-sonnet-4-20250514",
            "gen_ai.usage.input_tokens": 1500, "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 400,
            "gen_ai.usage.cache_creation.input_tokens": 100,
        }):
            pass
        with tracer.start_as_current_span("execute_tool search", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
        }):
            time.sleep(0.02)
        with tracer.start_as_current_span("execute_tool fetch", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "fetch",
        }) as span:
            span.set_status(Status(StatusCode.ERROR, "timeout"))
        with tracer.start_as_current_span("invoke_agent researcher", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher",
            "gen_ai.agent.id": "agent-researcher",
        }):
            with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100,
            }):
                pass
    tp.shutdown()

    agents = {a["id"]: a for a in client.get("/api/v1/agents").json()["agents"]}
    assert set(agents) == {"support-bot:planner", "agent-researcher"}
    assert agents["support-bot:planner"]["name"] == "planner"
    assert agents["agent-researcher"]["name"] == "researcher"
    assert agents["support-bot:planner"]["status"] == "idle"

    [root] = client.get("/api/v1/sessions/tree").json()["roots"]
    top = root["session"]
    assert top["title"] == "invoke_agent planner [conversation conv-42]"
    assert top["status"] == "completed"
    # cached input is part of gen_ai.usage.input_tokens: 1500 - 400 - 100 uncached
    assert (top["input_tokens"], top["output_tokens"]) == (1000, 200)
    assert (top["cache_read_tokens"], top["cache_write_tokens"]) == (400, 100)
    assert top["tool_calls"] == {"search": 1, "fetch": 1}
    # 1000*3 + 200*15 + 400*0.3 + 100*3.75 per million
    assert top["cost_usd"] == pytest.approx(0.006495)
    [child] = root["children"]
    sub = child["session"]
    assert sub["agent_id"] == "agent-researcher"
    assert sub["parent_session_id"] == top["id"]
    assert (sub["input_tokens"], sub["output_tokens"]) == (1000, 100)
    assert sub["cost_usd"] == pytest.approx(0.0035)
    assert root["rollup"]["cost_usd"] == pytest.approx(0.006495 + 0.0035)

    tools = client.get("/api/v1/metrics/tools").json()
    assert "search" in json.dumps(tools) and "fetch" in json.dumps(tools)
    costs = client.get("/api/v1/costs", params={"group_by": "model"}).json()
    by_model = {r["key"]: r for r in costs["rows"]}
    assert by_model["gpt-4o"]["cost_usd"] == pytest.approx(0.0035)


def test_failed_agent_span_fails_its_session(live: LiveServer, client: httpx.Client) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{live.url}/v1/traces",
                                headers={"Authorization": f"Bearer {live.token}"}, timeout=10)
    finished: list[ReadableSpan] = []

    class Collect(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            finished.append(span)

    tp = TracerProvider()
    tp.add_span_processor(Collect())
    with tp.get_tracer("t").start_as_current_span("invoke_agent solo", attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "solo",
    }) as span:
        span.set_status(Status(StatusCode.ERROR, "ran out of budget"))
    assert exporter.export(finished) is SpanExportResult.SUCCESS
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["status"], s["error"]) == ("failed", "ran out of budget")
    assert client.get(f"/api/v1/agents/{s['agent_id']}").json()["status"] == "error"
    tp.shutdown()


# ---- hand-written OTLP JSON ------------------------------------------------------------------


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        v: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}  # 64-bit integers travel as strings in OTLP JSON
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def span(span_id: str, name: str, parent: str = "", trace: str = TRACE, start: float = 0,
         end: float = 0, status: int = 0, message: str = "", **attrs: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": 1,
        "startTimeUnixNano": str(int((start or now - 1) * 1e9)),
        "endTimeUnixNano": str(int((end or now) * 1e9)),
        "attributes": [attr(k.replace("__", "."), v) for k, v in attrs.items()],
        "status": {"code": status, "message": message},
    }


def export(*spans: dict[str, Any], service: str = "svc") -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
    }]}


def post(c: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return c.post("/v1/traces", content=json.dumps(body).encode(),
                  headers={"content-type": "application/json", **headers})


AGENT = {"gen_ai__operation__name": "invoke_agent", "gen_ai__agent__name": "writer"}


def chat(span_id: str, parent: str, inp: int = 100, out: int = 10, **kw: Any) -> dict[str, Any]:
    return span(span_id, "chat", parent, gen_ai__operation__name="chat",
                gen_ai__request__model="claude-sonnet-4", gen_ai__usage__input_tokens=inp,
                gen_ai__usage__output_tokens=out, **kw)


def test_json_export_answers_in_json(client: httpx.Client) -> None:
    r = post(client, export(span("a000000000000001", "invoke_agent writer", **AGENT),
                            chat("c000000000000001", "a000000000000001")))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {}
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["input_tokens"], s["output_tokens"], s["model"]) == (100, 10, "claude-sonnet-4")
    assert s["id"] == f"otel-{TRACE}-a000000000000001"
    types = [e["type"] for e in client.get("/api/v1/events").json()["events"]]
    assert types[:2] == ["agent.registered", "session.started"]
    assert "session.usage" in types and types[-1] == "session.ended"


def test_resent_export_is_counted_once(client: httpx.Client) -> None:
    body = export(span("a000000000000001", "invoke_agent writer", **AGENT),
                  chat("c000000000000001", "a000000000000001", inp=500, out=50),
                  span("b000000000000001", "execute_tool", "a000000000000001",
                       gen_ai__operation__name="execute_tool", gen_ai__tool__name="grep"))
    assert post(client, body).status_code == 200
    last = client.get("/api/v1/events").json()["events"][-1]["id"]
    assert post(client, body).status_code == 200
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["input_tokens"], s["tool_calls"]) == (500, {"grep": 1})
    assert client.get("/api/v1/events", params={"after": last}).json()["events"] == []


def test_partial_success_names_the_unusable_spans(client: httpx.Client) -> None:
    bad_trace = span("a000000000000002", "chat", trace="00" * 16)
    short_id = span("abcd", "chat")
    r = post(client, export(span("a000000000000001", "invoke_agent writer", **AGENT),
                            bad_trace, short_id))
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert "traceId" in partial["errorMessage"] and "spanId" in partial["errorMessage"]
    assert len(client.get("/api/v1/sessions").json()["sessions"]) == 1


def test_protobuf_partial_success_is_protobuf(live: LiveServer, client: httpx.Client) -> None:
    raw = export(span("a000000000000001", "invoke_agent writer", **AGENT),
                 span("a000000000000002", "chat", trace="00" * 16))
    hex_ids_to_base64(raw)
    body = json_format.ParseDict(raw, ExportTraceServiceRequest()).SerializeToString()
    r = client.post("/v1/traces", content=body,
                    headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == 1
    assert "traceId" in answer.partial_success.error_message


def test_spans_in_separate_requests_out_of_order_link_up(client: httpx.Client) -> None:
    root, mid, sub = "a000000000000001", "e000000000000001", "a000000000000002"
    # the grandchild usage of the subagent arrives first, its parents later, one by one
    assert post(client, export(chat("c000000000000002", sub, inp=70, out=7))).status_code == 200
    assert client.get("/api/v1/sessions").json()["sessions"] == []  # waiting for its parent
    sub_span = span(sub, "invoke_agent researcher", mid, gen_ai__operation__name="invoke_agent",
                    gen_ai__agent__name="researcher")
    assert post(client, export(sub_span)).status_code == 200
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["input_tokens"], s["parent_session_id"]) == (70, None)  # parent chain unknown
    # an intermediate span (a chain step) and a usage span of the root agent
    step = span(mid, "plan step", root, traceloop__span__kind="task")
    assert post(client, export(step, chat("c000000000000001", root, inp=30, out=3))).status_code \
        == 200
    assert len(client.get("/api/v1/sessions").json()["sessions"]) == 1
    assert post(client, export(span(root, "invoke_agent writer", **AGENT))).status_code == 200
    [tree] = client.get("/api/v1/sessions/tree").json()["roots"]
    assert tree["session"]["id"] == f"otel-{TRACE}-{root}"
    assert tree["session"]["input_tokens"] == 30
    [child] = tree["children"]
    assert child["session"]["id"] == f"otel-{TRACE}-{sub}"
    assert child["session"]["input_tokens"] == 70
    assert tree["rollup"]["tokens"] == 30 + 3 + 70 + 7


def test_spans_without_an_agent_are_kept_per_trace(client: httpx.Client) -> None:
    lone = chat("c000000000000001", "", inp=10, out=1)
    assert post(client, export(lone, service="batch-job")).status_code == 200
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["id"], s["agent_id"], s["input_tokens"]) == (f"otel-{TRACE}", "batch-job", 10)
    # a usage span whose parent never arrives stops waiting an hour after it ended
    old = time.time() - 7200
    orphan = chat("c000000000000009", "f000000000000009", inp=5, out=1, start=old - 1, end=old)
    other = "6b8efff798038103d269b633813fc60c"
    orphan["traceId"] = other
    assert post(client, export(orphan, service="batch-job")).status_code == 200
    s = client.get(f"/api/v1/sessions/otel-{other}").json()
    assert s["input_tokens"] == 5


def test_older_names_openllmetry_and_openinference(client: httpx.Client) -> None:
    t1, t2 = "1" * 32, "2" * 32
    openllmetry = export(
        span("a000000000000001", "research.workflow", trace=t1, traceloop__span__kind="workflow",
             traceloop__workflow__name="research"),
        span("c000000000000001", "openai.chat", "a000000000000001", trace=t1,
             llm__request__type="chat", gen_ai__system="openai",
             gen_ai__request__model="gpt-4o", gen_ai__usage__prompt_tokens=2000,
             gen_ai__usage__completion_tokens=100, llm__usage__total_tokens=2100,
             gen_ai__completion__0__content="the answer"),
        span("b000000000000001", "lookup.tool", "a000000000000001", trace=t1,
             traceloop__span__kind="tool", traceloop__entity__name="lookup"),
        service="lab",
    )
    openinference = export(
        span("a000000000000002", "Agent", trace=t2, openinference__span__kind="AGENT",
             agent__name="triage", input__value="route this ticket"),
        span("c000000000000002", "ChatAnthropic", "a000000000000002", trace=t2,
             openinference__span__kind="LLM", llm__model_name="claude-sonnet-4",
             llm__token_count__prompt=300, llm__token_count__completion=30),
        span("b000000000000002", "calculator", "a000000000000002", trace=t2,
             openinference__span__kind="TOOL", tool__name="calculator"),
        service="desk",
    )
    assert post(client, openllmetry).json() == {}
    assert post(client, openinference).json() == {}
    agents = {a["id"]: a for a in client.get("/api/v1/agents").json()["agents"]}
    assert agents["lab:research"]["framework"] == "openllmetry"
    assert agents["lab:research"]["kind"] == "workflow"
    assert agents["desk:triage"]["framework"] == "openinference"
    found = {s["agent_id"]: s for s in client.get("/api/v1/sessions").json()["sessions"]}
    wf, tri = found["lab:research"], found["desk:triage"]
    assert (wf["input_tokens"], wf["output_tokens"], wf["tool_calls"]) == (2000, 100,
                                                                          {"lookup": 1})
    assert wf["cost_usd"] == pytest.approx(0.006)  # 2000*2.5 + 100*10 per million
    assert (tri["input_tokens"], tri["output_tokens"], tri["tool_calls"]) == (300, 30,
                                                                             {"calculator": 1})
    msgs = client.get(f"/api/v1/sessions/{wf['id']}/messages").json()["messages"]
    assert [m["content"] for m in msgs] == ["the answer"]
    msgs = client.get(f"/api/v1/sessions/{tri['id']}/messages").json()["messages"]
    assert [(m["role"], m["content"]) for m in msgs] == [("user", "route this ticket")]



def test_prompt_once_per_run_and_tool_call_answers(client: httpx.Client) -> None:
    """The run's prompt comes from its first model call when the agent span has none; an
    answer made only of tool calls reads as the calls; a raw JSON response is not shown."""
    root = "a000000000000001"
    asked = json.dumps([{"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
                        {"role": "user", "parts": [{"type": "text", "content": "plan a trip"}]}])
    calls = json.dumps([{"role": "assistant", "parts": [
        {"type": "tool_call", "id": "c1", "name": "weather", "arguments": {"city": "Oslo"}}]}])
    oi_call = {
        "openinference__span__kind": "LLM", "llm__model_name": "gpt-4o",
        "llm__token_count__prompt": 10, "llm__token_count__completion": 1,
        "llm__input_messages__0__message__role": "user",
        "llm__input_messages__0__message__content": "plan a trip",
        "llm__output_messages__0__message__tool_calls__0__tool_call__function__name": "maps",
        "llm__output_messages__0__message__tool_calls__0__tool_call__function__arguments":
            '{"to": "Bergen"}',
        "output__mime_type": "application/json", "output__value": '{"id": "resp_1"}',
    }
    body = export(
        chat("c000000000000001", root, gen_ai__input__messages=asked,
             gen_ai__output__messages=calls, start=time.time() - 3),
        span("c000000000000002", "response", root, start=time.time() - 2, **oi_call),
        chat("c000000000000003", root, gen_ai__input__messages=asked,
             gen_ai__completion__0__content="Go to Bergen."),
        span(root, "invoke_agent writer", **AGENT),
    )
    assert post(client, body).json() == {}
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    msgs = client.get(f"/api/v1/sessions/{s['id']}/messages").json()["messages"]
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "plan a trip"),
        ("assistant", '→ weather({"city": "Oslo"})'),
        ("assistant", '→ maps({"to": "Bergen"})'),
        ("assistant", "Go to Bergen."),
    ]


# ---- bad requests --------------------------------------------------------------------------


def test_bad_bodies_are_400_in_the_request_encoding(client: httpx.Client) -> None:
    r = client.post("/v1/traces", content=b"\xff\xff\xff not protobuf",
                    headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 400
    status = status_pb2.Status.FromString(r.content)
    assert "ExportTraceServiceRequest" in status.message
    r = client.post("/v1/traces", content=b'{"resourceSpans": [',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json" and r.json()["message"]
    r = post(client, {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]})
    assert r.status_code == 400 and "name" in r.json()["message"]
    r = client.post("/v1/traces", content=b"plain", headers={
        "content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_gzip"
    assert client.get("/api/v1/sessions").json()["sessions"] == []


def test_size_limits_and_media_types(live: LiveServer, client: httpx.Client) -> None:
    big = b"{" + b" " * (4 * 1024 * 1024 + 10) + b"}"
    r = client.post("/v1/traces", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    bomb = gzip.compress(b" " * (5 * 1024 * 1024))
    r = client.post("/v1/traces", content=bomb, headers={
        "content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 413 and "decompressed" in r.json()["message"]
    r = client.post("/v1/traces", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "text/plain" in r.json()["error"]["message"]
    r = client.post("/v1/traces", content=b"{}", headers={
        "content-type": "application/json", "content-encoding": "br"})
    assert r.status_code == 415
    ok = gzip.compress(json.dumps(export(span("a000000000000001", "x", **AGENT))).encode())
    r = client.post("/v1/traces", content=ok, headers={
        "content-type": "application/json; charset=utf-8", "content-encoding": "gzip"})
    assert r.status_code == 200
    with httpx.Client(base_url=live.url) as anon:
        assert anon.post("/v1/traces", json={}).status_code == 401
    with live.client(live.token_for("viewer")) as viewer:
        assert viewer.post("/v1/traces", json={}).status_code == 403


def test_odd_json_is_400_and_big_exports_link_up(client: httpx.Client) -> None:
    r = client.post("/v1/traces", content=b"[" * 100_000,
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert post(client, {"resourceSpans": "nope"}).status_code == 400
    root = "a000000000000001"
    assert post(client, export(span(root, "invoke_agent writer", **AGENT))).json() == {}
    chats = [chat(f"c{i:015x}", root, inp=10, out=1) for i in range(1, 701)]
    assert post(client, export(*chats)).json() == {}
    [s] = client.get("/api/v1/sessions").json()["sessions"]
    assert (s["input_tokens"], s["output_tokens"]) == (7000, 700)
