"""The console under Pilot, through `create_app`, against a live embedded server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rich.text import Text
from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.tui import render
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.screens.modals import ConfirmScreen, InjectScreen, KillAllScreen
from agentops_tui.tui.screens.tree import TreeScreen
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from agent_loop import AckingAgent
from conftest import LiveServer
from tui_support import frozen_clock, seed, until


@asynccontextmanager
async def console(live: LiveServer, **kw: Any) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
    app = create_app(Connection(live.url, live.token), clock=frozen_clock, **kw)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await until(pilot, lambda: len(_table(app, "#roster").keys) == 4, what="roster rows")
        yield app, pilot


def _table(app: AgentOpsApp, selector: str) -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


def _commands(live: LiveServer) -> list[dict[str, object]]:
    with live.client() as c:
        rows = c.get("/api/v1/audit", params={"action": "session."}).json()["entries"]
    return [r for r in rows if r["result"] == "accepted"]


async def _select_session(app: AgentOpsApp, pilot: Pilot[None], agent: str, session: str) -> None:
    roster = _table(app, "#roster")
    assert roster.move_to(agent)
    await pilot.pause()
    sessions = _table(app, "#sessions")
    await until(pilot, lambda: session in sessions.keys, what=f"{session} listed")
    sessions.move_to(session)
    sessions.focus()
    await pilot.pause()


async def test_roster_sessions_and_log(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        roster = _table(app, "#roster")
        names = [app.fleet.agents[k].name for k in roster.keys]
        assert names[0] == "reviewer-1"  # waiting sorts first: a human is needed
        assert set(names) == {"coder-1", "reviewer-1", "triager-1", "researcher-1"}
        await _select_session(app, pilot, "ag-coder", "se-root")
        log = app.screen.query_one("#log")
        await until(pilot, lambda: len(log.messages) == 12, what="the log tail")
        with live.client() as c:
            c.post("/api/v1/ingest", json={"events": [{
                "type": "session.message", "session_id": "se-root", "content": "live line"}]})
        await until(pilot, lambda: log.messages[-1].content == "live line",
                    what="a live message in the tail")


async def test_pause_shows_pending_then_paused(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        await pilot.press("p")
        await until(pilot, lambda: "se-root" in app.fleet.pending_command_by_session,
                    what="the pending pause")
        cells = _table(app, "#sessions")._cells("se-root")
        assert cells[3] == ("⏳pause", "pending")
        agent = AckingAgent(live.url, live.token, "ag-coder").start()
        try:
            await until(pilot, lambda: app.fleet.sessions["se-root"].status == "paused",
                        what="the agent's ack")
            await pilot.pause(0.2)
            assert _table(app, "#sessions")._cells("se-root")[3] == ("paused", "status-paused")
            await pilot.press("r")
            await until(pilot, lambda: app.fleet.sessions["se-root"].status == "running",
                        what="resumed")
        finally:
            agent.stop()


async def test_expired_command_is_reported(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        await pilot.press("p")
        await until(pilot, lambda: "se-root" in app.fleet.pending_command_by_session)
        agent = AckingAgent(live.url, live.token, "ag-coder", ok=False).start()
        try:
            await until(pilot, lambda: app.last_command("se-root") is not None
                        and app.last_command("se-root").status == "failed",
                        what="a failed command")
            await pilot.pause(0.2)
            assert _table(app, "#sessions")._cells("se-root")[3][0] == "✖pause failed"
            assert app.fleet.sessions["se-root"].status == "running"
        finally:
            agent.stop()


async def test_inject_kill_and_killswitch_confirmations(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        await pilot.press("i")
        assert isinstance(app.screen, InjectScreen)
        await pilot.press(*"use v2", "enter")
        await until(pilot, lambda: any(c["action"] == "session.inject" for c in _commands(live)),
                    what="the inject command")
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert not any(c["action"] == "session.kill" for c in _commands(live))
        await pilot.press("k", "y")
        await until(pilot, lambda: any(c["action"] == "session.kill" for c in _commands(live)),
                    what="the kill command")
        await pilot.press("ctrl+k")
        assert isinstance(app.screen, KillAllScreen)
        await pilot.press(*"kill all", "enter")  # wrong case: refused
        assert isinstance(app.screen, KillAllScreen)
        app.screen.query_one("#phrase").value = ""
        await pilot.press(*"KILL ALL", "enter")
        with live.client() as c:
            await until(pilot, lambda: any(
                e["action"] == "killswitch"
                for e in c.get("/api/v1/audit").json()["entries"]), what="the killswitch")


async def test_marks_apply_to_every_marked_session(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-review", "se-wait")
        await pilot.press("space")
        _table(app, "#sessions").move_to("se-grand")
        await pilot.press("space", "p")
        await until(pilot, lambda: {"se-wait", "se-grand"} <= set(
            app.fleet.pending_command_by_session), what="two pauses")


async def test_read_only_hides_and_refuses(live: LiveServer) -> None:
    async with console(live, read_only=True) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        await pilot.press("p", "k", "ctrl+k", "i")
        await pilot.pause(0.3)
        assert isinstance(app.screen, FleetScreen)
        assert _commands(live) == []
        descriptions = {b.binding.description for b in app.screen.active_bindings.values()
                        if app.screen.check_action(b.binding.action.split("(")[0], ()) is not False}
        assert not {"Pause", "Kill", "Inject", "Kill all", "Resume"} & descriptions
        await pilot.press("question_mark")
        help_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Pause" not in help_text and "Filter" in help_text


async def test_filter_and_sort(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await pilot.press("slash", *"status:wait", "enter")
        roster = _table(app, "#roster")
        await until(pilot, lambda: roster.keys == ["ag-review"], what="filtered roster")
        await pilot.press("escape")
        await until(pilot, lambda: len(roster.keys) == 4, what="filter cleared")
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await pilot.press("s")
        assert screen.sort == "name"
        assert [app.fleet.agents[k].name for k in roster.keys] == [
            "coder-1", "researcher-1", "reviewer-1", "triager-1"]
        await pilot.press("s")  # by cost
        assert roster.keys[0] == "ag-coder"
        with live.client() as c:  # the reviewer's waiting session spends the most now
            c.post("/api/v1/ingest", json={"events": [
                {"type": "session.usage", "session_id": "se-wait", "model": "claude-sonnet-4",
                 "input_tokens": 5_000_000, "output_tokens": 0}]}).raise_for_status()
        await until(pilot, lambda: roster.keys[0] == "ag-review", what="re-sorted by cost")
        fleet = app.fleet
        spent = sum(fleet.sessions[s].cost_usd for s in fleet.sessions_by_agent["ag-review"])
        assert screen._agent_cells("ag-review")[7][0] == render.money(spent)


async def test_tree_screen(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await pilot.press("2")
        assert isinstance(app.screen, TreeScreen)
        tree = _table(app, "#tree")
        await until(pilot, lambda: tree.keys[:3] == ["se-wait", "se-root", "se-child"]
                    or "se-grand" in tree.keys, what="tree rows")
        assert tree.keys == ["se-wait", "se-root", "se-child", "se-grand"]
        root = app.screen.nodes["se-root"]
        expected = sum(app.fleet.sessions[s].cost_usd for s in ("se-root", "se-child", "se-grand"))
        assert abs(root.cost_usd - expected) < 1e-9 and root.sessions == 3
        tree.move_to("se-grand")
        await pilot.press("P")
        assert tree.current_key == "se-child"
        tree.move_to("se-root")
        await pilot.press("left")
        await until(pilot, lambda: tree.keys == ["se-wait", "se-root"], what="collapsed")
        await pilot.press("right")
        await until(pilot, lambda: len(tree.keys) == 4, what="expanded")
        await pilot.press("1")
        assert isinstance(app.screen, FleetScreen)


async def test_tree_screen_unfolds_a_thousand_deep_chain(live: LiveServer) -> None:
    chain = [{"type": "session.started", "session_id": "d0000", "agent_id": "ag-coder"}] + [
        {"type": "session.started", "session_id": f"d{i:04}", "agent_id": "ag-coder",
         "parent_session_id": f"d{i - 1:04}"} for i in range(1, 1000)]
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": chain}).raise_for_status()
    async with console(live) as (app, pilot):
        await pilot.press("2")
        assert isinstance(app.screen, TreeScreen)
        tree = _table(app, "#tree")
        await until(pilot, lambda: "d0999" in tree.keys, what="the whole chain")
        assert app.screen.nodes["d0000"].sessions == 1000
        app.screen.collapsed.update({"d0000", "d0100"})  # folded far above the target
        app.screen.select_session("d0999")
        await until(pilot, lambda: tree.current_key == "d0999", what="the deepest session")


async def test_quit_closes_the_connection(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await pilot.press("q")
        await pilot.pause(0.2)
    assert app.return_code in (0, None)
    assert live.metric("agentops_stream_clients") == 0


async def test_alerts_and_audit_screens(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        await pilot.press("p")
        await until(pilot, lambda: "se-root" in app.fleet.pending_command_by_session)
        await pilot.press("7")
        audit = _table(app, "#audit")
        await until(pilot, lambda: len(audit.keys) >= 1, what="audit rows")
        cells = audit._cells(audit.keys[0])
        # the target by name (its id is in the entry and the export)
        assert cells[2][0] == "session.pause"
        assert cells[3][0] == "session fix login timeout (coder-1)"
        await pilot.press("e")
        path = app.screen.query_one("#path")
        target = live.db.parent / "audit.csv"
        path.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, target.exists, what="the export file")
        assert target.read_text().splitlines()[0].startswith("id,ts,workspace,actor")
        await pilot.press("6")
        alerts = _table(app, "#alerts")
        assert alerts.keys == [] or all(k in app.fleet.alerts for k in alerts.keys)


async def test_costs_screen_shows_real_figures(live: LiveServer) -> None:
    with live.client() as c:
        queue = c.post("/api/v1/work-queues", json={"name": "ops"}).json()["id"]
        task = c.post(f"/api/v1/work-queues/{queue}/tasks", json={"name": "renew certs"}).json()
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.started", "session_id": "se-certs", "agent_id": "ag-coder",
             "task_id": task["id"]},
            {"type": "session.usage", "session_id": "se-certs", "model": "gpt-5",
             "input_tokens": 1000, "output_tokens": 100}]}).raise_for_status()
    async with console(live) as (app, pilot):
        await pilot.press("4")
        body = app.screen.query_one("#costs-agents")
        await until(pilot, lambda: "coder-1" in str(body.render()), what="cost rows")
        by_task = str(app.screen.query_one("#costs-tasks").render())
        assert "renew certs" in by_task and task["id"] not in by_task  # named, not an id
        with live.client() as c:
            rows = c.get("/api/v1/costs", params={"group_by": "agent", "window": "24h"}).json()
        coder = next(r for r in rows["rows"] if r["name"] == "coder-1")
        assert render.money(coder["cost_usd"]) in str(body.render())
        budgets = str(app.screen.query_one("#costs-budgets").render())
        assert "Budgets today, UTC" in budgets and "workspace" in budgets
        await pilot.press("w")
        title = app.screen.query_one("#costs-title")
        await until(pilot, lambda: "last 7d" in str(title.render()), what="window change")


async def test_tree_names_a_sessions_task(live: LiveServer) -> None:
    with live.client() as c:
        queue = c.post("/api/v1/work-queues", json={"name": "triage"}).json()["id"]
        task = c.post(f"/api/v1/work-queues/{queue}/tasks",
                      json={"name": "rotate the signing keys"}).json()["id"]
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.started", "session_id": "se-keys", "agent_id": "ag-coder",
             "task_id": task, "title": "keys"}]}).raise_for_status()
    async with console(live) as (app, pilot):
        await pilot.press("2")
        tree = _table(app, "#tree")
        await until(pilot, lambda: "se-keys" in tree.keys, what="the task's session")
        tree.move_to("se-keys")
        await pilot.pause()
        row = tree.render_line(tree.cursor + 1 - int(tree.scroll_offset.y)).text
        assert "rotate the signing keys" in row  # the task's name, not its id
        assert task not in row


def test_costs_lay_out_for_the_width_and_count_the_utc_day() -> None:
    from agentops_tui.tui.screens.costs import budget_lines, minutes_into_utc_day, table

    assert minutes_into_utc_day(86400 * 5 + 8 * 3600 + 30) == 480
    assert minutes_into_utc_day(86400 * 5) == 1
    rows = [{"name": "a-very-long-agent-name-indeed", "cost_usd": 1.5, "input_tokens": 900,
             "output_tokens": 100, "sessions": 3},
            {"name": "[b]x", "cost_usd": 1.5, "input_tokens": 900, "output_tokens": 100,
             "sessions": 3}]
    for width in (36, 56, 70):
        lines = table("By agent", rows, 3.0, "agent", width).splitlines()[1:]
        plain = [Text.from_markup(line).plain for line in lines]
        assert all(len(line) <= width for line in plain), (width, plain)
        assert plain[0].index("$1.50") == plain[1].index("$1.50")  # escaping keeps columns
        assert "$1.50" in lines[0] and "3 sess" in lines[0]
        settings = {"budget": {"workspace": {"warning": 8.0, "critical": 10.0}}}
        title, note, *budget = budget_lines(settings, 9.0, rows, width).splitlines()
        assert "near = past warning" in note  # what "near" means, under the title
        assert all(len(line) <= width for line in budget), (width, budget)
        assert "near" in budget[0]
    assert "█" in table("t", rows, 3.0, "agent", 56) and "█" not in table("t", rows, 3.0, "a", 40)


async def test_names_with_brackets_are_shown_as_written(live: LiveServer) -> None:
    title = "fix [bold]parser[/bold] of [/users] and [WIP"
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.started", "session_id": "se-br", "agent_id": "ag-coder",
             "title": title}]}).raise_for_status()
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-br")
        log_title = str(app.screen.query_one("#log-title").render())
        assert log_title.startswith(f"Log {title} (")  # a closing tag alone used to crash
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        shown = str(app.screen.query_one(".title").render())
        assert shown == f"Kill session {title!r}?"
        await pilot.press("n")


async def test_fleet_shows_what_happened_while_another_screen_was_up(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await _select_session(app, pilot, "ag-coder", "se-root")
        log = app.screen.query_one("#log")
        await until(pilot, lambda: len(log.messages) == 12, what="the log tail")
        await pilot.press("5")
        await pilot.pause(0.3)
        with live.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                {"type": "session.message", "session_id": "se-root", "content": "last word"},
                {"type": "session.ended", "session_id": "se-root", "status": "completed"}]})
        await until(pilot, lambda: app.fleet.sessions["se-root"].status == "completed",
                    what="the session's end")
        await pilot.pause(0.3)
        await pilot.press("1")
        await until(pilot, lambda: log.messages[-1].content == "last word",
                    what="the message that came while Review was up")
        roster = _table(app, "#roster")
        row = roster.keys.index("ag-coder") + 1
        await until(pilot, lambda: "▶" not in roster.render_line(row).text,
                    what="the agent row repainted as idle")
