"""The served OpenAPI document states what the server really answers and accepts."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import LiveServer
from factories import agent, started

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _spec(live: LiveServer) -> dict[str, Any]:
    spec: dict[str, Any] = httpx.get(f"{live.url}/openapi.json").json()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items()]


def test_every_failure_is_listed_with_the_error_envelope(live: LiveServer) -> None:
    spec = _spec(live)
    assert "HTTPValidationError" not in str(spec)
    for path, method, op in _operations(spec):
        label = f"{method.upper()} {path}"
        responses = op["responses"]
        if path != "/v1/traces":  # OTLP answers in its own encoding
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == ENVELOPE, label
        if "{" in path:
            assert "404" in responses, label
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, label
        if "requestBody" in op:
            assert {"400", "413"} <= set(responses), label
        if method != "get":
            assert "503" in responses, label
    conflicts = ["/api/v1/sessions/{session_id}/pause", "/api/v1/approvals/{approval_id}/approve",
                 "/api/v1/work-queue-tasks/{task_id}/complete", "/api/v1/ingest"]
    assert all("409" in spec["paths"][p]["post"]["responses"] for p in conflicts)
    assert "404" in spec["paths"]["/api/v1/sessions/tree"]["get"]["responses"]  # ?root=


def test_the_bearer_scheme_guards_every_operation_but_healthz(live: LiveServer) -> None:
    spec = _spec(live)
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, _method, op in _operations(spec):
        if path == "/healthz":
            assert "security" not in op and "401" not in op["responses"]
            continue
        assert op["security"] == [{"bearerAuth": []}], path
        assert {"401", "429"} <= set(op["responses"]), path
        assert "Retry-After" in op["responses"]["429"]["headers"]
    reads = spec["paths"]["/api/v1/agents"]["get"]["responses"]
    assert "403" not in reads  # every token may read
    assert "403" in spec["paths"]["/api/v1/killswitch"]["post"]["responses"]
    whoami = spec["paths"]["/api/v1/whoami"]["get"]["responses"]
    assert set(whoami) == {"200", "401", "429"}  # any token may ask who it is
    assert whoami["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Identity"}


def test_fixed_sets_are_enums_and_other_media_types_are_listed(live: LiveServer) -> None:
    spec = _spec(live)
    schemas = spec["components"]["schemas"]
    assert schemas["KillswitchRequest"]["properties"]["confirm"]["const"] == "KILL ALL"

    def param(path: str, name: str) -> dict[str, Any]:
        found = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        schema: dict[str, Any] = found[0]["schema"]
        return schema

    assert param("/api/v1/approvals", "status")["enum"] == [
        "pending", "approved", "rejected", "expired"]
    assert param("/api/v1/costs", "group_by")["enum"] == ["agent", "task", "model"]
    assert param("/api/v1/alerts", "subject_type")["enum"] == [
        "session", "agent", "task", "workspace"]
    agent_status = param("/api/v1/agents", "status")["items"]["anyOf"]
    assert agent_status[0]["enum"] == ["idle", "running", "waiting", "paused", "error", "offline"]
    assert "pattern" in agent_status[1]  # or several, comma-separated
    assert "null" not in str(param("/api/v1/agents", "kind"))  # a query value is never null
    audit = spec["paths"]["/api/v1/audit"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/x-ndjson", "text/csv"} <= set(audit)
    stream = spec["paths"]["/api/v1/stream"]["get"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]


def test_status_filters_refuse_unknown_values_on_every_list(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent("a1"), started("s1", "a1")]})
        for path in ("/api/v1/agents", "/api/v1/sessions", "/api/v1/tasks", "/api/v1/alerts",
                     "/api/v1/approvals"):
            r = c.get(path, params={"status": "bogus"})
            assert r.status_code == 422, path
            assert r.json()["error"]["message"].startswith("status: "), path
        both = c.get("/api/v1/agents", params={"status": "running,idle"})
        assert [a["id"] for a in both.json()["agents"]] == ["a1"]
        repeated = c.get("/api/v1/sessions", params=[("status", "running"), ("status", "failed")])
        assert [s["id"] for s in repeated.json()["sessions"]] == ["s1"]


def test_request_bodies_take_only_their_documented_json_types(live: LiveServer) -> None:
    with live.client() as c:
        queue = c.post("/api/v1/work-queues", json={"name": "q"}).json()["id"]
        tasks = f"/api/v1/work-queues/{queue}/tasks"
        assert c.post(tasks, json={"name": "t", "priority": "5"}).status_code == 422
        assert c.post(tasks, json={"name": "t", "priority": True}).status_code == 422
        assert c.post(tasks, json={"name": "t", "priority": 5.0}).json()["priority"] == 5
        r = c.post("/api/v1/killswitch", json={"confirm": "kill all"})
        assert r.status_code == 422 and "confirm" in r.json()["error"]["message"]
