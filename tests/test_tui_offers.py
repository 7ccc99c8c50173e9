"""Offer only what works: an ended session is not offered actions, and a read-only console
says why a key does nothing (its Review does not ask the operator to decide)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.modals import InjectScreen
from agentops_tui.tui.widgets.pane_title import PaneTitle

from conftest import LiveServer
from tui_support import frozen_clock, offered, seed, select_in_fleet, until


@asynccontextmanager
async def console(live: LiveServer, *, read_only: bool = False
                  ) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
        r = c.post("/api/v1/ingest", json={"events": [
            {"type": "approval.requested", "approval_id": "ap-notes", "session_id": "se-wait",
             "summary": "publish the release notes?"}]})
        assert r.status_code == 202, r.text
    app = create_app(Connection(live.url, live.token), clock=frozen_clock, read_only=read_only)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await until(pilot, lambda: app.role is not None, what="the role")
        yield app, pilot


def _notices(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_an_ended_session_is_not_offered_an_inject(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-research", "se-child")  # failed
        await until(pilot, lambda: "Inject" not in offered(app), what="inject withdrawn")
        assert not {"Pause", "Kill", "Redirect"} & offered(app)
        await pilot.press("i")
        await pilot.pause()
        assert not isinstance(app.screen, InjectScreen)  # nothing typed only to be lost
        assert any("has failed: nothing to inject" in n for n in _notices(app))
        await select_in_fleet(app, pilot, "ag-coder", "se-root")  # running: offered again
        await until(pilot, lambda: "Inject" in offered(app), what="inject offered")


async def test_a_read_only_console_says_why_a_key_does_nothing(live: LiveServer) -> None:
    async with console(live, read_only=True) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        await pilot.press("p")
        await until(pilot, lambda: any("read-only console" in n for n in _notices(app)),
                    what="the read-only notice")
        await pilot.press("5")
        title = app.screen.query_one("#review-title", PaneTitle)
        await until(pilot, lambda: "waiting for an operator" in str(title.render()),
                    what="the review title")
        assert not {"Approve/ack", "Reject", "Reply", "Undo"} & offered(app)
        await pilot.press("a")
        await until(pilot, lambda: sum("read-only console" in n for n in _notices(app)) >= 2,
                    what="the read-only notice on Review")
