"""The virtual table repaints only what changed, and counters at most once a second.

A small Textual app holds one table over an in-memory dict of rows; the tests change the
rows, ask the table to refresh, and look at which lines it drew and what they show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from agentops_tui.tui.render import Cell
from agentops_tui.tui.themes import status_defaults
from agentops_tui.tui.widgets import virtual_table
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [Column("name", 0), Column("status", 10), Column("cost", 8, "right", slow=True)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[Cell]] = {
            f"r{i}": [(f"row {i}", ""), ("running", ""), (f"${i}.00", "")] for i in range(30)
        }
        self.drawn: list[int] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **status_defaults(dark=True)}

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, lambda key: list(self.rows[key]), id="table")

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(list(self.rows))
        original = table.render_line

        def counting(y: int) -> Any:
            self.drawn.append(y)
            return original(y)

        table.render_line = counting  # type: ignore[method-assign]


@asynccontextmanager
async def shown_table() -> AsyncIterator[tuple[TableApp, Pilot[None], VirtualTable]]:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        yield app, pilot, app.query_one(VirtualTable)


def line(table: VirtualTable, y: int) -> str:
    return table.render_line(y).text


async def test_a_status_change_repaints_only_its_row() -> None:
    async with shown_table() as (app, pilot, table):
        app.drawn.clear()
        app.rows["r3"][1] = ("paused", "")
        table.set_rows(list(app.rows))  # the owner's tick: same order, one row changed
        await pilot.pause()
        assert set(app.drawn) == {4}  # header is line 0, r3 is line 4
        assert "paused" in line(table, 4)


async def test_same_rows_same_cells_draw_nothing() -> None:
    async with shown_table() as (app, pilot, table):
        app.drawn.clear()
        table.set_rows(list(app.rows))
        table.refresh_rows()
        await pilot.pause()
        assert app.drawn == []


async def test_a_cost_change_waits_for_the_slow_interval(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(virtual_table, "SLOW_REPAINT_SECONDS", 0.3)
    async with shown_table() as (app, pilot, table):
        await pilot.pause(0.35)
        app.rows["r0"][2] = ("$9.99", "")
        table.refresh_rows()
        await pilot.pause()
        assert "$9.99" in line(table, 1)  # the row's counters had not moved for 0.3 s
        app.rows["r0"][2] = ("$10.50", "")
        table.refresh_rows()
        await pilot.pause()
        assert "$9.99" in line(table, 1)  # too soon: still the figure drawn last
        await pilot.pause(0.45)  # no one asks again (a quiet fleet): it shows by itself
        assert "$10.50" in line(table, 1)


async def test_a_fast_change_brings_the_slow_cells_along(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(virtual_table, "SLOW_REPAINT_SECONDS", 60.0)
    async with shown_table() as (app, pilot, table):
        app.rows["r1"] = [("row 1", ""), ("waiting", ""), ("$7.00", "")]
        table.refresh_rows()
        await pilot.pause()
        assert "waiting" in line(table, 2) and "$7.00" in line(table, 2)


async def test_reordered_rows_repaint_with_fresh_cells(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr(virtual_table, "SLOW_REPAINT_SECONDS", 60.0)
    async with shown_table() as (app, pilot, table):
        app.rows["r2"][2] = ("$8.00", "")
        table.set_rows(["r2", *[k for k in app.rows if k != "r2"]])
        await pilot.pause()
        assert "row 2" in line(table, 1) and "$8.00" in line(table, 1)
        assert table.current_key == "r0"  # the cursor stayed on its row


async def test_no_horizontal_scrollbar_steals_a_line() -> None:
    async with shown_table() as (app, pilot, table):
        assert table.show_vertical_scrollbar
        assert not table.show_horizontal_scrollbar


async def test_rows_scrolled_back_into_view_are_current() -> None:
    async with shown_table() as (app, pilot, table):
        table.scroll_to(y=15, animate=False)  # as the mouse wheel would: the cursor stays
        await pilot.pause()
        app.rows["r2"][1] = ("error", "")
        table.set_rows(list(app.rows))
        await pilot.pause()
        table.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert "error" in line(table, 3)


async def test_rows_uncovered_by_a_resize_are_current() -> None:
    async with shown_table() as (app, pilot, table):
        table.styles.height = 4  # as an input box opening under it would
        await pilot.pause()
        app.rows["r8"][1] = ("error", "")
        table.set_rows(list(app.rows))
        await pilot.pause()
        table.styles.height = "1fr"
        await pilot.pause()
        assert "error" in line(table, 9)


async def test_a_wide_glyph_does_not_shift_the_row() -> None:
    """"⏳" takes two cells: padding by characters would push the columns after it (and the
    pane border) one cell right."""
    from rich.cells import cell_len

    async with shown_table() as (app, pilot, table):
        plain = line(table, 1)
        app.rows["r0"] = [("row 0", ""), ("⏳pause", "pending"), ("$0.00", "")]
        table.refresh_rows()
        await pilot.pause()
        wide = line(table, 1)
        assert cell_len(wide) == cell_len(plain) == table.size.width
        assert wide.index("$0.00") == plain.index("$0.00") - 1  # one char, two cells
        app.rows["r0"] = [("row 0", ""), ("⏳⏳⏳⏳⏳⏳⏳", "pending"), ("$0.00", "")]
        table.refresh_rows()
        await pilot.pause()
        assert cell_len(line(table, 1)) == table.size.width
        assert "…" in line(table, 1)
