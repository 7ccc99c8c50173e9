"""Why the console has nothing to show: the header and the empty roster say it.

A rejected token, a backend that refuses connections and a server at its stream limit each
name themselves (not just an "Offline" that looks like an empty fleet); a filter that
matches nothing says so instead of "no agents yet".
"""

from __future__ import annotations

import socket
from pathlib import Path

from textual.widgets import Input

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import create_app
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer, start_server
from tui_support import frozen_clock, seed, until


def _header(app: object) -> str:
    shown = app.screen.query_one(StatusLine)._shown  # type: ignore[attr-defined]
    return str(shown) if shown is not None else ""


def _roster_empty(app: object) -> str:
    return str(app.screen.query_one("#roster", VirtualTable).empty)  # type: ignore[attr-defined]


async def test_a_rejected_token_is_named_in_the_header_and_the_roster(live: LiveServer) -> None:
    app = create_app(Connection(live.url, "not-a-token"), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connection.status.state == "offline", what="offline")
        await until(pilot, lambda: "token rejected by http://127.0.0.1" in _header(app),
                    what="the reason in the header")
        assert "token rejected by" in _roster_empty(app)
        assert "no agents yet" not in _roster_empty(app)


async def test_a_refused_connection_says_so() -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Connection(f"http://127.0.0.1:{port}", "t"), clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "connection refused" in _header(app),
                    what="the reason in the header")
        assert "connection refused" in _roster_empty(app)


async def test_a_full_stream_pool_says_the_server_is_busy(tmp_path: Path) -> None:
    live = start_server(tmp_path / "busy.db", max_stream_clients=0)
    try:
        app = create_app(Connection(live.url, live.token), clock=frozen_clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "server busy: too many streams" in _header(app),
                        timeout=20, what="the reason in the header")
    finally:
        live.server.stop()


async def test_a_filter_matching_nothing_says_so(live: LiveServer) -> None:
    with live.client() as c:
        seed(c)
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "nobody-by-this-name"
        await until(pilot, lambda: "matches" in _roster_empty(app), what="the no-match note")
        assert "nobody-by-this-name" in _roster_empty(app)
        assert "no agents yet" not in _roster_empty(app)


async def test_nothing_that_acts_is_offered_before_the_server_says_who_the_token_is(
        live: LiveServer) -> None:
    from tui_support import offered

    app = create_app(Connection(live.url, "not-a-token"), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connection.status.state == "offline", what="offline")
        await pilot.pause(0.2)  # a tick: the footer follows
        assert not {"Mark", "Pause", "Resume", "Inject", "Kill", "Kill all"} & offered(app)
        assert {"Help", "Quit", "Filter"} <= offered(app)
        await pilot.press("p")
        await until(pilot, lambda: any("not connected yet — token rejected" in str(n.message)
                                       for n in app._notifications), what="the reason")
