"""A virtualised table: renders only the rows on screen (Line API), whatever the row count.

The owner gives the row keys in display order and a function from key to cells; the table
keeps the cursor on the same key when rows move, and asks for cells only for visible rows.
A 10k-row roster costs what 40 visible rows cost.

Over a slow SSH link the bytes written matter as much as the CPU: the table remembers the
cells it last drew for each visible row and, on a live update, repaints only the span of
cells that changed. Columns marked `slow` (counters, costs, clocks) repaint at most once a
second; a change in any other column (status, mark, name) shows on the next frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.render import Cell, fit

SLOW_REPAINT_SECONDS = 1.0
NO_SIDEWAYS = frozenset({"scroll_left", "scroll_right", "page_left", "page_right"})

STATUS_CLASSES = (
    "status-running", "status-waiting", "status-paused", "status-error", "status-idle",
    "status-offline", "status-ended",
)


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int  # 0 = takes the remaining width
    align: str = "left"
    min_screen: int = 0  # hidden when the table is narrower than this
    slow: bool = False  # changes repaint at most every SLOW_REPAINT_SECONDS


class VirtualTable(ScrollView, can_focus=True):
    """Keys: ↑/↓ move, PgUp/PgDn page, Home/End jump."""

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("table")]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header", "vtable--cursor", "vtable--dim", "vtable--marked",
        "vtable--pending", *(f"vtable--{c}" for c in STATUS_CLASSES),
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .vtable--header { text-style: bold; color: $text-muted; background: $panel; }
        & > .vtable--cursor { background: $primary 35%; }
        &:focus > .vtable--cursor { background: $primary 60%; text-style: bold; }
        & > .vtable--dim { color: $text-muted; }
        & > .vtable--marked { color: $accent; text-style: bold; }
        & > .vtable--pending { color: $warning; text-style: bold; }
        & > .vtable--status-running { color: $status-running; }
        & > .vtable--status-waiting { color: $status-waiting; text-style: bold; }
        & > .vtable--status-paused { color: $status-paused; }
        & > .vtable--status-error { color: $status-error; text-style: bold; }
        & > .vtable--status-idle { color: $status-idle; }
        & > .vtable--status-offline { color: $status-offline; }
        & > .vtable--status-ended { color: $status-ended; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    """Index of the highlighted row."""

    class Highlighted(Message):
        """The cursor moved to another row (or the row under it changed key)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: list[Column],
        cells: Callable[[str], list[Cell]],
        *,
        empty: str = "nothing to show",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = columns
        self._cells = cells
        self.keys: list[str] = []
        self._index: dict[str, int] = {}
        self.empty = empty
        self._last_key: str | None = None
        self._shown: dict[str, list[Cell]] = {}  # the cells on screen, by row key
        self._slow_at: dict[str, float] = {}  # when a row's slow cells were last drawn
        self._retry: Timer | None = None
        self._widest: dict[int, int] = {}  # flexible column → widest text drawn
        self._widen_due = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Rows are cut to the width, never scrolled sideways: ←/→ belong to the screen (the
        # Tree folds with them), not to ScrollView's horizontal scrolling.
        if action in NO_SIDEWAYS:
            return False
        return super().check_action(action, parameters)

    # ---- data ------------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        return self.keys[self.cursor] if 0 <= self.cursor < len(self.keys) else None

    def set_rows(self, keys: list[str]) -> None:
        """New row order; the cursor stays on the same key when it is still there."""
        current = self.current_key
        shown_before = self._visible_keys()
        self.keys = keys
        self._index = {k: i for i, k in enumerate(keys)}
        self.virtual_size = Size(self.size.width, len(keys) + 1)
        before = self.cursor
        if current is not None and current in self._index:
            self.set_reactive(VirtualTable.cursor, self._index[current])
        else:
            self.set_reactive(VirtualTable.cursor, min(self.cursor, max(0, len(keys) - 1)))
        if self.cursor != before:  # the row moved: keep it in view
            self._scroll_to_cursor()
        self._announce()
        if self.cursor == before and self._visible_keys() == shown_before:
            self.refresh_rows()
        else:
            self._repaint_all()
            self._fetch_visible()

    def set_empty(self, text: str) -> None:
        """What the table says when it has no rows (why it is empty, when that is known)."""
        if text != self.empty:
            self.empty = text
            if not self.keys:
                self.refresh()

    def move_to(self, key: str) -> bool:
        index = self._index.get(key)
        if index is None:
            return False
        self.cursor = index
        return True

    def refresh_rows(self) -> None:
        """Repaint the cells of visible rows that changed since they were drawn."""
        now = time.monotonic()
        visible = self._visible_keys()
        widths = self._widths(self.size.width)
        wait: float | None = None  # until the soonest counter change held back may show
        for line, key in enumerate(visible, start=1):
            drawn = self._shown.get(key)
            if drawn is None:
                continue  # not drawn yet: render_line fetches it when it is
            cells = self._cells(key)
            if self._outgrows(cells):  # a longer name than any before: the column widens
                self._repaint_all()
                return
            if len(cells) != len(drawn):
                changed = list(range(max(len(cells), len(drawn))))
            else:
                changed = [i for i, (a, b) in enumerate(zip(drawn, cells, strict=True))
                           if a != b]
            if not changed:
                continue
            slow_only = all(i < len(self.columns) and self.columns[i].slow for i in changed)
            held = SLOW_REPAINT_SECONDS - (now - self._slow_at.get(key, 0.0))
            if slow_only and held > 0:
                wait = held if wait is None else min(wait, held)
                continue
            self._shown[key] = cells
            self._slow_at[key] = now
            span = self._span(changed, widths)
            if span is not None:
                self.refresh(Region(span[0], line, span[1] - span[0], 1))
        if len(self._shown) > len(visible):  # rows off screen are fetched afresh when seen
            keep = set(visible)
            self._shown = {k: v for k, v in self._shown.items() if k in keep}
            self._slow_at = {k: v for k, v in self._slow_at.items() if k in keep}
        if wait is not None and self._retry is None:
            # the fleet may go quiet: show the held-back figures even if no tick asks again
            self._retry = self.set_timer(wait + 0.01, self._retry_held)

    def _retry_held(self) -> None:
        self._retry = None
        self.refresh_rows()

    def _repaint_all(self) -> None:
        self._shown.clear()
        self.refresh()

    def _visible_keys(self) -> list[str]:
        top = int(self.scroll_offset.y)
        return self.keys[top:top + max(0, self.size.height - 1)]

    def _span(self, columns: list[int], widths: list[int]) -> tuple[int, int] | None:
        """The x range covering the given columns, or None when all of them are hidden."""
        x = 0
        start: int | None = None
        end = 0
        for i, w in enumerate(widths):
            if w < 0:
                continue
            if i in columns:
                start = x if start is None else start
                end = x + w
            x += w + 1
        if any(i >= len(widths) for i in columns):  # a row longer than the columns
            start, end = (0 if start is None else start), max(end, self.size.width)
        return None if start is None else (start, end)

    # ---- cursor ----------------------------------------------------------------------------

    def watch_cursor(self, value: int) -> None:
        if self.keys:
            clamped = max(0, min(value, len(self.keys) - 1))
            if clamped != value:
                self.set_reactive(VirtualTable.cursor, clamped)
            self._scroll_to_cursor()
        self._announce()
        self._repaint_all()

    def _scroll_to_cursor(self) -> None:
        # rows sit one line below their index (the header is pinned on top)
        self.scroll_to_region(Region(0, self.cursor, 1, 2), spacing=None, animate=False,
                              force=True)

    def _announce(self) -> None:
        key = self.current_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.size.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self.keys) - 1

    def action_select(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)
        self._shown.clear()  # other rows come into view; they are drawn from fresh cells
        self._widest.clear()  # measured again as the rows are drawn

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if round(old_value) != round(new_value):
            self._shown.clear()  # likewise when scrolled by the mouse or the scrollbar
        super().watch_scroll_y(old_value, new_value)

    # ---- rendering ---------------------------------------------------------------------------

    def _widths(self, width: int) -> list[int]:
        """Fixed columns take their width; flexible ones (width 0) as much as their widest
        text seen so far needs, sharing what is left fairly. Spare width stays at the right
        end, so a short name is not followed by fifty blank cells."""
        visible = [c for c in self.columns if width >= c.min_screen]
        fixed = sum(c.width for c in visible) + len(visible)
        flex = [i for i, c in enumerate(self.columns) if c.width == 0 and width >= c.min_screen]
        spare = max(8 * max(1, len(flex)), width - fixed)
        given: dict[int, int] = {}
        by_need = sorted(flex, key=lambda i: self._need(i, spare))
        for n, i in enumerate(by_need):  # water-filling: the least needy are served first
            share = spare // (len(by_need) - n)
            given[i] = min(share, self._need(i, spare))
            spare -= given[i]
        out: list[int] = []
        for i, column in enumerate(self.columns):
            if width < column.min_screen:
                out.append(-1)
            else:
                out.append(given[i] if column.width == 0 else column.width)
        return out

    def _need(self, index: int, spare: int) -> int:
        """A flexible column's width: its widest text drawn (or title), never under 8 cells;
        all of the spare width until a row is drawn. Columns only grow (until a resize), so
        they do not jump while the operator scrolls."""
        seen = self._widest.get(index)
        if seen is None:
            return spare
        return max(8, cell_len(self.columns[index].title), seen)

    def _fetch_visible(self) -> None:
        """Fetch the cells of the rows coming into view now, before they are painted, so
        their columns have the width they need in the first frame (the cells are kept for
        the paint: nothing is asked twice)."""
        now = time.monotonic()
        for key in self._visible_keys():
            if key not in self._shown:
                cells = self._shown[key] = self._cells(key)
                self._slow_at[key] = now
                self._outgrows(cells)

    def _widen(self) -> None:
        """A row drawn just now needed more room than its column had: draw them all again."""
        self._widen_due = False
        self._repaint_all()

    def _outgrows(self, cells: list[Cell]) -> bool:
        """Whether a row's text is wider than its flexible column has been (and note it)."""
        grew = False
        for i, column in enumerate(self.columns):
            if column.width == 0 and i < len(cells):
                size = cell_len(cells[i][0])
                if size > self._widest.get(i, 0):
                    self._widest[i] = size
                    grew = True
        return grew

    def _style(self, name: str) -> Style:
        if not name:
            return Style()
        return self.get_component_rich_style(f"vtable--{name}", partial=True)

    def _line(self, cells: list[Cell], widths: list[int], base: Style, width: int) -> Strip:
        segments: list[Segment] = []
        used = 0
        for (text, style), w, column in zip(cells, widths, self.columns, strict=False):
            if w < 0:
                continue
            text = fit(text, w, column.align)
            segments.append(Segment(text, base + self._style(style)))
            segments.append(Segment(" ", base))
            used += w + 1
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        widths = self._widths(width)
        base = self.rich_style
        if y == 0:
            header = [(c.title, "") for c in self.columns]
            return self._line(header, widths, base + self._style("header"), width)
        row = int(self.scroll_offset.y) + y - 1
        if not self.keys:
            if y == 1:
                return Strip([Segment(fit(f" {self.empty}", width), base + self._style("dim"))])
            return Strip.blank(width, base)
        if row >= len(self.keys):
            return Strip.blank(width, base)
        style = base + self._style("cursor") if row == self.cursor else base
        key = self.keys[row]
        cells = self._shown.get(key)
        if cells is None:
            cells = self._shown[key] = self._cells(key)
            self._slow_at[key] = time.monotonic()
            # columns are measured on the rows drawn (the cells are at hand): no second pass
            if self._outgrows(cells) and not self._widen_due:
                self._widen_due = True
                self.call_after_refresh(self._widen)
        return self._line(cells, widths, style, width)
