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
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import frozen_clock, seed, until

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
