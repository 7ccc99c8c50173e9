"""The console offers only what its token's role may do, and says why when a key is pressed.

Pilot against a real server, with real viewer, operator and admin tokens: the console learns
its role from `GET /api/v1/whoami`, hides what the role may not do (footer, palette, `?`),
sends nothing for a refused key, and names a limiting role in the header.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.screen import Screen

from agentops_tui.client.connection import Connection
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer
from agentops_tui.tui.actions import ACTION_BY_ID, actions
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.commands import AgentOpsCommands
from agentops_tui.tui.registry import SCREENS
from agentops_tui.tui.screens.alerts import AlertsScreen
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.screens.modals import HelpScreen, KillAllScreen
from agentops_tui.tui.screens.review import ReviewScreen
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.log_tail import LogTail
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer, start_server
from tui_support import frozen_clock, offered, seed, select_in_fleet, until

WATCH_ONLY = "this token is a viewer: it can watch, not act"
ACTION_KEYS = {"Pause", "Resume", "Inject", "Kill", "Kill all", "Mark"}


@asynccontextmanager
async def console(live: LiveServer, role: str
                  ) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
        r = c.post("/api/v1/ingest", json={"events": [
            {"type": "approval.requested", "approval_id": "ap-notes", "session_id": "se-wait",
             "summary": "publish the release notes?"}]})
        assert r.status_code == 202, r.text
    app = create_app(Connection(live.url, live.token_for(role)), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await until(pilot, lambda: app.role == role, what="the role")
        await pilot.pause(0.2)  # a tick: the footer and header follow the role
        yield app, pilot


def _palette(app: AgentOpsApp) -> set[str]:
    return {name for name, _, _ in AgentOpsCommands(app.screen)._commands()}


async def _help(app: AgentOpsApp, pilot: Pilot[None]) -> dict[str, list[tuple[str, str]]]:
    """`?`'s sections on the screen shown (opened and closed again)."""
    shown = app.screen
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
    help_screen = app.screen
    assert isinstance(help_screen, HelpScreen)
    sections = dict(help_screen.sections)
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is shown, what="help closed")
    return sections


def _notices(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _header(app: AgentOpsApp) -> str:
    shown = app.screen.query_one(StatusLine)._shown
    return shown.plain if shown is not None else ""


def _audit(live: LiveServer) -> list[dict[str, Any]]:
    """What the console asked of the server (creating the test's tokens is audited too)."""
    with live.client() as c:
        entries = c.get("/api/v1/audit").json()["entries"]
    return [e for e in entries if not e["action"].startswith("token.")]


async def test_a_viewer_watches_and_is_told_why_it_cannot_act(live: LiveServer) -> None:
    async with console(live, "viewer") as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        assert not ACTION_KEYS & offered(app)
        assert {"Filter", "Sort", "Help", "Review"} <= offered(app)
        assert not {p for p in _palette(app) if p.startswith("session:")}
        assert "agentops ● Live  viewer " in _header(app)  # the badge sits next to Live

        await pilot.press("p", "k", "ctrl+k", "i", "space")
        await pilot.pause(0.3)
        assert isinstance(app.screen, FleetScreen)  # no dialog opened
        assert app.screen.marked == set()
        assert _audit(live) == []
        # nothing was sent, not even to be refused (a 403 is not audited, but it is shown)
        assert not any("needs role" in n for n in _notices(app))
        assert WATCH_ONLY in _notices(app)

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.unavailable == f"Not offered: {WATCH_ONLY}"
        assert not any(text in ACTION_KEYS for _, text in app.screen.rows)
        await pilot.press("escape")

        await pilot.press("5")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await until(pilot, lambda: review.queue.current == "approval:ap-notes",
                    what="the approval in Review")
        assert not {"Approve/ack", "Reject", "Reply", "Undo"} & offered(app)
        assert "Skip" in offered(app)
        assert {p for p in _palette(app) if p.startswith("review:")} == {"review: skip"}
        assert (await _help(app, pilot))["Review screen"] == [("s", "Skip")]
        title = str(review.query_one("#review-title", PaneTitle).render())
        assert title.startswith("Review — ") and " waiting for an operator" in title
        body = str(review.query_one("#review-item").render())
        assert WATCH_ONLY in body and "a approve" not in body
        await pilot.press("a", "x")
        await pilot.pause(0.3)
        assert review.held == []  # no decision held, so none will be sent when it is due
        assert _audit(live) == []
        with live.client() as c:
            assert c.get("/api/v1/approvals/ap-notes").json()["status"] == "pending"

        await pilot.press("6")
        alerts = app.screen
        assert isinstance(alerts, AlertsScreen)
        assert "Ack" not in offered(app)
        assert alerts.check_action("ack", ()) is False
        assert "alerts: ack" not in _palette(app) and "alerts: resolved" in _palette(app)
        assert (await _help(app, pilot))["Alerts screen"] == [("h", "Resolved")]
        title = str(alerts.query_one("#alerts-title", PaneTitle).render())
        assert "a ack" not in title and "enter go to subject" in title


async def test_an_operator_acts_but_cannot_kill_all(live: LiveServer) -> None:
    async with console(live, "operator") as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        assert {"Pause", "Resume", "Inject", "Kill", "Mark"} <= offered(app)
        assert "Kill all" not in offered(app)
        assert "session: kill all" not in _palette(app) and "session: pause" in _palette(app)
        assert "operator" not in _header(app)  # it lacks one key only: that key says so

        await pilot.press("ctrl+k")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, KillAllScreen)
        assert "this token is an operator: kill all needs an admin token" in _notices(app)

        await pilot.press("p")
        await until(pilot, lambda: any(e["action"] == "session.pause" and e["target"] == "se-root"
                                       for e in _audit(live)), what="the pause")

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Not offered: this token is an operator: kill all needs an admin token" in str(
            app.screen.unavailable)
        await pilot.press("escape")

        await pilot.press("5")
        assert {"Approve/ack", "Reject"} <= offered(app)
        assert {"review: approve/ack", "review: reject"} <= _palette(app)


