"""`GET /metrics` against a real server: Prometheus text that prometheus-client's own parser
reads, counters that move with ingest and commands, lag, leadership, one registry per app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import LiveServer, start_server
from factories import agent, started
from waiting import wait_for

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(live: LiveServer, token: str | None = None) -> Series:
    with live.client(token) as c:
        response = c.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series[name, frozenset({"workspace": "default", **labels}.items())]


def plain(series: Series, name: str) -> float:
    return series[name, frozenset()]


def test_metrics_need_a_token_and_healthz_does_not(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer aot_nope"})
        assert wrong.status_code == 401
    viewer = live.token_for("viewer")
    assert plain(scrape(live, viewer), "agentops_leader") == 1  # any role may read them


def test_ingest_and_commands_move_the_counters(live: LiveServer) -> None:
    before = scrape(live)
    assert value(before, "agentops_ingest_events_total", source="rest") == 0
    batch = {"events": [{**agent(), "event_key": "k1"}, {**started(), "event_key": "k2"}]}
    with live.client() as c:
        assert c.post("/api/v1/ingest", json=batch).json()["accepted"] == 2
        # a retry after a lost 202: acknowledged again, nothing new logged
        assert c.post("/api/v1/ingest", json=batch).json()["duplicates"] == 2
        c.post("/api/v1/sessions/se-1/pause").raise_for_status()
        pending = scrape(live)
        assert value(pending, "agentops_commands_issued_total", action="pause") == 1
        assert value(pending, "agentops_commands_open", status="pending") == 1
        assert value(pending, "agentops_commands_finished_total", action="pause",
                     status="acked") == 0
        [command] = c.get("/api/v1/agents/ag-1/commands", params={"wait": 5}).json()["commands"]
        c.post(f"/api/v1/commands/{command['id']}/ack", json={"ok": True}).raise_for_status()
    after = scrape(live)
    batches = value(after, "agentops_ingest_batches_total", source="rest")
    accepted = value(after, "agentops_ingest_events_total", source="rest")
    assert (batches, accepted) == (2, 2)
    assert value(after, "agentops_ingest_events_total", source="otlp") == 0
    assert value(after, "agentops_commands_finished_total", action="pause", status="acked") == 1
    assert value(after, "agentops_commands_open", status="pending") == 0
    assert value(after, "agentops_commands_open", status="delivered") == 0
    assert value(after, "agentops_events_total") >= accepted + 3  # + the command's events
    assert plain(after, "agentops_writer_commits_total") > plain(before,
                                                                 "agentops_writer_commits_total")
    assert value(after, "agentops_alerts_open", status="open", severity="critical") == 0


def test_a_sqlite_backend_leads_and_has_no_tailer_lag(live: LiveServer) -> None:
    series = scrape(live)
    assert plain(series, "agentops_leader") == 1  # a single SQLite backend always leads
    assert plain(series, "agentops_tailer_lag_events") == 0
    assert plain(series, "agentops_tailer_lag_seconds") == 0
    # replicas on PostgreSQL: tests/test_replicas.py reads these from two real servers


def test_writer_lag_counts_events_the_checkpoint_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTOPS_CHECKPOINT_SECONDS", "3600")  # held back until a read asks
    live = start_server(tmp_path / "lag.db")
    try:
        with live.client() as c:
            c.post("/api/v1/ingest", json={"events": [agent(), started()]}).raise_for_status()
            waiting = scrape(live)
            assert plain(waiting, "agentops_writer_lag_events") == 2
            assert plain(waiting, "agentops_writer_lag_seconds") > 0
            c.get("/api/v1/sessions").raise_for_status()  # needs current tables: a checkpoint
        caught_up = scrape(live)
        assert plain(caught_up, "agentops_writer_lag_events") == 0
        assert plain(caught_up, "agentops_writer_lag_seconds") == 0
        assert plain(caught_up, "agentops_writer_seconds_since_checkpoint") < plain(
            waiting, "agentops_writer_seconds_since_checkpoint") + 3600
    finally:
        live.server.stop()


def test_stream_clients_gauge_follows_open_streams(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=10,
                      headers={"Authorization": f"Bearer {live.token}"}) as c:
        with c.stream("GET", "/api/v1/stream") as response:
            assert response.status_code == 200
            wait_for(lambda: plain(scrape(live), "agentops_stream_clients") == 1,
                     what="the stream to count")
    wait_for(lambda: plain(scrape(live), "agentops_stream_clients") == 0,
             what="the stream's slot to be given back")


def test_two_apps_in_one_process_keep_their_own_counters(tmp_path: Path) -> None:
    first = start_server(tmp_path / "one.db")
    second = start_server(tmp_path / "two.db")
    try:
        with first.client() as c:
            c.post("/api/v1/ingest", json={"events": [agent()]}).raise_for_status()
        assert value(scrape(first), "agentops_ingest_events_total", source="rest") == 1
        assert value(scrape(second), "agentops_ingest_events_total", source="rest") == 0
        assert plain(scrape(second), "agentops_writer_commits_total") == 0
    finally:
        first.server.stop()
        second.server.stop()


def test_metrics_are_in_the_openapi_document_as_text(live: LiveServer) -> None:
    with live.client() as c:
        spec = c.get("/openapi.json").json()
    operation = spec["paths"]["/metrics"]["get"]
    assert list(operation["responses"]["200"]["content"]) == [
        "text/plain; version=0.0.4; charset=utf-8"]
    assert "401" in operation["responses"]
    assert operation["security"]


def test_every_ingest_endpoint_is_counted_apart(live: LiveServer) -> None:
    hook = {"session_id": "8c35adc1-5f5e-4d4a-9a52-3f1b0e8f2c11", "cwd": "/work/shop",
            "transcript_path": "/tmp/t.jsonl", "permission_mode": "default",
            "hook_event_name": "SessionStart", "source": "startup"}
    agent_span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "a000000000000001",
        "name": "invoke_agent writer", "kind": 1,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
            {"key": "gen_ai.agent.name", "value": {"stringValue": "writer"}}],
    }
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [agent_span]}]}]}
    with live.client() as c:
        assert c.post("/api/v1/hooks/claude-code", json=hook).status_code == 200
        assert c.post("/v1/traces", json=export).status_code == 200
        logged = len(c.get("/api/v1/events").json()["events"])
    series = scrape(live)
    counted = 0.0
    for source in ("claude_code", "otlp"):
        assert value(series, "agentops_ingest_batches_total", source=source) == 1
        events = value(series, "agentops_ingest_events_total", source=source)
        assert events >= 1, source
        counted += events
    assert counted <= logged
    assert value(series, "agentops_ingest_batches_total", source="rest") == 0
