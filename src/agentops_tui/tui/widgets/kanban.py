"""A kanban board: columns of cards, drawn line by line (Line API), only what is on screen.

The owner hands over `ColumnView`s (task ids in display order) and a function from task id and
width to the card's lines. The highlight stays on the same task id when cards move, follows a
card into another column, and each column scrolls on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.board import CARD_LINES, ColumnView, Line, fit

CardLines = Callable[[str, int], list[Line]]
GAP_MIN_HEIGHT = 24  # with fewer rows than this, cards sit without a blank line between
NARROW_COLUMN = 14  # columns narrower than this share the width unequally:
FOCUS_WIDTH = 30  # the highlighted column gets this much,
MIN_WIDTH = 8  # the others what is left (never less than this)


class Kanban(Widget, can_focus=True):
    """Keys: ←/→ column, ↑/↓ card, PgUp/PgDn page, Home/End first/last, enter open."""

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("board")]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "kanban--header", "kanban--header-current", "kanban--cursor", "kanban--rule",
        "kanban--dim", "kanban--name", "kanban--late", "kanban--soon", "kanban--done",
        "kanban--active", "kanban--paused", "kanban--pending",
        "kanban--p5", "kanban--p4", "kanban--p3", "kanban--p2", "kanban--p1",
    }

    DEFAULT_CSS = """
    Kanban {
        height: 1fr;
        background: $surface;
        & > .kanban--header { text-style: bold; color: $text-muted; background: $panel; }
        & > .kanban--header-current { text-style: bold; color: $text; background: $panel; }
        & > .kanban--cursor { background: $primary 35%; }
        &:focus > .kanban--cursor { background: $primary 60%; }
        & > .kanban--rule { color: $panel; }
        & > .kanban--dim { color: $text-muted; }
        & > .kanban--name { text-style: bold; }
        & > .kanban--late { color: $error; text-style: bold; }
        & > .kanban--soon { color: $warning; }
        & > .kanban--done { color: $success; }
        & > .kanban--active { color: $status-running; }
        & > .kanban--paused { color: $status-paused; }
        & > .kanban--pending { color: $warning; text-style: bold; }
        & > .kanban--p5 { color: $error; text-style: bold reverse; }
        & > .kanban--p4 { color: $warning; text-style: bold; }
        & > .kanban--p3 { color: $accent; }
        & > .kanban--p2 { color: $text-muted; }
        & > .kanban--p1 { color: $text-disabled; }
    }
    """

    class Highlighted(Message):
        """The highlight moved to another card (or to an empty column: key None)."""

        def __init__(self, kanban: Kanban, key: str | None) -> None:
            super().__init__()
            self.kanban = kanban
            self.key = key

        @property
        def control(self) -> Kanban:
            return self.kanban

    class Selected(Message):
        """Enter on a card."""

        def __init__(self, kanban: Kanban, key: str) -> None:
            super().__init__()
            self.kanban = kanban
            self.key = key

        @property
        def control(self) -> Kanban:
            return self.kanban

    def __init__(self, card_lines: CardLines, *, empty: str = "no tasks",
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._card_lines = card_lines
        self.empty = empty
        self.columns: list[ColumnView] = []
        self.column = 0  # the column with the highlight
        self.rows: list[int] = []  # highlighted card per column
        self.tops: list[int] = []  # first card on screen per column
        self._cache: dict[tuple[str, int], list[Line]] = {}
        self._last_key: str | None = None

    # ---- data ------------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        if not self.columns:
            return None
        ids = self.columns[self.column].task_ids
        row = self.rows[self.column]
        return ids[row] if 0 <= row < len(ids) else None

    def set_columns(self, columns: list[ColumnView]) -> None:
        """New cards; each column keeps its highlighted task, and the board follows its own."""
        current = self.current_key
        keep = [c.task_ids[r] if 0 <= r < len(c.task_ids) else None
                for c, r in zip(self.columns, self.rows, strict=False)]
        keep += [None] * (len(columns) - len(keep))
        self.columns = columns
        self.rows = [0] * len(columns)
        self.tops = (self.tops + [0] * len(columns))[: len(columns)]
        for i, column in enumerate(columns):
            key = keep[i]
            if key is not None and key in column.task_ids:
                self.rows[i] = column.task_ids.index(key)
        self.column = min(self.column, max(0, len(columns) - 1))
        if current is not None:
            found = [i for i, column in enumerate(columns) if current in column.task_ids]
            if found:
                self.column = found[0]
                self.rows[found[0]] = columns[found[0]].task_ids.index(current)
            elif columns and not columns[self.column].task_ids:  # its column emptied
                filled = [i for i, column in enumerate(columns) if column.task_ids]
                if filled:
                    self.column = min(filled, key=lambda i: abs(i - self.column))
        for i in range(len(columns)):
            self._clamp(i)
        self.refresh_cards()

    def move_to(self, key: str) -> bool:
        for i, column in enumerate(self.columns):
            if key in column.task_ids:
                self.column = i
                self.rows[i] = column.task_ids.index(key)
                self._clamp(i)
                self._moved()
                return True
        return False

    def refresh_cards(self) -> None:
        """Ask for every visible card's lines again and repaint (nothing else is rebuilt)."""
        self._cache.clear()
        self._announce()
        self.refresh()

    # ---- geometry --------------------------------------------------------------------------

    @property
    def card_height(self) -> int:
        return CARD_LINES + (1 if self.size.height >= GAP_MIN_HEIGHT else 0)

    @property
    def visible_cards(self) -> int:
        # the header on top, one line at the bottom for "+N more"
        return max(1, (self.size.height - 2 + (self.card_height - CARD_LINES))
                   // self.card_height)

    def _widths(self) -> list[int]:
        """An empty column (not the highlighted one) takes only its title's width; the
        others share the rest equally, and on a narrow screen the highlighted one gets room
        to be read."""
        n = max(1, len(self.columns))
        usable = max(n, self.size.width - (n - 1))  # a rule between columns
        if not self.columns:
            return [usable]
        narrow = {i: cell_len(f" {c.title} {c.total} ") for i, c in enumerate(self.columns)
                  if not c.task_ids and i != self.column}
        shared = [i for i in range(n) if i not in narrow]
        room = usable - sum(narrow.values())
        if room < len(shared) * MIN_WIDTH:  # too narrow even for that: equal columns
            narrow, shared, room = {}, list(range(n)), usable
        m = len(shared)
        if m == 1 or room // m >= NARROW_COLUMN:
            parts = [room // m + (1 if k < room % m else 0) for k in range(m)]
        else:
            focus = max(room // m, min(FOCUS_WIDTH, room - (m - 1) * MIN_WIDTH))
            rest = room - focus
            parts = [rest // (m - 1) + (1 if k < rest % (m - 1) else 0) for k in range(m - 1)]
            parts.insert(shared.index(self.column) if self.column in shared else 0, focus)
        widths = dict(zip(shared, parts, strict=True))
        return [narrow.get(i, widths.get(i, 0)) for i in range(n)]

    def _clamp(self, i: int) -> None:
        count = len(self.columns[i].task_ids)
        self.rows[i] = max(0, min(self.rows[i], count - 1)) if count else 0
        visible = self.visible_cards
        top = self.tops[i]
        if self.rows[i] < top:
            top = self.rows[i]
        elif self.rows[i] >= top + visible:
            top = self.rows[i] - visible + 1
        self.tops[i] = max(0, min(top, max(0, count - visible)))

    def on_resize(self) -> None:
        for i in range(len(self.columns)):
            self._clamp(i)
        self.refresh_cards()

    # ---- moving ----------------------------------------------------------------------------

    def _moved(self) -> None:
        self._announce()
        self.refresh()

    def _announce(self) -> None:
        key = self.current_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    def action_column(self, delta: int) -> None:
        if self.columns:
            self.column = max(0, min(len(self.columns) - 1, self.column + delta))
            self._clamp(self.column)
            self._moved()

    def action_card(self, delta: int) -> None:
        if self.columns:
            self.rows[self.column] += delta
            self._clamp(self.column)
            self._moved()

    def action_page(self, direction: int) -> None:
        self.action_card(direction * self.visible_cards)

    def action_jump(self, where: int) -> None:
        if self.columns:
            self.rows[self.column] = 0 if where == 0 else len(
                self.columns[self.column].task_ids) - 1
            self._clamp(self.column)
            self._moved()

    def action_select(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if not self.columns or event.y < 1:
            return
        x = 0
        for i, width in enumerate(self._widths()):
            if x <= event.x < x + width:
                index = self.tops[i] + (event.y - 1) // self.card_height
                shown = min(len(self.columns[i].task_ids), self.tops[i] + self.visible_cards)
                if index < shown:
                    self.column = i
                    self.rows[i] = index
                    self._moved()
                    if event.chain == 2:
                        self.action_select()
                return
            x += width + 1

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.action_card(1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.action_card(-1)

    # ---- rendering -------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        if not name:
            return Style()
        return self.get_component_rich_style(f"kanban--{name}", partial=True)

    def _lines(self, key: str, width: int) -> list[Line]:
        lines = self._cache.get((key, width))
        if lines is None:
            lines = [fit(line, width) for line in self._card_lines(key, width)]
            self._cache[(key, width)] = lines
        return lines

    def _cells(self, line: Line, width: int, base: Style) -> list[Segment]:
        segments: list[Segment] = []
        used = 0
        for text, style in line:
            segments.append(Segment(text, base + self._style(style)))
            used += cell_len(text)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return segments

    def _column_line(self, i: int, y: int, width: int, base: Style) -> list[Segment]:
        column = self.columns[i]
        if y == 0:
            style = "header-current" if i == self.column else "header"
            title = f" {column.title} {column.total}"
            return self._cells(fit([(title, "")], width), width, base + self._style(style))
        line = y - 1
        last = self.size.height - 1
        ids = column.task_ids
        if y == last:
            below = max(0, len(ids) - self.tops[i] - self.visible_cards) + column.hidden
            if below:
                return self._cells(fit([(f" +{below} more", "dim")], width), width, base)
        if not ids:
            if line == 0:
                return self._cells(fit([(f" {self.empty}", "dim")], width), width, base)
            return [Segment(" " * width, base)]
        index = self.tops[i] + line // self.card_height
        within = line % self.card_height
        if (index >= len(ids) or within >= CARD_LINES
                or index >= self.tops[i] + self.visible_cards):
            return [Segment(" " * width, base)]
        key = ids[index]
        cursor = i == self.column and index == self.rows[i]
        card_style = base + self._style("cursor") if cursor else base
        lines = self._lines(key, width - 2)
        text = lines[within] if within < len(lines) else []
        edge = "▌" if cursor else " "
        return [Segment(edge, card_style), *self._cells(text, width - 2, card_style),
                Segment(" ", card_style)]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if not self.columns:
            return Strip.blank(width, base)
        rule = base + self._style("rule")
        segments: list[Segment] = []
        for i, w in enumerate(self._widths()):
            if i:
                segments.append(Segment("│", rule))
            segments.extend(self._column_line(i, y, w, base))
        return Strip(segments).crop(0, width)
