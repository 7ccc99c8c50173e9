"""Things an operator notices in a day at the console: marks in sight on the roster, the log
following an agent onto its next session, notices that count only what is new, an audit
export that lands in the downloads folder with the filter applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens import audit
from agentops_tui.tui.widgets.log_tail import LogTail
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import frozen_clock, seed, select_in_fleet, until

PENDING = {"type": "approval.requested", "approval_id": "ap-old", "session_id": "se-wait",
           "summary": "publish the release notes?"}


@asynccontextmanager
async def console(live: LiveServer, *extra: dict[str, object]
                  ) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
        if extra:
            c.post("/api/v1/ingest", json={"events": list(extra)}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await until(pilot, lambda: app.role is not None, what="the role")
        yield app, pilot


def _notices(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _ingest(live: LiveServer, *events: dict[str, object]) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": list(events)}).raise_for_status()


async def test_a_marked_session_shows_on_its_agents_roster_row(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        await pilot.press("space")
        roster = app.screen.query_one("#roster", VirtualTable)
        await until(pilot, lambda: roster._cells("ag-coder")[0][0] == "●", what="the mark")
        assert roster._cells("ag-review")[0][0] == " "
        title = app.screen.query_one("#roster-title", PaneTitle)
        assert "1 marked" in str(title.render())


async def test_the_log_follows_the_agent_onto_its_new_session(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        log = app.screen.query_one(LogTail)
        assert log.session_id == "se-root"
        _ingest(live, {"type": "session.ended", "session_id": "se-root", "status": "completed"},
                {"type": "session.started", "session_id": "se-next", "agent_id": "ag-coder",
                 "title": "next step"})
        await until(pilot, lambda: log.session_id == "se-next", what="the log on se-next")


async def test_approvals_pending_at_connect_are_not_announced_as_new(live: LiveServer) -> None:
    async with console(live, PENDING) as (app, pilot):
        await until(pilot, lambda: "ap-old" in app.fleet.approvals, what="the approval")
        await pilot.pause(0.3)  # a few ticks: a notice would be due by now
        assert not any("new approval" in n for n in _notices(app))
        _ingest(live, {**PENDING, "approval_id": "ap-new", "summary": "and this?"})
        await until(pilot, lambda: "1 new approval — press 5 to review" in _notices(app),
                    what="the notice for the new one")


async def test_the_audit_export_goes_to_downloads_with_the_filter(
        live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    monkeypatch.setattr(audit, "user_downloads_path", lambda: downloads)
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        await pilot.press("p")
        await until(pilot, lambda: "se-root" in app.fleet.pending_command_by_session)
        await pilot.press("7")
        table = app.screen.query_one("#audit", VirtualTable)
        await until(pilot, lambda: len(table.keys) >= 2, what="audit rows")
        app.screen.filters = "session.pause"  # type: ignore[attr-defined]
        await pilot.press("e")
        path = app.screen.query_one("#path")
        assert Path(path.value).parent == downloads  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: bool(list(downloads.glob("agentops-audit-*.jsonl"))),
                    what="the export")
        written = list(downloads.glob("agentops-audit-*.jsonl"))
        lines = written[0].read_text().splitlines()
        assert lines and all("session.pause" in line for line in lines)
