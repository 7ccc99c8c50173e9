"""Review mode: 20 items triaged with 20 keystrokes while new ones arrive; the item being read
never changes under the cursor; undo really undoes."""

from __future__ import annotations

from typing import Any

from agentops_tui.client.connection import Connection
from agentops_tui.core.fleet import Fleet
from agentops_tui.tui.app import create_app
from agentops_tui.tui.review_items import ReviewQueue, current_items
from agentops_tui.tui.screens.review import ReviewScreen

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
        await until(pilot, lambda: len(app.fleet.approvals) == 2)
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.queue.current == "approval:ap-00")
        await pilot.press("a")
        assert screen.queue.current == "approval:ap-01"
        await pilot.press("u")
        assert screen.queue.current == "approval:ap-00"
        await pilot.pause(0.5)
        with live.client() as c:
            assert len(c.get("/api/v1/approvals?status=pending").json()["approvals"]) == 2
