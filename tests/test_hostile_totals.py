"""Values each in range that add up past what the store's integers hold, and event times
that are the agent's word: neither may take other clients' data or writes down."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agentops_tui.server.store.sqlite import Retention

from conftest import LiveServer, start_server


def _ingest(live: LiveServer, events: list[dict[str, Any]], token: str | None = None) -> None:
    with live.client(token) as c:
        r = c.post("/api/v1/ingest", json={"events": events})
        assert r.status_code == 202, r.text


def test_an_old_event_time_prunes_only_what_is_older(tmp_path: Path) -> None:
    live = start_server(tmp_path / "p.db", retention=Retention(every_commits=1))
    try:
        victim = live.token_for("operator", "victim")
        mallory = live.token_for("operator", "mallory")
        _ingest(live, [{"type": "agent.registered", "agent_id": "va", "event_key": "k1"}],
                victim)
        _ingest(live, [{"type": "agent.registered", "agent_id": "old", "ts": 0},
                       {"type": "session.started", "session_id": "ms", "agent_id": "old"}],
                mallory)
        for i in range(3):  # commits that prune, once the log's messages are in their table
            time.sleep(0.6)
            _ingest(live, [{"type": "session.message", "session_id": "ms", "content": f"{i}"}],
                    mallory)
        with live.client(victim) as c:
            page = c.get("/api/v1/events", params={"after": 0}).json()
            assert not page.get("reset") and [e["type"] for e in page["events"]] == [
                "agent.registered"]
            again = c.post("/api/v1/ingest", json={"events": [
                {"type": "agent.registered", "agent_id": "va", "event_key": "k1"}]}).json()
            assert (again["accepted"], again["duplicates"]) == (0, 1)  # the key still dedups
    finally:
        live.server.stop()


def _usage(sid: str, cost: float) -> dict[str, Any]:
    return {"type": "session.usage", "session_id": sid, "model": "claude-sonnet-4-5",
            "input_tokens": 1, "output_tokens": 1, "cost_usd": cost}


def test_costs_past_the_integer_range_fail_no_one(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    live = start_server(db)
    big = live.token_for("operator", "big")
    try:
        for s in ("s1", "s2"):  # two agents: two rows, each in range, their sum is not
            _ingest(live, [{"type": "agent.registered", "agent_id": f"a-{s}"},
                           {"type": "session.started", "session_id": s, "agent_id": f"a-{s}"}]
                    + [_usage(s, 1_000_000.0) for _ in range(498)], big)
    finally:
        live.server.stop()
    live = start_server(db)  # cold caches: the alert feeds sum the tables again
    try:
        _ingest(live, [{"type": "session.started", "session_id": "s3", "agent_id": "a-s1"},
                       _usage("s3", 1.0)], big)
        _ingest(live, [{"type": "agent.registered", "agent_id": "ok"}])  # another workspace
        with live.client(big) as c:
            for path in ("/api/v1/costs?group_by=model", "/api/v1/costs?group_by=task",
                         "/api/v1/costs/timeline", "/api/v1/metrics/current"):
                assert c.get(path).status_code == 200, path
            assert c.get("/api/v1/costs").json()["total_usd"] >= 996_000_000.0
    finally:
        live.server.stop()
