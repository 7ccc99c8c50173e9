"""The log tail of one session: messages wrapped to the width, newest at the bottom.

It follows new messages while the view is at the bottom (follow mode) and stays put when the
operator has scrolled up to read. Scrolling to the top asks for the page before the oldest
loaded message (`NeedsOlder`); the owner fetches it and calls `prepend`. No I/O here.
"""

from __future__ import annotations

import textwrap
import time
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentops_tui.models import Message
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.render import fit

ROLE_CLASSES = ("user", "assistant", "tool", "system", "operator")


class LogTail(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of("log")]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logtail--meta", "logtail--dim", *(f"logtail--{r}" for r in ROLE_CLASSES),
    }

    DEFAULT_CSS = """
    LogTail {
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .logtail--meta { color: $text-muted; }
        & > .logtail--dim { color: $text-muted; text-style: italic; }
        & > .logtail--user { color: $secondary; }
        & > .logtail--assistant { color: $foreground; }
        & > .logtail--tool { color: $accent; }
        & > .logtail--system { color: $text-muted; }
        & > .logtail--operator { color: $warning; text-style: bold; }
    }
    """

    follow: reactive[bool] = reactive(True)
    """Stick to the newest message."""

    class NeedsOlder(TextualMessage):
        def __init__(self, session_id: str, before: int) -> None:
            super().__init__()
            self.session_id = session_id
            self.before = before

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session_id: str | None = None
        self.messages: list[Message] = []
        self.complete_history = False
        self.placeholder = "select a session to see its log"
        self._lines: list[tuple[str, str]] = []
        self._width = 0
        self._asked_before: int | None = None

    # ---- data ------------------------------------------------------------------------------

    def show(self, session_id: str | None, placeholder: str | None = None) -> None:
        if session_id == self.session_id:
            return
        self.session_id = session_id
        self.messages = []
        self.complete_history = False
        self._asked_before = None
        if placeholder:
            self.placeholder = placeholder
        self.follow = True
        self._relayout()

    @property
    def last_seq(self) -> int:
        return self.messages[-1].seq if self.messages else 0

    def append(self, messages: list[Message]) -> None:
        fresh = [m for m in messages if m.seq > self.last_seq]
        if not fresh:
            return
        self.messages.extend(fresh)
        self._relayout()

    def prepend(self, messages: list[Message]) -> None:
        first = self.messages[0].seq if self.messages else None
        older = [m for m in messages if first is None or m.seq < first]
        if not older or older[0].seq <= 1:
            self.complete_history = True
        if not older:
            return
        added_lines = len(self._wrap(older))
        self.messages = older + self.messages
        self._relayout(keep_offset=added_lines)

    # ---- layout ------------------------------------------------------------------------------

    def _wrap(self, messages: list[Message]) -> list[tuple[str, str]]:
        width = max(20, self._width - 1)
        lines: list[tuple[str, str]] = []
        for m in messages:
            stamp = time.strftime("%H:%M:%S", time.localtime(m.ts))
            lines.append((f"{stamp} #{m.seq} {m.role}", "meta"))
            for paragraph in m.content.splitlines() or [""]:
                wrapped = textwrap.wrap(paragraph, width - 2, replace_whitespace=False) or [""]
                for line in wrapped:  # wrapped by characters; wide ones need more cells
                    parts = chop_cells(line, width - 2) if cell_len(line) > width - 2 else [line]
                    lines.extend((f"  {part}", m.role) for part in parts)
        return lines

    def _relayout(self, keep_offset: int = 0) -> None:
        self._width = self.size.width or 80
        self._lines = self._wrap(self.messages)
        self.virtual_size = Size(self._width, len(self._lines) + 1)
        if keep_offset:
            self.scroll_to(y=self.scroll_offset.y + keep_offset, animate=False)
        elif self.follow:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._relayout()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        at_bottom = new >= self.max_scroll_y - 1
        if self.follow != at_bottom:
            self.set_reactive(LogTail.follow, at_bottom)
        if new <= 0 and self.messages and not self.complete_history and self.session_id:
            before = self.messages[0].seq
            if before != self._asked_before:
                self._asked_before = before
                self.post_message(self.NeedsOlder(self.session_id, before))

    def action_follow(self) -> None:
        self.follow = True
        self.scroll_end(animate=False)

    # ---- rendering ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if not self.messages:
            if y == 0:
                text = self.placeholder if self.session_id is None else "no messages yet"
                style = base + self.get_component_rich_style("logtail--dim", partial=True)
                return Strip([Segment(fit(f" {text}", width), style)])
            return Strip.blank(width, base)
        index = int(self.scroll_offset.y) + y
        if index == 0 and not self.complete_history:
            style = base + self.get_component_rich_style("logtail--dim", partial=True)
            return Strip([Segment(fit(" ↑ older messages load as you scroll up", width), style)])
        index -= 1
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        text, role = self._lines[index]
        line_style: Style = base + self.get_component_rich_style(f"logtail--{role}", partial=True)
        # wrapped by characters; a line of wide glyphs is cut to the pane by cells
        return Strip([Segment(fit(text, width), line_style)])
