"""The task board as pure functions: which card goes in which column, what a card says.

No Textual, no I/O. A card is a few lines; a line is a list of cells `(text, style)` where
style names a class the board widget turns into a theme colour (`p5`, `late`, `dim`, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from agentops_tui.core.tasks import pick_order
from agentops_tui.models import ACTIVE_SESSION_STATUSES, FINAL_TASK_STATUSES, Session, Task
from agentops_tui.tui.render import Cell, contains, money

COLUMNS: tuple[tuple[str, str], ...] = (
    ("inbox", "Inbox"), ("assigned", "Assigned"), ("running", "Running"),
    ("complete", "Complete"), ("failed", "Failed"),
)
FINISHED_SHOWN = 25  # newest finished tasks per column; older ones are counted as "+N more"
DUE_SOON_SECONDS = 15 * 60
CARD_LINES = 3
# The sessions each intervention key sends to, by status: the ones the backend accepts it for,
# so pausing a task never asks its already paused sessions to pause again.
ACTION_STATUSES: dict[str, frozenset[str]] = {
    "pause": frozenset({"running", "waiting"}),
    "resume": frozenset({"paused"}),
    "inject": ACTIVE_SESSION_STATUSES,
    "redirect": ACTIVE_SESSION_STATUSES,
    "kill": ACTIVE_SESSION_STATUSES,
}

Line = list[Cell]


@dataclass(frozen=True, slots=True)
class ColumnView:
    """One column: the task ids shown, in order, and how many tasks it holds in all."""

    status: str
    title: str
    task_ids: tuple[str, ...]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.task_ids)


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What a card shows beyond the task itself: names and the sessions' roll-up."""

    task: Task
    assignee: str | None = None  # the agent's name
    queue: str | None = None  # the queue's name
    sessions: int = 0
    active_sessions: int = 0
    paused_sessions: int = 0
    cost_usd: float = 0.0
    priced: bool = True  # False when a session's cost is partial
    command: str = ""  # a command still waiting for one of its sessions' agents
    waiting_sessions: int = 0  # sessions of the task waiting for a human
    tag: str = ""  # tells apart tasks of the same name (the end of its id)


def columns(tasks: Iterable[Task], finished_shown: int = FINISHED_SHOWN) -> list[ColumnView]:
    """Open columns in pick order (priority, deadline, age); finished ones newest first."""
    by_status: dict[str, list[Task]] = {status: [] for status, _ in COLUMNS}
    for task in tasks:
        by_status.setdefault(task.status, []).append(task)
    out: list[ColumnView] = []
    for status, title in COLUMNS:
        found = by_status[status]
        if status in FINAL_TASK_STATUSES:
            found.sort(key=lambda t: (-(t.finished_at or t.updated_at), t.id))
            shown = found[:finished_shown]
        else:
            found.sort(key=pick_order)
            shown = found
        out.append(ColumnView(status, title, tuple(t.id for t in shown), len(found)))
    return out


def span(seconds: float) -> str:
    """A short length of time: 45s, 12m, 3h, 2d (99d+ past that)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d" if s < 100 * 86400 else "99d+"


def due(task: Task, now: float) -> Cell:
    """The deadline as the card says it; a breached SLA stays marked after the task ends."""
    if task.status in FINAL_TASK_STATUSES:
        if task.sla_breached:
            return "⚠ SLA missed", "late"
        return ("✔ done", "done") if task.status == "complete" else ("✖ failed", "late")
    if task.deadline is None:
        return "no deadline", "dim"
    left = task.deadline - now
    if task.sla_breached:
        return f"⚠ late {span(-left)}", "late"
    if left <= 0:
        return f"late {span(-left)}", "soon"
    return f"due {span(left)}", "soon" if left <= DUE_SOON_SECONDS else "dim"


def priority(task: Task) -> Cell:
    p = min(5, max(1, task.priority))
    return f"P{p}", f"p{p}"


def card(facts: CardFacts, now: float) -> list[Line]:
    """Three lines: priority and name; deadline and assignee; sessions and cost (or why not)."""
    task = facts.task
    first: Line = [priority(task), (" ", ""), (task.name, "name")]
    if facts.tag:
        first.append((f" #{facts.tag}", "dim"))
    second: Line = [due(task, now)]
    if facts.assignee or task.assignee:
        second += [("  ", ""), ("@" + (facts.assignee or task.assignee or ""), "dim")]
    third: Line
    if facts.sessions:
        glyph = ("▶", "active") if facts.active_sessions else ("·", "dim")
        if facts.active_sessions and facts.paused_sessions == facts.active_sessions:
            glyph = ("⏸", "paused")
        third = [glyph, (f" {facts.active_sessions}/{facts.sessions}", ""),
                 ("  ", ""), (money(facts.cost_usd, not facts.priced), "")]
    else:
        third = [(f"#{facts.queue or task.queue_id}", "dim")]
    if facts.waiting_sessions:  # someone has to answer before the work goes on
        third += [("  ", ""), (f"?{facts.waiting_sessions} waits for you", "soon")]
    if facts.command:
        third += [("  ", ""), (facts.command, "pending")]
    if task.status == "failed" and task.error and task.error.strip():
        third += [("  ", ""), (task.error.strip().splitlines()[0], "late")]
    return [first, second, third]


def action_targets(sessions: Iterable[Session], action: str) -> list[str]:
    """The ids of a task's sessions (subagents included) that `action` applies to."""
    wanted = ACTION_STATUSES.get(action, frozenset())
    return [s.id for s in sessions if s.status in wanted]


def no_targets(task_name: str, sessions: Iterable[Session], action: str) -> str:
    """Why a card's `action` has nothing to act on, said so the operator knows what to do."""
    statuses = [s.status for s in sessions]
    what = {"pause": "running or waiting", "resume": "paused"}.get(action, "active")
    verb = "send a message to" if action == "inject" else action
    text = f"Task {task_name!r} has no {what} session to {verb}"
    if not statuses:
        return text + " (no session has worked on it yet)"
    active = [s for s in statuses if s in ACTIVE_SESSION_STATUSES]
    if not active:
        return text + " (its sessions have ended)"
    return text + " (" + ", ".join(f"{active.count(s)} {s}" for s in sorted(set(active))) + ")"


def fit(line: Line, width: int) -> Line:
    """Cut a line to `width` characters, ending in … when something was cut."""
    out: Line = []
    used = 0
    for text, style in line:
        size = cell_len(text)
        if used + size <= width:
            out.append((text, style))
            used += size
            continue
        room = width - used
        if room > 0:
            out.append((set_cell_size(text, room - 1) + "…", style))
        break
    return out


def matches(query: str, facts: CardFacts) -> bool:
    """Filter: words match name, assignee or queue; `queue:x` the queue; `p:4` priority ≥ 4."""
    task = facts.task
    name = task.name.lower()
    who = (facts.assignee or task.assignee or "").lower()
    queue = (facts.queue or task.queue_id).lower()
    for word in query.lower().split():
        key, sep, value = word.partition(":")
        if sep and key in ("queue", "q"):
            if value not in queue and value != task.queue_id.lower():
                return False
        elif sep and key in ("p", "priority"):
            if not value.isdigit() or task.priority < int(value):
                return False
        elif word.startswith("@") and len(word) > 1:  # the assignee, by its whole name
            if who != word[1:]:
                return False
        elif not any(contains(text, word) for text in (name, who, queue)):
            return False
    return True
