"""Review mode: 20 items triaged with 20 keystrokes while new ones arrive; the item being read
never changes under the cursor; undo really undoes."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.core.fleet import Fleet
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.review_items import ReviewQueue, current_items
from agentops_tui.tui.screens.modals import InjectScreen
from agentops_tui.tui.screens.review import ReviewScreen
from agentops_tui.tui.widgets.pane_title import PaneTitle

from conftest import LiveServer
from tui_support import frozen_clock, until


def _approvals(n: int, start: int = 0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(start, start + n):
        events.append({"type": "session.started", "session_id": f"se-{i}",
                       "agent_id": f"ag-{i % 5}", "title": f"job {i}"})
        events.append({"type": "approval.requested", "approval_id": f"ap-{i:02d}",
                       "session_id": f"se-{i}", "summary": f"deploy build {i}?"})
    return events


async def open_review(app: AgentOpsApp, pilot: Pilot[None], *, approvals: int, first: str
                      ) -> ReviewScreen:
    """Once the approvals are in, press 5 and wait for Review to show `first`."""
    await until(pilot, lambda: len(app.fleet.approvals) == approvals)
    await pilot.press("5")
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await until(pilot, lambda: screen.queue.current == first)
    return screen


def test_queue_pins_the_current_item() -> None:
    fleet = Fleet()
    for i, e in enumerate(_approvals(3), start=1):
        fleet.apply(i, e["type"], float(i), e)
    queue = ReviewQueue()
    queue.sync(current_items(fleet))
    assert queue.current == "approval:ap-00"
    for i, e in enumerate(_approvals(2, start=3), start=10):
        fleet.apply(i, e["type"], float(i), e)
    queue.sync(current_items(fleet))
    assert queue.current == "approval:ap-00" and queue.new_since_current == 2
    live = current_items(fleet)
    queue.skip(live)
    assert queue.current == "approval:ap-01"
    queue.handle("approval:ap-01", live)
    assert queue.current == "approval:ap-02"
    queue.restore("approval:ap-01")
    assert queue.current == "approval:ap-01"


async def test_twenty_items_twenty_keystrokes(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": _approvals(12)}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.approvals) == 12, what="approvals")
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.queue.current == "approval:ap-00")
        seen: list[str] = []
        for n in range(20):
            if n == 3:  # more work arrives while the operator is busy
                with live.client() as c:
                    c.post("/api/v1/ingest", json={"events": _approvals(8, start=12)}
                           ).raise_for_status()
                await until(pilot, lambda: len(app.fleet.approvals) == 20, what="new items")
                await pilot.pause(0.3)
            current = screen.queue.current
            assert current is not None and current not in seen
            seen.append(current)
            await pilot.pause(0.15)  # a tick or two: the item must not change meanwhile
            assert screen.queue.current == current
            await pilot.press("a" if n % 5 else "x")
            if n % 5 == 0:
                await pilot.press("enter")  # no reason given
        assert len(set(seen)) == 20
        assert screen.queue.current is None
        app.screen.flush_decisions()  # type: ignore[attr-defined]
        with live.client() as c:
            await until(pilot, lambda: len(c.get("/api/v1/approvals",
                                                 params={"status": "pending"}).json()[
                "approvals"]) == 0, what="every decision sent")
            rejected = c.get("/api/v1/approvals", params={"status": "rejected"}).json()
        assert len(rejected["approvals"]) == 4


async def test_undo_within_seconds(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": _approvals(2)}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot, approvals=2, first="approval:ap-00")
        await pilot.press("a")
        assert screen.queue.current == "approval:ap-01"
        await pilot.press("u")
        assert screen.queue.current == "approval:ap-00"
        await pilot.pause(0.5)
        with live.client() as c:
            assert len(c.get("/api/v1/approvals?status=pending").json()["approvals"]) == 2


def test_task_items_failed_and_late_without_duplicating_their_alert() -> None:
    fleet = Fleet()
    base = {"queue_id": "wq_1", "priority": 3, "created_at": 1.0, "updated_at": 1.0}
    fleet.apply(1, "task.created", 1.0, {**base, "id": "wt_a", "name": "broken",
                                         "status": "failed", "error": "no repro"})
    fleet.apply(2, "task.updated", 2.0, {**base, "id": "wt_b", "name": "late", "deadline": 1.5,
                                         "sla_breached": True, "status": "running"})
    fleet.apply(3, "task.updated", 3.0, {**base, "id": "wt_c", "name": "late and done",
                                         "sla_breached": True, "status": "complete"})
    items = current_items(fleet)
    assert sorted(items) == ["failed:wt_a", "sla:wt_b"]
    fleet.apply(4, "alert.raised", 4.0, {
        "id": "al-1", "rule": "sla_breached", "severity": "warning", "subject_type": "task",
        "subject_id": "wt_b", "message": "task late", "value": 1.0, "threshold": 0.0,
        "raised_at": 4.0, "updated_at": 4.0})
    assert sorted(current_items(fleet)) == ["alert:al-1", "failed:wt_a"]


async def test_a_dismisses_a_failed_task_and_shows_its_context(live: LiveServer) -> None:
    with live.client() as c:
        q = c.post("/api/v1/work-queues", json={"name": "triage"}).json()["id"]
        t = c.post(f"/api/v1/work-queues/{q}/tasks", json={"name": "flaky test", "priority": 5}
                   ).json()["id"]
        c.post(f"/api/v1/work-queue-tasks/{t}/fail", json={"error": "cannot reproduce"})
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: t in app.fleet.tasks, what="task")
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.queue.current == f"failed:{t}")
        text = screen._explain(screen.items[f"failed:{t}"])
        assert "P5" in text and "queue triage" in text and "cannot reproduce" in text
        assert "a dismiss" in text
        await pilot.press("a")
        await until(pilot, lambda: screen.queue.current is None)
        with live.client() as c:
            assert c.get(f"/api/v1/tasks/{t}").json()["status"] == "failed"


async def test_an_approval_names_the_task_its_session_works_on(live: LiveServer) -> None:
    with live.client() as c:
        q = c.post("/api/v1/work-queues", json={"name": "deploys"}).json()["id"]
        t = c.post(f"/api/v1/work-queues/{q}/tasks", json={"name": "ship release 4.2"}
                   ).json()["id"]
        c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "ag-1", "name": "deployer"},
            {"type": "session.started", "session_id": "se-1", "agent_id": "ag-1",
             "title": "deploy", "task_id": t},
            {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
             "summary": "push to production?"},
        ]}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "ap-1" in app.fleet.approvals and t in app.fleet.tasks,
                    what="approval and task")
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.queue.current == "approval:ap-1")
        text = screen._explain(screen.items["approval:ap-1"])
        assert "agent deployer" in text and "task ship release 4.2" in text
        assert t not in text


async def test_text_from_agents_is_shown_as_written_not_read_as_markup(live: LiveServer
                                                                        ) -> None:
    summary = "[/b] drop [red]prod[/red] tables?"
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.started", "session_id": "se-1", "agent_id": "ag-1"},
            {"type": "approval.requested", "approval_id": "ap-1", "session_id": "se-1",
             "summary": summary},
            {"type": "session.started", "session_id": "se-2", "agent_id": "ag-1"},
            {"type": "approval.requested", "approval_id": "ap-2", "session_id": "se-2",
             "summary": "[bold]ship[/] it?"},
        ]}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot, approvals=2, first="approval:ap-1")
        await pilot.press("a")  # the title offers to undo it, quoting the summary
        await until(pilot, lambda: screen.queue.current == "approval:ap-2")
        await pilot.pause(0.2)
        title = screen.query_one("#review-title", PaneTitle).text
        # quoted as written, cut between words
        assert "u undoes: approve [/b] drop [red]prod[/red]…" in title
        await pilot.press("x")  # the reason prompt names the approval too
        await until(pilot, lambda: isinstance(app.screen, InjectScreen), what="reason prompt")
        await pilot.press("enter")
        await until(pilot, lambda: screen.queue.current is None, what="both decided")
        await pilot.press("u")  # the notice quotes the summary, as plain text
        notice = list(app._notifications)[-1]
        assert notice.message == "Undone: reject [bold]ship[/] it?" and not notice.markup
        assert app.is_running
