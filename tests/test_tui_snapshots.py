"""Snapshot tests of each screen at 120×40 and 80×24, with a fixed fleet and a frozen clock.

The server listens on a free loopback port; the header shows a fixed address instead
(`SHOWN_URL`), so snapshots do not depend on the port. Local time is UTC so log timestamps
are stable too. Screens whose figures the server computes
against its own now (cost windows, alerts) pin that too, with `ServerSettings.clock`.
Update snapshots only deliberately:
`pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from agentops_tui.client.connection import Connection
from agentops_tui.server import audit
from agentops_tui.server.alerts.config import parse_alert_settings
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token
from agentops_tui.server.store.writer import WriteContext
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import FROZEN, PinnedClock, frozen_clock, seed, until

SHOWN_URL = "http://127.0.0.1:47873"  # the backend address the header shows in snapshots
SIZES = [(120, 40), (80, 24)]


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


@contextmanager
def serving(tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    """The seeded fleet on a free port; `settings` go to `ServerSettings`."""
    db = tmp_path / "snap.db"
    # Without auth no token is made, and so no audit entry with the wall clock and user name.
    token = make_token(db, "admin", "snapshots") if settings.get("auth", True) else "none"
    server = EmbeddedServer(ServerSettings(db_path=db, **settings))
    url = server.start()
    live = LiveServer(url=url, db=db, token=token, server=server)
    try:
        with live.client() as c:
            seed(c)
        yield live
    finally:
        server.stop()


@pytest.fixture
def fixed_server(tmp_path: Path, utc: None) -> Iterator[LiveServer]:
    with serving(tmp_path) as live:
        yield live


def _app(live: LiveServer) -> AgentOpsApp:
    connection = Connection(live.url, live.token)
    # Only the header reads `base_url`; requests go through the client already bound to
    # the real port.
    connection.api.base_url = SHOWN_URL
    return create_app(connection, clock=frozen_clock)


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


def _opens_table(key: str, table_id: str, rows: int,
                 what: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A `run_before` that readies the fleet, opens a screen by `key` and waits until its
    table holds `rows` rows and the header is drawn."""

    async def show(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press(key)
        app: AgentOpsApp = pilot.app  # type: ignore[assignment]
        table = app.screen.query_one(f"#{table_id}", VirtualTable)
        await until(pilot, lambda: len(table.keys) == rows, what=what)
        await _header_drawn(pilot)

    return show


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


# ---- screens whose figures come from the server's clock: it is pinned (`PinnedClock`) ----


def _evaluated(c: httpx.Client, passes: int = 3) -> None:
    """Let the alert evaluator run `passes` more times on the current data and clock."""
    start = c.get("/api/v1/alerts/engine").json()["evaluations"]
    deadline = time.monotonic() + 10
    while c.get("/api/v1/alerts/engine").json()["evaluations"] < start + passes:
        assert time.monotonic() < deadline, "the alert evaluator is not running"
        time.sleep(0.02)


def _open_alerts(c: httpx.Client) -> list[tuple[str, str, str, str]]:
    alerts = c.get("/api/v1/alerts", params={"status": "open,acked"}).json()["alerts"]
    return sorted((a["rule"], a["subject_id"], a["severity"], a["status"]) for a in alerts)


def _seed_spend_history(live: LiveServer) -> None:
    """A day of finished sessions, one an hour, so the trend and every table have rows."""
    crews = [("ag-coder", "claude-sonnet-4-5", "wt_login"),
             ("ag-research", "gemini-2.5-pro", "wt_docs"),
             ("ag-triage", "claude-haiku-4-5", "wt_checkout"), ("ag-review", "gpt-5", None)]
    events: list[dict[str, Any]] = []
    for hour in range(1, 24):
        agent, model, task = crews[hour % len(crews)]
        sid = f"se-h{hour:02d}"
        end = FROZEN - hour * 3600
        cost = round(0.05 + 0.04 * (hour % 7) + (0.6 if hour in (3, 4, 9) else 0.0), 2)
        events += [
            {"type": "session.started", "ts": end - 900, "session_id": sid, "agent_id": agent,
             "title": f"batch {hour}", **({"task_id": task} if task else {})},
            {"type": "session.usage", "ts": end - 300, "session_id": sid, "model": model,
             "input_tokens": 20_000 + 1_000 * hour, "output_tokens": 2_000, "cost_usd": cost},
            {"type": "session.ended", "ts": end, "session_id": sid,
             "status": "failed" if hour == 9 else "completed"},
        ]
    with live.client() as c:
        r = c.post("/api/v1/ingest", json={"events": events})
        assert r.status_code == 202, r.text


class TestCosts:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_costs(self, snap_compare: Any, tmp_path: Path, utc: None,
                   size: tuple[int, int]) -> None:
        with serving(tmp_path, clock=PinnedClock(FROZEN)) as live:
            _seed_spend_history(live)
            with live.client() as c:
                _evaluated(c)
                # the only rule that fires: se-grand has been quiet for almost 3 minutes
                assert _open_alerts(c) == [("stuck_session", "se-grand", "warning", "open")]

            async def show_costs(pilot: Pilot[Any]) -> None:
                await _ready(pilot)
                await pilot.press("4")
                app: AgentOpsApp = pilot.app  # type: ignore[assignment]
                body = app.screen.query_one("#costs-budgets", Static)
                await until(pilot, lambda: "workspace" in str(body.render()),
                            what="the figures")
                await _header_drawn(pilot)

            assert snap_compare(_app(live), terminal_size=size, run_before=show_costs)


def _raise_alerts(live: LiveServer, clock: PinnedClock) -> None:
    """One alert of each kind the screen sorts apart: open critical, open warning, acked.

    The clock steps forward so they are raised at different times, and ends at the console's
    frozen now, where every one of them still fires."""
    with live.client() as c:
        spend = {"type": "session.usage", "ts": FROZEN - 100, "session_id": "se-root",
                 "cost_usd": 12.0}
        assert c.post("/api/v1/ingest", json={"events": [spend]}).status_code == 202
        deadline = time.monotonic() + 10
        while len(_open_alerts(c)) < 2:
            assert time.monotonic() < deadline, f"alerts so far: {_open_alerts(c)}"
            time.sleep(0.02)
        budget = c.get("/api/v1/alerts", params={"rule": "budget_exceeded"}).json()["alerts"]
        assert c.post(f"/api/v1/alerts/{budget[0]['id']}/ack").status_code == 200
        clock.t = FROZEN - 40  # se-grand has now been quiet for over 2 minutes
        _evaluated(c)
        clock.t = FROZEN
        _evaluated(c)
        assert _open_alerts(c) == [
            ("budget_exceeded", "wt_login", "warning", "acked"),
            ("runaway_cost", "se-root", "critical", "open"),
            ("stuck_session", "se-grand", "warning", "open"),
        ]


class TestAlerts:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_alerts(self, snap_compare: Any, tmp_path: Path, utc: None,
                    size: tuple[int, int]) -> None:
        clock = PinnedClock(FROZEN - 100)
        # the agent's runaway rule would say what the session's does, a row apart
        rules = parse_alert_settings({"interval_seconds": 0.05,
                                      "runaway_cost": {"agent": {"enabled": False}}})
        with serving(tmp_path, clock=clock, alerts=rules) as live:
            _raise_alerts(live, clock)

            assert snap_compare(_app(live), terminal_size=size,
                                run_before=_opens_table("6", "alerts", 3, "three alerts"))


def _seed_audit(live: LiveServer) -> None:
    """Audit entries as actions write them, at fixed times. The log is written directly
    because operator actions are stamped by the store's own clock, which a test cannot pin."""
    entries = [
        ("olga", "10.0.4.21", "session.pause", "se-root", None, "accepted", -540),
        ("olga", "10.0.4.21", "session.resume", "se-root", None, "accepted", -480),
        ("system", None, "session.pause", "se-child",
         {"reason": "session se-child spent $5.20 in the last 5 min"}, "accepted", -420),
        ("sam", "10.0.7.3", "session.inject", "se-root",
         {"message": "use the v2 cookie flags"}, "accepted", -360),
        ("sam", "10.0.7.3", "session.kill", "se-child", None,
         "rejected: cannot kill session 'se-child': it is failed", -300),
        ("olga", "10.0.4.21", "alert.ack", "alr_5f1c0d2e9a7b3c41", None, "accepted", -240),
        ("ci-bot", "10.0.9.14", "task.create", "wt_login",
         {"name": "Login times out on mobile", "priority": 5}, "accepted", -180),
        ("sam", "10.0.7.3", "approval.approve", "apr_91b2", None, "accepted", -120),
    ]

    def write(ctx: WriteContext) -> None:
        for actor, address, action, target, payload, result, offset in entries:
            audit.record(ctx.conn, audit.Actor(actor, "default", address), action, target,
                         payload, result, FROZEN + offset)

    live.server.run_job(write)


class TestAudit:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_audit(self, snap_compare: Any, tmp_path: Path, utc: None,
                   size: tuple[int, int]) -> None:
        with serving(tmp_path, auth=False) as live:
            _seed_audit(live)

            assert snap_compare(_app(live), terminal_size=size,
                                run_before=_opens_table("7", "audit", 8, "the audit rows"))
