"""The Tasks board under Pilot, against a live embedded server: queues and tasks made through
the REST API, sessions through the SDK, cards moving between columns as it happens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from textual.pilot import Pilot
from textual.widgets import Label

from agentops_tui.client.connection import Connection
from agentops_tui.sdk import AsyncAgentClient
from agentops_tui.tui import board
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.details import SessionDetails, TaskDetails
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.screens.modals import ConfirmScreen, InjectScreen
from agentops_tui.tui.screens.tasks import TasksScreen
from agentops_tui.tui.screens.tree import TreeScreen
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from agent_loop import AckingAgent
from conftest import LiveServer
from tui_support import frozen_clock, seed, until


def _queue(c: httpx.Client, name: str = "triage") -> str:
    r = c.post("/api/v1/work-queues", json={"name": name})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _task(c: httpx.Client, queue: str, name: str, **kw: Any) -> str:
    r = c.post(f"/api/v1/work-queues/{queue}/tasks", json={"name": name, **kw})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@asynccontextmanager
async def board_console(live: LiveServer, size: tuple[int, int] = (120, 40),
                        **kw: Any) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
    app = create_app(Connection(live.url, live.token), **{"clock": frozen_clock, **kw})
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        yield app, pilot


def _board(app: AgentOpsApp) -> Kanban:
    return app.screen.query_one(Kanban)


def _column(app: AgentOpsApp, status: str) -> tuple[str, ...]:
    for column in _board(app).columns:
        if column.status == status:
            return column.task_ids
    raise AssertionError(status)


def _card_text(app: AgentOpsApp, task_id: str) -> list[str]:
    screen = app.screen
    assert isinstance(screen, TasksScreen)
    return ["".join(t for t, _ in line) for line in screen._card(task_id, 60)]


async def test_cards_appear_and_move_live(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        tidy = _task(c, q, "tidy docs", priority=2)
        urgent = _task(c, q, "fix login", priority=5)
    async with board_console(live) as (app, pilot):
        await pilot.press("3")
        assert isinstance(app.screen, TasksScreen)
        kanban = _board(app)
        await until(pilot, lambda: _column(app, "inbox") == (urgent, tidy), what="inbox cards")
        assert kanban.current_key == urgent and kanban.has_focus
        assert _card_text(app, urgent)[:1] == ["P5 fix login"]
        assert "Inbox 2" in str(kanban.render_line(0).text)

        with live.client() as c:
            r = c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": "ag-coder"})
            assert r.json()["id"] == urgent
        await until(pilot, lambda: _column(app, "assigned") == (urgent,), what="assigned")
        assert kanban.current_key == urgent  # the highlight follows its card
        assert _card_text(app, urgent)[1] == "no deadline  @coder-1"

        async with AsyncAgentClient(live.url, live.token, "ag-coder", name="coder-1",
                                    listen_for_commands=False) as agent:
            root = agent.session("se-work", title="fix login", task_id=urgent)
            sub = root.subagent(session_id="se-sub", title="read logs")
            sub.usage(input_tokens=10, output_tokens=5, cost_usd=0.5)
            await agent.flush()
            await until(pilot, lambda: _column(app, "running") == (urgent,), what="running")
            await until(pilot, lambda: _card_text(app, urgent)[2] == "▶ 2/2  $0.50",
                        what="sessions and cost on the card")
            root.usage(input_tokens=1, cost_usd=0.25)
            await agent.flush()
            await until(pilot, lambda: _card_text(app, urgent)[2] == "▶ 2/2  $0.75",
                        what="a session's cost repainted")
            sub.end()
            root.end()
            await agent.flush()
        with live.client() as c:
            c.post(f"/api/v1/work-queue-tasks/{urgent}/complete", json={"result": "ok"})
        await until(pilot, lambda: _column(app, "complete") == (urgent,), what="complete")
        assert _column(app, "inbox") == (tidy,) and kanban.current_key == urgent
        assert _card_text(app, urgent)[1:] == ["✔ done  @coder-1", "· 0/2  $0.75"]


async def test_arrows_enter_and_jump_to_a_session(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        first = _task(c, q, "first", priority=4)
        second = _task(c, q, "second", priority=3)
        taken = _task(c, q, "taken", priority=5)
        c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": "ag-coder"})
    async with board_console(live) as (app, pilot):
        async with AsyncAgentClient(live.url, live.token, "ag-coder", name="coder-1",
                                    listen_for_commands=False) as agent:
            root = agent.session("se-t1", title="taken: root", task_id=taken)
            root.subagent(session_id="se-t2", title="taken: helper")
            await agent.flush()
        await pilot.press("3")
        kanban = _board(app)
        await until(pilot, lambda: _column(app, "running") == (taken,), what="running card")
        assert kanban.current_key == first
        await pilot.press("down")
        assert kanban.current_key == second
        await pilot.press("down")  # the last card stays highlighted
        assert kanban.current_key == second
        await pilot.press("right")  # Assigned is empty
        assert kanban.current_key is None and kanban.column == 1
        await pilot.press("right")
        assert kanban.current_key == taken
        await pilot.press("left", "left")
        assert kanban.current_key == second  # each column remembers its card
        await pilot.press("right", "right", "enter")
        assert isinstance(app.screen, TaskDetails)
        sessions = app.screen.query_one(VirtualTable)
        assert sessions.keys == ["se-t1", "se-t2"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, TreeScreen), what="the tree")
        tree = app.screen.query_one("#tree", VirtualTable)
        await until(pilot, lambda: tree.current_key == "se-t2", what="the session in the tree")

        await pilot.press("t")  # a subagent's task is its parent's
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), what="the board")
        assert _board(app).current_key == taken
        await pilot.press("enter")
        assert isinstance(app.screen, TaskDetails)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, FleetScreen), what="the fleet")
        assert app.screen.query_one("#sessions", VirtualTable).current_key == "se-t1"


async def test_from_a_session_to_its_task(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        other = _task(c, q, "other", priority=5)
        mine = _task(c, q, "mine", priority=1)
    async with board_console(live) as (app, pilot):
        async with AsyncAgentClient(live.url, live.token, "ag-triage", name="triager-1",
                                    listen_for_commands=False) as agent:
            agent.session("se-mine", title="mine", task_id=mine)
            await agent.flush()
        await until(pilot, lambda: "se-mine" in app.fleet.sessions, what="the session")
        fleet = app.screen
        assert isinstance(fleet, FleetScreen)
        fleet.select_session("se-mine")
        await pilot.pause()
        await pilot.press("t")  # first visit: the board is built with the card highlighted
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), what="the board")
        await until(pilot, lambda: _board(app).current_key == mine, what="its card")
        _board(app).move_to(other)
        await pilot.press("1", "enter")
        assert isinstance(app.screen, SessionDetails)
        await pilot.press("t")  # from the details too, the modal closing on the way
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), what="the board again")
        assert _board(app).current_key == mine
        await pilot.press("1")
        fleet.select_session("se-root")  # its task is not on the board: its sessions show
        await pilot.press("t")
        assert isinstance(app.screen, TaskDetails) and app.screen.task_id == "wt_login"


async def test_a_missed_deadline_is_marked(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        late = _task(c, q, "ship hotfix", priority=5, deadline=time.time() + 0.3)
        fine = _task(c, q, "someday", priority=1, deadline=time.time() + 3600)
    async with board_console(live, clock=time.time) as (app, pilot):
        await pilot.press("3")
        await until(pilot, lambda: app.fleet.tasks[late].sla_breached, what="the breach")
        screen = app.screen
        assert isinstance(screen, TasksScreen)
        await until(pilot, lambda: _card_text(app, late)[1].startswith("⚠ late"),
                    what="the marked card")
        facts = screen._facts(late)
        assert facts is not None and board.card(facts, time.time())[1][0][1] == "late"
        assert _card_text(app, fine)[1] in ("due 59m", "due 1h")
        # the card reads the task on its own clock repaint; the title follows on the next tick
        title = app.screen.query_one("#tasks-title")
        await until(pilot, lambda: "⚠ 1 past SLA" in str(title.render()), what="the title")
        with live.client() as c:
            c.post(f"/api/v1/work-queue-tasks/{late}/fail", json={"error": "too late"})
        await until(pilot, lambda: _column(app, "failed") == (late,), what="failed")
        assert _card_text(app, late)[1] == "⚠ SLA missed"


async def test_filter_and_narrow_screen(live: LiveServer) -> None:
    with live.client() as c:
        triage = _queue(c, "triage")
        research = _queue(c, "research")
        login = _task(c, triage, "fix the login page", priority=3)
        _task(c, research, "compare vector stores", priority=4)
    async with board_console(live, size=(80, 24)) as (app, pilot):
        await pilot.press("3")
        await until(pilot, lambda: len(_column(app, "inbox")) == 2, what="two cards")
        await pilot.press("slash", *"login", "enter")
        await until(pilot, lambda: _column(app, "inbox") == (login,), what="filtered")
        await pilot.press("slash")
        app.screen.query_one("#filter").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"queue:research", "enter")
        await until(pilot, lambda: len(_column(app, "inbox")) == 1
                    and _column(app, "inbox") != (login,), what="queue filter")
        await pilot.press("escape")
        await until(pilot, lambda: len(_column(app, "inbox")) == 2, what="filter cleared")
        kanban = _board(app)
        widths = kanban._widths()
        assert sum(widths) + 4 == 80 and widths[0] == max(widths)  # the current column is wide
        await pilot.press("right", "right")
        assert kanban._widths()[2] == max(kanban._widths())
        lines = [str(kanban.render_line(y).text) for y in range(kanban.size.height)]
        assert all(len(line) == 80 for line in lines)


# ---- intervention keys on a card ---------------------------------------------------------


def _audited(live: LiveServer, action: str) -> list[dict[str, Any]]:
    """`session.<action>` entries of the audit log (refusals too), oldest first."""
    with live.client() as c:
        r = c.get("/api/v1/audit", params={"action": f"session.{action}"})
    return list(reversed(r.json()["entries"]))


def _targets(live: LiveServer, action: str) -> list[str]:
    """The sessions the backend took `action` for; a refusal shows as `id (refused)`."""
    return sorted(e["target"] + ("" if e["result"] == "accepted" else " (refused)")
                  for e in _audited(live, action))


def _notes(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_card_keys_act_on_the_tasks_active_sessions(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        login = _task(c, q, "fix login", priority=5)
        assert c.post(f"/api/v1/work-queues/{q}/dequeue",
                      json={"agent_id": "ag-coder"}).json()["id"] == login
        events = [
            {"type": "session.started", "session_id": "se-lead", "agent_id": "ag-coder",
             "task_id": login, "title": "fix login"},
            {"type": "session.started", "session_id": "se-helper", "agent_id": "ag-research",
             "parent_session_id": "se-lead", "title": "read the logs"},
            {"type": "session.started", "session_id": "se-early", "agent_id": "ag-coder",
             "task_id": login, "title": "first try"},
            {"type": "session.ended", "session_id": "se-early", "status": "failed"},
            {"type": "session.usage", "session_id": "se-lead", "cost_usd": 0.4},
        ]
        assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
    async with board_console(live) as (app, pilot):
        await pilot.press("3")
        await until(pilot, lambda: _column(app, "running") == (login,), what="the card")
        assert _board(app).move_to(login)
        await pilot.pause()

        await pilot.press("p")  # the lead and its subagent; the ended session is left alone
        await until(pilot, lambda: _targets(live, "pause") == ["se-helper", "se-lead"],
                    what="two pauses at the backend")
        await until(pilot, lambda: _card_text(app, login)[2].endswith("⏳pause"),
                    what="the pending pause on the card")
        agents = [AckingAgent(live.url, live.token, a).start()
                  for a in ("ag-coder", "ag-research")]
        try:
            await until(pilot, lambda: _card_text(app, login)[2] == "⏸ 2/3  $0.40",
                        what="both sessions paused")
            await pilot.press("p")  # nothing left to pause: said, and nothing sent
            await until(pilot, lambda: any("no running or waiting session to pause (2 paused)"
                                           in n for n in _notes(app)), what="the reason")
            await pilot.press("r")
            await until(pilot, lambda: _targets(live, "resume") == ["se-helper", "se-lead"],
                        what="two resumes")
            await until(pilot, lambda: _card_text(app, login)[2] == "▶ 2/3  $0.40",
                        what="running again")
            assert len(_audited(live, "pause")) == 2

            await pilot.press("i")
            assert isinstance(app.screen, InjectScreen)
            title = str(app.screen.query_one(".title", Label).render())
            assert title == "Send a message to 2 sessions of task 'fix login'"
            await pilot.press(*"wrap up", "enter")
            await until(pilot, lambda: _targets(live, "inject") == ["se-helper", "se-lead"],
                        what="two injects")
            assert {e["payload"]["message"] for e in _audited(live, "inject")} == {"wrap up"}

            await pilot.press("k")
            assert isinstance(app.screen, ConfirmScreen)
            assert app.screen.title_text == "Kill 2 sessions of task 'fix login'?"
            await pilot.press("n")
            await pilot.pause(0.3)
            assert _audited(live, "kill") == []
            await pilot.press("k", "y")
            await until(pilot, lambda: _targets(live, "kill") == ["se-helper", "se-lead"],
                        what="two kills")
            await until(pilot, lambda: _card_text(app, login)[2] == "· 0/3  $0.40",
                        what="every session ended")
        finally:
            for agent in agents:
                agent.stop()


async def test_a_card_with_nothing_to_act_on_says_so(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        fresh = _task(c, q, "write docs", priority=5)
        done = _task(c, q, "old bug", priority=1)
        c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": "ag-coder"})
        c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": "ag-triage"})
        events = [
            {"type": "session.started", "session_id": "se-old", "agent_id": "ag-triage",
             "task_id": done, "title": "old bug"},
            {"type": "session.ended", "session_id": "se-old", "status": "completed"},
        ]
        assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
        c.post(f"/api/v1/work-queue-tasks/{done}/complete", json={"result": "fixed"})
    async with board_console(live) as (app, pilot):
        await pilot.press("3")
        await until(pilot, lambda: _column(app, "complete") == (done,), what="the board")
        _board(app).move_to(fresh)
        await pilot.press("k")
        assert not isinstance(app.screen, ConfirmScreen)  # no dialog for nothing
        _board(app).move_to(done)
        await pilot.press("r")
        await until(pilot, lambda: len(_notes(app)) == 2, what="two notices")
        assert _notes(app) == [
            "Task 'write docs' has no active session to kill (no session has worked on it yet)",
            "Task 'old bug' has no paused session to resume (its sessions have ended)",
        ]
        await pilot.press("right")  # Failed is empty: no card, no task
        await pilot.press("p")
        await until(pilot, lambda: "Select a task first" in _notes(app), what="the hint")
        assert _audited(live, "") == []
        assert "space" not in [b.binding.key for b in app.screen.active_bindings.values()
                               if app.screen.check_action(b.binding.action, ()) is not False]
        await pilot.press("question_mark")  # out of the footer, the keys are in the help
        help_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert all(k in help_text for k in ("Pause", "Resume", "Inject", "Kill"))


async def test_read_only_board_refuses_the_keys(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        login = _task(c, q, "fix login", priority=5)
        c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": "ag-coder"})
        event = {"type": "session.started", "session_id": "se-ro", "agent_id": "ag-coder",
                 "task_id": login, "title": "fix login"}
        assert c.post("/api/v1/ingest", json={"events": [event]}).status_code == 202
    async with board_console(live, read_only=True) as (app, pilot):
        await pilot.press("3")
        await until(pilot, lambda: _column(app, "running") == (login,), what="the card")
        _board(app).move_to(login)
        await pilot.press("p", "k", "i")
        await pilot.pause(0.3)
        assert isinstance(app.screen, TasksScreen)
        assert _audited(live, "") == []
