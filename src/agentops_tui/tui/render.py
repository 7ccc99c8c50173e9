"""Pure rendering: entities → glyphs, cells and text. No Textual, no I/O; unit-tested alone.

A cell is `(text, style)` where style names a status class (`status-running`, …) or `""`;
widgets turn the class into the theme's colour, so a theme change recolours everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size

from agentops_tui.models import ACTIVE_SESSION_STATUSES, Agent, Command, Session

Cell = tuple[str, str]

# Glyphs stay readable in a monochrome 256-colour terminal: shape carries the meaning.
STATUS_GLYPHS: dict[str, str] = {
    "running": "▶",
    "waiting": "?",
    "paused": "‖",
    "idle": "·",
    "error": "✖",
    "failed": "✖",
    "offline": "○",
    "completed": "✔",
    "killed": "☠",
}

STATUS_ORDER: dict[str, int] = {  # what needs a human first
    "waiting": 0, "error": 1, "failed": 1, "paused": 2, "running": 3, "idle": 4,
    "offline": 5, "completed": 6, "killed": 7,
}

ACTION_LABELS = {"pause": "pause", "resume": "resume", "kill": "kill", "inject": "inject"}


def fit(text: str, width: int, align: str = "left") -> str:
    """`text` in exactly `width` terminal cells: cut with "…" when longer, padded when
    shorter. Counts cells, not characters: "⏳" or a CJK name takes two, and padding by
    `len()` would shift the rest of the row (and the pane border) by one."""
    if width <= 0:
        return ""
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - size)
    return pad + text if align == "right" else text + pad


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, with "…" when cut (not padded)."""
    return text if cell_len(text) <= width else set_cell_size(text, max(0, width - 1)) + "…"


def clip_words(text: str, width: int) -> str:
    """Like `clip`, but cut between words when one ends in the last half of the room."""
    if cell_len(text) <= width:
        return text
    cut = set_cell_size(text, max(0, width - 1))
    space = cut.rstrip().rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def status_style(status: str) -> str:
    if status == "failed":
        return "status-error"
    if status in ("completed", "killed"):
        return "status-ended"
    return f"status-{status}"


def glyph(status: str) -> Cell:
    return STATUS_GLYPHS.get(status, "•"), status_style(status)


def money(usd: float, partial: bool = False) -> str:
    """Dollars with precision that suits the size: $0.0042, $0.42, $12.30, $1,234.

    `partial`: some usage had no price, so the figure is a lower bound — `$0.42+`, or `$?`
    when nothing was priced (never a `$0` that looks free).
    """
    if partial:
        return "$?" if usd <= 0 else money(usd) + "+"
    if usd <= 0:
        return "$0"
    if usd < 0.01:
        return f"${usd:.4f}"
    if usd < 100:
        return f"${usd:.2f}"
    return f"${usd:,.0f}"


def tokens(count: int) -> str:
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    if count < 1_000_000_000:
        return f"{count / 1_000_000:.1f}M"
    return f"{count / 1_000_000_000:.1f}B"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def ago(ts: float, now: float) -> str:
    if ts <= 0:
        return "never"
    delta = now - ts
    if delta < 1:
        return "now"
    return f"{duration(delta)} ago"


def session_tokens(s: Session) -> int:
    return s.input_tokens + s.output_tokens + s.cache_read_tokens + s.cache_write_tokens


def pending_label(command: Command | None) -> str:
    """What the row says while a command waits for its agent, or after it went wrong."""
    if command is None:
        return ""
    action = ACTION_LABELS.get(command.action, command.action)
    if command.status in ("pending", "delivered"):
        return f"⏳{action}"
    if command.status == "failed":
        return f"✖{action} failed"
    if command.status == "expired":
        return f"✖{action} expired"
    return ""


@dataclass(frozen=True, slots=True)
class AgentSummary:
    """An agent with the numbers the roster shows, summed over its known sessions."""

    agent: Agent
    sessions: int
    active: int
    tokens: int
    cost_usd: float
    last_activity: float
    priced: bool = True  # False when a session's cost is partial


def summarize(agent: Agent, sessions: list[Session]) -> AgentSummary:
    # One pass: a tick summarises every changed agent it draws (every one when the roster is
    # sorted by cost or activity), and four passes over each one's sessions were most of it.
    active = tokens = 0
    cost = 0.0
    last = agent.last_seen
    priced = True
    for s in sessions:
        if s.status in ACTIVE_SESSION_STATUSES:
            active += 1
        tokens += session_tokens(s)
        cost += s.cost_usd
        priced = priced and s.priced
        if s.last_activity > last:
            last = s.last_activity
    return AgentSummary(agent=agent, sessions=len(sessions), active=active, tokens=tokens,
                        cost_usd=cost, last_activity=last, priced=priced)


def agent_cells(summary: AgentSummary, now: float, marked: bool = False) -> list[Cell]:
    a = summary.agent
    return [
        ("●" if marked else " ", "marked"),
        glyph(a.status),
        (a.name, ""),
        (a.kind, "dim"),
        (a.model or "—", "dim"),
        (f"{summary.active}/{summary.sessions}", ""),
        (tokens(summary.tokens), ""),
        (money(summary.cost_usd, not summary.priced), ""),
        (ago(summary.last_activity, now), "dim"),
    ]


def session_cells(
    s: Session, now: float, command: Command | None = None, marked: bool = False,
    indent: int = 0,
) -> list[Cell]:
    label = pending_label(command)
    title = s.title or s.id
    if indent:
        title = "  " * (indent - 1) + "└ " + title
    return [
        ("●" if marked else " ", "marked"),
        glyph(s.status),
        (title, ""),
        (label or s.status, "pending" if label else status_style(s.status)),
        (s.model or "—", "dim"),
        (tokens(session_tokens(s)), ""),
        (money(s.cost_usd, not s.priced), ""),
        (duration((s.ended_at or now) - s.started_at), "dim"),
    ]


@lru_cache(maxsize=65_536)  # the roster sorts its names on every tick; names rarely change
def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders numbers by value: coder-2 before coder-11."""
    return tuple(int(part) if i % 2 else part
                 for i, part in enumerate(re.split(r"(\d+)", text.lower())))


def contains(text: str, word: str) -> bool:
    """`word` occurs in `text`, not as the start of a longer number: `coder-1` is in
    `coder-1` and `coder-1 fix`, not in `coder-11`; `cod` still finds `coder-11`."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if not (word[-1:].isdigit() and text[end:end + 1].isdigit()):
            return True
        start = text.find(word, start + 1)
    return False


def not_connected(state: str, detail: str | None, url: str) -> str | None:
    """What an empty list says while the console has no data to show, and why; None when
    the data is current (live, or polling the log), so empty really means empty."""
    host = url.split("://", 1)[-1]
    if state in ("live", "polling"):
        return None
    if state == "connecting":
        return f"connecting to {host}…"
    return f"not connected — {detail}" if detail else f"not connected to {host}"


def matches(query: str, *, name: str, status: str, model: str | None, kind: str) -> bool:
    """Filter syntax: words match name or kind; `status:x` and `model:y` match those fields."""
    for word in query.lower().split():
        key, sep, value = word.partition(":")
        if sep and key == "status":
            if not status.startswith(value):
                return False
        elif sep and key == "model":
            if value not in (model or "").lower():
                return False
        elif sep and key == "kind":
            if value not in kind.lower():
                return False
        elif not contains(name.lower(), word) and not contains(kind.lower(), word):
            return False
    return True