# what Textual binds on its own (quit, copy, focus, scrolling, the palette): not the console's
TEXTUAL_OWN = {b.action for b in [*App.BINDINGS, *Screen.BINDINGS,
                                  *ScrollableContainer.BINDINGS] if isinstance(b, Binding)}
TEXTUAL_OWN.add("command_palette")


async def test_every_key_offered_is_declared_in_the_registry(live: LiveServer) -> None:
    """On every screen, each key bound is the registry's for that screen, its focused list
    or the app; `?` lists each under its registry heading."""
    screen_ids = {s.binding_id for s in SCREENS}
    async with console(live, "operator") as (app, pilot):
        for entry in SCREENS:
            await pilot.press(entry.key)
            await until(pilot, lambda shown=entry.screen: type(app.screen) is shown,
                        what=entry.name)
            await pilot.pause()
            screen = app.screen
            places = {entry.name, "app"} | {place_of_widget(n) for n in screen.focus_chain}
            for active in screen.active_bindings.values():
                binding = active.binding
                declared = ACTION_BY_ID.get(binding.id or "")
                if declared is None:
                    assert binding.id in screen_ids or binding.action in TEXTUAL_OWN, binding
                    continue
                assert places & set(declared.places), (entry.name, binding)
            own = {a.description for a in actions(entry.name)
                   if screen.check_action(a.action, a.args) is not False}
            sections = await _help(app, pilot)
            assert {d for _, d in sections[f"{entry.label} screen"]} == own, entry.name
            assert [d for _, d in sections["Screens"]] == [s.label for s in SCREENS]
            if entry.name == "tree":
                assert sections["Tree screen"][:2] == [("←/-", "Fold"), ("→/+", "Unfold")]



def place_of_widget(node: object) -> str:
    """The registry place of a focusable widget's keys."""
    return {VirtualTable: "table", Kanban: "board", LogTail: "log"}.get(type(node), "")


async def test_an_admin_is_offered_kill_all(live: LiveServer) -> None:
    async with console(live, "admin") as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        assert ACTION_KEYS <= offered(app)
        assert "session: kill all" in _palette(app)
        await pilot.press("ctrl+k")
        assert isinstance(app.screen, KillAllScreen)
        await pilot.press("escape")
        assert "admin" not in _header(app)


async def test_a_token_demoted_while_the_server_was_down_is_followed(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "d.db", heartbeat_seconds=1.0)
    port = srv.server.port
    try:
        async with console(srv, "operator") as (app, pilot):
            await select_in_fleet(app, pilot, "ag-coder", "se-root")
            assert "Pause" in offered(app)
            srv.server.stop()
            await until(pilot, lambda: app.connection.status.state != "live", what="the drop")
            db = sqlite3.connect(srv.db)
            with db:
                db.execute("UPDATE tokens SET role = 'viewer' WHERE role = 'operator'")
            db.close()
            srv.server = EmbeddedServer(ServerSettings(db_path=srv.db, heartbeat_seconds=1.0),
                                        port=port)
            srv.server.start()
            await until(pilot, lambda: app.role == "viewer", timeout=30, what="the new role")
            await pilot.pause(0.3)
            assert not ACTION_KEYS & offered(app)
            assert "  viewer " in _header(app)
    finally:
        srv.server.stop()
