"""At 80×24 and wider: help reaches its last key, footers keep Help and Quit, columns are as
wide as what they hold, and ←/→ fold the Tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.modals import HelpScreen
from agentops_tui.tui.screens.tree import TreeScreen
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import frozen_clock, seed, until


@asynccontextmanager
async def console(live: LiveServer, size: tuple[int, int]
                  ) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 4, what="the snapshot")
        await until(pilot, lambda: app.role is not None, what="the role")
        yield app, pilot


def _footer_keys(app: AgentOpsApp) -> list[str]:
    return [b.binding.description for b in app.screen.active_bindings.values()
            if b.binding.show]


async def test_help_scrolls_to_its_last_key_at_80x24(live: LiveServer) -> None:
    async with console(live, (80, 24)) as (app, pilot):
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, TreeScreen), what="the tree")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        help_screen = app.screen
        text = str(help_screen.query_one("#help-keys Static", Static).render())
        for heading in ("Tree screen", "Everywhere", "Screens"):
            assert heading in text
        assert "Fold" in text and "Unfold" in text  # ←/→ are the tree's, not scrolling
        assert "^q" not in text and "Scroll Left" not in text
        lines = text.splitlines()
        assert sum(1 for line in lines if line.strip().endswith(" Quit")) == 1
        screens = [line.split()[-1] for line in lines
                   if line.strip()[:1].isdigit()]
        assert screens == ["Fleet", "Tree", "Tasks", "Costs", "Review", "Alerts", "Audit"]
        scroll = help_screen.query_one("#help-keys", VerticalScroll)
        assert scroll.region.bottom <= 24 and scroll.max_scroll_y > 0  # it has to scroll
        await pilot.press("end")
        await until(pilot, lambda: scroll.scroll_y >= scroll.max_scroll_y, what="the end")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, TreeScreen), what="closed")


async def test_footers_lead_with_help_and_quit(live: LiveServer) -> None:
    async with console(live, (80, 24)) as (app, pilot):
        for key in "1234567":
            await pilot.press(key)
            await pilot.pause()
            assert _footer_keys(app)[:2] == ["Help", "Quit"], key
            screen_keys = [b.binding for b in app.screen.active_bindings.values()
                           if b.binding.action.startswith("screen(")]
            assert all(b.group is not None for b in screen_keys)  # one `1234567 Screens`
            if key == "5":  # a screen's own keys before the session keys it shares
                assert _footer_keys(app)[2:4] == ["Approve/ack", "Reject"]


async def test_columns_are_as_wide_as_their_text(live: LiveServer) -> None:
    async with console(live, (120, 40)) as (app, pilot):
        roster = app.screen.query_one("#roster", VirtualTable)
        await until(pilot, lambda: len(roster.keys) == 4, what="the roster")
        await pilot.pause()
        agent_width = roster._widths(roster.size.width)[2]
        assert len("researcher-1") <= agent_width <= len("researcher-1") + 2


async def test_left_folds_the_tree(live: LiveServer) -> None:
    async with console(live, (80, 24)) as (app, pilot):
        await pilot.press("2")
        table = app.screen.query_one("#tree", VirtualTable)
        await until(pilot, lambda: "se-grand" in table.keys, what="the tree")
        table.move_to("se-root")
        await pilot.press("left")
        await until(pilot, lambda: "se-grand" not in table.keys, what="folded")
        await pilot.press("right")
        await until(pilot, lambda: "se-grand" in table.keys, what="unfolded")


async def test_the_log_wraps_wide_text_by_cells() -> None:
    """A line of CJK text is wrapped to the pane's cells, not cut off at its right edge."""
    from rich.cells import cell_len
    from textual.app import App, ComposeResult

    from agentops_tui.models import Message
    from agentops_tui.tui.widgets.log_tail import LogTail

    text = "日本語のエージェントが設定ファイルを読み込んでいます" * 2

    class LogApp(App[None]):
        def compose(self) -> ComposeResult:
            yield LogTail()

    app = LogApp()
    async with app.run_test(size=(40, 12)) as pilot:
        log = app.query_one(LogTail)
        log.show("se-1")
        log.append([Message(session_id="se-1", seq=1, role="assistant", content=text, ts=0.0)])
        await pilot.pause()
        shown = [log.render_line(y).text for y in range(log.size.height)]
        assert all(cell_len(line) == log.size.width for line in shown)
        body = "".join(line.strip() for line in shown if "assistant" not in line)
        assert text in body.replace("↑ older messages load as you scroll up", "")
