"""Notifications end to end: a real server, ingest over HTTP, apprise posting to a local
webhook; cooldown batching, retries of a broken channel, the delivery log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentops_tui.server.notify.log import Outcome
from agentops_tui.server.notify.rules import NotifyRule
from agentops_tui.server.store.sqlite import Retention
from agentops_tui.server.store.writer import WriteContext

from alerting import Clock, alert_server
from conftest import LiveServer, start_server
from factories import agent, started, usage
from notify_receiver import Receiver, closed_port
from waiting import wait_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def serve(tmp_path: Path, *rules: NotifyRule) -> LiveServer:
    return start_server(tmp_path / "agentops.db", notify=rules, notify_retry_seconds=0.05)


def approvals(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"type": "approval.requested", "approval_id": f"ap-{i}", "session_id": "se-1",
             "summary": f"deploy build {i} to prod?"} for i in range(start, start + count)]


def ingest(live: LiveServer, events: list[dict[str, Any]]) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()


def deliveries(live: LiveServer, **params: Any) -> list[dict[str, Any]]:
    with live.client() as c:
        r = c.get("/api/v1/notifications", params=params)
    r.raise_for_status()
    found: list[dict[str, Any]] = r.json()["notifications"]
    return found


def test_an_approval_reaches_the_webhook(tmp_path: Path, receiver: Receiver) -> None:
    rule = NotifyRule(name="hook", url=receiver.url(), on=("approval", "waiting"),
                      cooldown_seconds=0)
    live = serve(tmp_path, rule)
    try:
        ingest(live, [agent("ag-1", name="Billing bot"),
                      started("se-1", "ag-1", title="Refund batch"), *approvals(1)])
        post = wait_for(lambda: receiver.posts, what="the webhook to be called")[0]
        assert post["title"] == "agentops: Approval needed: deploy build 0 to prod?"
        body = post["message"]
        assert "'Refund batch' (se-1) of agent Billing bot" in body
        assert "agentops tui" in body and "Review" in body and "Workspace: default" in body
        # the session now waits for that approval: no `waiting` message besides it (a later
        # approval's message comes after any the first commit made: one queue per rule)
        ingest(live, approvals(1, start=1))
        wait_for(lambda: len(deliveries(live)) == 2, what="two deliveries")
        assert [r["kinds"] for r in deliveries(live)] == [["approval"], ["approval"]]
        row = deliveries(live)[-1]
        assert (row["rule"], row["status"], row["count"], row["kinds"], row["attempts"]) == (
            "hook", "sent", 1, ["approval"], 1)
        assert row["channel"] == f"json://127.0.0.1:{receiver.port}/…"
        with live.client() as c:
            entries = c.get("/api/v1/audit", params={"action": "notify."}).json()["entries"]
            viewer = live.token_for("viewer")
            with live.client(viewer) as v:
                assert v.get("/api/v1/notifications").status_code == 200
            assert c.get("/api/v1/notifications", params={"limit": 0}).status_code == 422
        assert [(e["action"], e["target"], e["result"]) for e in entries] == [
            ("notify.sent", "hook", "sent")] * 2
    finally:
        live.server.stop()


def test_a_burst_is_one_message_then_one_batch(tmp_path: Path, receiver: Receiver) -> None:
    rule = NotifyRule(name="burst", url=receiver.url(), on=("approval",), cooldown_seconds=0.5)
    live = serve(tmp_path, rule)
    try:
        ingest(live, [agent("ag-1"), started("se-1", "ag-1", title="Refund batch")])
        ingest(live, approvals(20))
        wait_for(lambda: len(deliveries(live)) == 2, what="two deliveries")
        titles = receiver.titles()
        assert titles == ["agentops: Approval needed: deploy build 0 to prod?",
                          "agentops: 19 approvals need you"]
        batch = receiver.posts[1]["message"]
        assert batch.startswith("19 approvals need you:")
        assert "deploy build 1 to prod?" in batch and "… and 9 more" in batch
        newest, oldest = deliveries(live)
        assert (newest["count"], oldest["count"]) == (19, 1)
        assert newest["first_event_id"] < newest["last_event_id"]
        # paging: one at a time, newest first, then the end
        page = deliveries(live, limit=1)
        with live.client() as c:
            body = c.get("/api/v1/notifications", params={"limit": 1}).json()
            older = c.get("/api/v1/notifications",
                          params={"limit": 1, "before": body["next_before"]}).json()
        assert page[0]["id"] == newest["id"] and older["notifications"][0]["id"] == oldest["id"]
    finally:
        live.server.stop()


def test_a_broken_channel_is_retried_logged_and_blocks_nothing(
        tmp_path: Path, receiver: Receiver) -> None:
    broken = Receiver(status=500)
    rules = (
        NotifyRule(name="broken", url=broken.url(), on=("approval",), cooldown_seconds=0),
        NotifyRule(name="nobody", url=f"json://127.0.0.1:{closed_port()}/hook",
                   on=("approval",), cooldown_seconds=0),
        NotifyRule(name="good", url=receiver.url(), on=("approval",), cooldown_seconds=0),
    )
    live = serve(tmp_path, *rules)
    try:
        ingest(live, [agent("ag-1"), started("se-1", "ag-1"), *approvals(1)])
        wait_for(lambda: receiver.posts, what="the good channel")
        wait_for(lambda: len(deliveries(live)) == 3, what="three deliveries")
        ingest(live, approvals(1, start=1))  # ingest still answers while channels fail
        by_rule = {row["rule"]: row for row in deliveries(live)}
        assert by_rule["good"]["status"] == "sent"
        for name in ("broken", "nobody"):
            row = by_rule[name]
            assert (row["status"], row["attempts"]) == ("failed", 4), row
            assert row["error"]
        assert len(broken.posts) >= 4
        assert "500" in by_rule["broken"]["error"] or "Internal" in by_rule["broken"]["error"]
        assert deliveries(live, status="failed", rule="broken")[0]["rule"] == "broken"
    finally:
        live.server.stop()
        broken.close()


def test_filters_pick_the_rules(tmp_path: Path, receiver: Receiver) -> None:
    other = Receiver()
    rules = (
        NotifyRule(name="ops", url=receiver.url(), on=("approval",), agents=("ag-1",),
                   cooldown_seconds=0),
        NotifyRule(name="critical-only", url=other.url(), min_severity="critical",
                   cooldown_seconds=0),
    )
    live = serve(tmp_path, *rules)
    try:
        ingest(live, [agent("ag-1"), agent("ag-2"), started("se-1", "ag-1"),
                      started("se-2", "ag-2"), *approvals(1),
                      {"type": "approval.requested", "approval_id": "ap-x",
                       "session_id": "se-2", "summary": "other agent's ask"}])
        wait_for(lambda: deliveries(live), what="a delivery")
        ingest(live, approvals(1, start=5))  # a later one, to be sure the first was alone
        wait_for(lambda: len(deliveries(live)) == 2, what="two deliveries")
        assert all("other agent" not in t for t in receiver.titles())
        assert other.posts == []  # approvals are warnings, and nothing here is critical
    finally:
        live.server.stop()
        other.close()


def test_every_kind_says_what_and_how(tmp_path: Path, receiver: Receiver) -> None:
    """A budget alert, a waiting session, a failed and an expired command, each a message."""
    clock = Clock()
    table = {"budget": {"task": {"warning": 2, "critical": 100},
                        "agent": {"enabled": False}, "workspace": {"enabled": False}},
             "runaway_cost": {"session": {"enabled": False}, "agent": {"enabled": False}}}
    rule = NotifyRule(name="all", url=receiver.url(), on=("budget", "waiting", "command"),
                      cooldown_seconds=0)
    with alert_server(tmp_path, clock, table, notify=(rule,), notify_retry_seconds=0.05,
                      command_expiry_seconds=0.5) as live, live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-1", name="Billing bot"),
            started("se-1", "ag-1", title="Refunds", task_id="t-1", ts=clock.t),
            usage(inp=1_000_000, out=0, ts=clock.t),  # t-1 costs $3, over its $2
            {"type": "session.status", "session_id": "se-1", "status": "waiting",
             "detail": "which account?"},
        ]}).raise_for_status()
        cmd = c.post("/api/v1/sessions/se-1/pause").json()
        c.post(f"/api/v1/commands/{cmd['id']}/ack",
               json={"ok": False, "detail": "mid-transaction"}).raise_for_status()
        c.post("/api/v1/sessions/se-1/kill").raise_for_status()  # never acked: expires
        wait_for(lambda: len(receiver.posts) >= 4, what="four messages")
        by_title = {post["title"]: post["message"] for post in receiver.posts}
        assert set(by_title) == {
            "agentops: Waiting for input: which account?",
            "agentops: Warning alert raised: " + next(
                t.split("raised: ", 1)[1] for t in by_title if "alert raised" in t),
            "agentops: Command pause failed: mid-transaction",
            "agentops: Command kill expired: the agent did not acknowledge in time",
        }, by_title
        budget = next(m for t, m in by_title.items() if "alert raised" in t)
        assert "task t-1" in budget and "Alerts (press 6)" in budget
        waiting = by_title["agentops: Waiting for input: which account?"]
        assert "'Refunds' (se-1) of agent Billing bot" in waiting
        kinds = {row["kinds"][0] for row in deliveries(live)}
        assert kinds == {"budget", "waiting", "command"}


def test_the_notify_benchmark_measures_a_delivery() -> None:
    from agentops_tui.bench import notify

    figures = {r.name: r for r in notify.run(quick=True)}
    assert figures["notify_approval_delivered_p99_ms"].budget == "<= 2000"
    for figure in figures.values():
        assert figure.value is not None and figure.value > 0 and figure.baseline


def test_the_delivery_log_is_pruned_with_the_retention_limits(tmp_path: Path) -> None:
    """Rows older than the age limit go, and no more rows stay than the log keeps events."""
    live = start_server(tmp_path / "pruned.db", retention=Retention(
        max_events=3, max_age_seconds=86400, every_commits=1))

    def deliver(rule: str, age_seconds: float) -> None:
        def job(ctx: WriteContext) -> None:
            ctx.now = time.time() - age_seconds
            Outcome("default", rule, "json://127.0.0.1/hook", ("approval",), 1, "t", "sent", 1,
                    None, None, None).record(ctx)
        live.server.run_job(job)

    try:
        for n in range(2):
            deliver(f"old-{n}", 2 * 86400)
        for n in range(4):
            deliver(f"new-{n}", 60)
        assert [row["rule"] for row in deliveries(live)] == ["new-3", "new-2", "new-1"]
    finally:
        live.server.stop()
