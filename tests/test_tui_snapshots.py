"""Snapshot tests of each screen at 120×40 and 80×24, with a fixed fleet and a frozen clock.

The server listens on a fixed loopback port so the backend address in the header is stable,
and local time is UTC so log timestamps are too. Update snapshots only deliberately:
`pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import FROZEN, frozen_clock, seed, until

SNAPSHOT_PORT = 47_873
SIZES = [(120, 40), (80, 24)]


@pytest.fixture
def fixed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    db = tmp_path / "snap.db"
    token = make_token(db, "admin", "snapshots")
    server = EmbeddedServer(ServerSettings(db_path=db), port=SNAPSHOT_PORT)
    url = server.start()
    live = LiveServer(url=url, db=db, token=token, server=server)
    with live.client() as c:
        seed(c)
    try:
        yield live
    finally:
        server.stop()
        monkeypatch.delenv("TZ")
        time.tzset()


def _app(live: LiveServer) -> AgentOpsApp:
    return create_app(Connection(live.url, live.token), clock=frozen_clock)


async def _ready(pilot: Pilot[Any]) -> None:
    app: AgentOpsApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: len(app.fleet.agents) == 4
                and app.connection.status.state == "live", what="live state")
    await until(pilot, lambda: len(app.screen.query_one("#roster", VirtualTable).keys) == 4)
    roster = app.screen.query_one("#roster", VirtualTable)
    roster.move_to("ag-coder")
    await pilot.pause()
    sessions = app.screen.query_one("#sessions", VirtualTable)
    await until(pilot, lambda: "se-root" in sessions.keys)
    sessions.move_to("se-root")
    log = app.screen.query_one("#log")
    await until(pilot, lambda: len(log.messages) == 12)  # type: ignore[attr-defined]
    await pilot.pause(0.3)


async def _header_drawn(pilot: Pilot[Any]) -> None:
    """A screen shown by a key draws its header on the next tick; a busy machine can be late."""
    status = pilot.app.screen.query_one(StatusLine)
    await until(pilot, lambda: "Live" in str(status.render()), what="the header")
    await pilot.pause(0.3)


class TestFleet:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_fleet(self, snap_compare: Any, fixed_server: LiveServer,
                   size: tuple[int, int]) -> None:
        assert snap_compare(_app(fixed_server), terminal_size=size, run_before=_ready)


class TestTree:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_tree(self, snap_compare: Any, fixed_server: LiveServer,
                  size: tuple[int, int]) -> None:
        async def show_tree(pilot: Pilot[Any]) -> None:
            await _ready(pilot)
            await pilot.press("2")
            app: AgentOpsApp = pilot.app  # type: ignore[assignment]
            tree = app.screen.query_one("#tree", VirtualTable)
            await until(pilot, lambda: len(tree.keys) == 4)
            await pilot.pause(0.3)

        assert snap_compare(_app(fixed_server), terminal_size=size, run_before=show_tree)


def _seed_board(live: LiveServer) -> None:
    """Queues and tasks in every column; deadlines relative to the frozen clock, except the
    long-missed ones the server marks as breached before the console starts."""
    missed = 1_700_000_000.0

    def task(c: Any, queue: str, name: str, agent: str | None = None, **kw: Any) -> str:
        r = c.post(f"/api/v1/work-queues/{queue}/tasks", json={"name": name, **kw})
        assert r.status_code == 201, r.text
        if agent is not None:
            taken = c.post(f"/api/v1/work-queues/{queue}/dequeue", json={"agent_id": agent})
            assert taken.json()["id"] == r.json()["id"]
        return str(r.json()["id"])

    with live.client() as c:
        triage = c.post("/api/v1/work-queues", json={"name": "triage"}).json()["id"]
        research = c.post("/api/v1/work-queues", json={"name": "research"}).json()["id"]
        login = task(c, triage, "Login times out on mobile", "ag-coder", priority=5,
                     deadline=missed)
        task(c, triage, "Review migration 0042", "ag-review", priority=4,
             deadline=FROZEN + 3 * 3600)
        vectors = task(c, research, "Compare vector stores for docs", "ag-research",
                       priority=2)
        checkout = task(c, triage, "Triage checkout errors", "ag-triage", priority=3)
        hotfix = task(c, triage, "Hotfix release notes", "ag-review", priority=4,
                      deadline=missed)
        survey = task(c, research, "Survey agent eval frameworks", "ag-research", priority=2)
        task(c, triage, "Rotate the staging API keys", priority=4, deadline=FROZEN - 180)
        task(c, triage, "Flaky test in payments suite", priority=3, deadline=FROZEN + 720)
        task(c, triage, "Bump dependencies", priority=1)
        events = [
            {"type": "session.started", "ts": FROZEN - 300, "session_id": "se-t1",
             "agent_id": "ag-coder", "task_id": login, "title": "login timeout"},
            {"type": "session.started", "ts": FROZEN - 250, "session_id": "se-t2",
             "agent_id": "ag-research", "parent_session_id": "se-t1", "title": "read logs"},
            {"type": "session.started", "ts": FROZEN - 200, "session_id": "se-v1",
             "agent_id": "ag-research", "task_id": vectors, "title": "vector stores"},
            {"type": "session.started", "ts": FROZEN - 400, "session_id": "se-c1",
             "agent_id": "ag-triage", "task_id": checkout, "title": "checkout errors"},
            {"type": "session.usage", "ts": FROZEN - 100, "session_id": "se-t1",
             "input_tokens": 1000, "cost_usd": 1.25},
            {"type": "session.usage", "ts": FROZEN - 90, "session_id": "se-t2",
             "input_tokens": 1000, "cost_usd": 0.0042},
            {"type": "session.usage", "ts": FROZEN - 80, "session_id": "se-v1",
             "input_tokens": 1000, "cost_usd": 0.31},
            {"type": "session.usage", "ts": FROZEN - 350, "session_id": "se-c1",
             "input_tokens": 1000, "cost_usd": 0.07},
            {"type": "session.ended", "ts": FROZEN - 340, "session_id": "se-c1"},
        ]
        assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
        deadline = time.monotonic() + 10
        while not all(c.get(f"/api/v1/tasks/{t}").json()["sla_breached"]
                      for t in (login, hotfix)):
            assert time.monotonic() < deadline, "no SLA breach"
            time.sleep(0.1)
        for done in (checkout, hotfix):
            assert c.post(f"/api/v1/work-queue-tasks/{done}/complete").status_code == 200
        assert c.post(f"/api/v1/work-queue-tasks/{survey}/fail",
                      json={"error": "rate limited by the search API"}).status_code == 200


class TestTasks:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_tasks(self, snap_compare: Any, fixed_server: LiveServer,
                   size: tuple[int, int]) -> None:
        _seed_board(fixed_server)

        async def show_board(pilot: Pilot[Any]) -> None:
            await _ready(pilot)
            await pilot.press("3")
            app: AgentOpsApp = pilot.app  # type: ignore[assignment]
            kanban = app.screen.query_one(Kanban)
            await until(pilot, lambda: [c.total for c in kanban.columns] == [3, 1, 2, 2, 1],
                        what="every card")
            await pilot.press("right", "right", "down")
            await _header_drawn(pilot)

        assert snap_compare(_app(fixed_server), terminal_size=size, run_before=show_board)


class TestReview:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_review(self, snap_compare: Any, fixed_server: LiveServer,
                    size: tuple[int, int]) -> None:
        async def show_review(pilot: Pilot[Any]) -> None:
            await _ready(pilot)
            await pilot.press("5")
            app: AgentOpsApp = pilot.app  # type: ignore[assignment]
            await until(pilot, lambda: getattr(app.screen, "queue", None) is not None
                        and app.screen.queue.current == "waiting:se-wait",  # type: ignore[attr-defined]
                        what="the waiting session in review")
            await _header_drawn(pilot)

        assert snap_compare(_app(fixed_server), terminal_size=size, run_before=show_review)
