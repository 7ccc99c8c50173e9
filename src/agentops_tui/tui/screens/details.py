"""Session details: every field of one session, its task, tools, parent and children."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.cells import cell_len
from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from agentops_tui.core import capabilities
from agentops_tui.core.tasks import rollup, task_sessions
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Agent, Session, Task
from agentops_tui.tui import board, names, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ConsoleModal, ShowSession, ShowTask, navigate
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

SESSION_COLUMNS = [
    Column("", 1), Column("", 1), Column("session", 0), Column("status", 14),
    Column("model", 16, min_screen=90), Column("tokens", 7, "right", slow=True),
    Column("cost", 8, "right", slow=True), Column("time", 8, "right", min_screen=60, slow=True),
]


def _named(name: str, id_: str) -> str:
    """A name with its id beside it (the id is what the API and the logs use)."""
    return id_ if name == id_ else f"{name}  ({id_})"


def _agent_label(agent: Agent) -> str:
    """Name and type, with the agent's avatar in front when it has one."""
    label = f"{agent.name} ({agent.kind})"
    return f"{agent.avatar}  {label}" if agent.avatar else label


def _when(ts: float | None) -> str:
    return "—" if not ts else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class SessionDetails(ConsoleModal):
    PLACE = "session-details"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    DEFAULT_CSS = """
    SessionDetails { align: center middle; }
    SessionDetails > VerticalScroll {
        width: 90; max-width: 96%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 2;
    }
    SessionDetails .title { text-style: bold; margin: 1 0; }
    """

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        app = self.console
        fleet = app.fleet
        s = fleet.sessions.get(self.session_id)
        with VerticalScroll():
            if s is None:
                yield Label(f"Session {self.session_id} is no longer in view", classes="title",
                        markup=False)
                return
            agent = fleet.agents.get(s.agent_id)
            now = app.clock()
            yield Label(f"{render.STATUS_GLYPHS.get(s.status, '•')} {s.title or s.id}",
                        classes="title", markup=False)
            rows = [
                ("session", s.id),
                ("status", s.status + (f" — {s.detail}" if s.detail else "")
                 + (f" ({s.progress:.0%} done)" if s.progress is not None
                    and s.status in ACTIVE_SESSION_STATUSES else "")),
                ("agent", _agent_label(agent) if agent else s.agent_id),
                ("about agent", agent.description or "—" if agent else "—"),
                ("actions", capabilities.actions_text(agent) if agent else "—"),
                ("model", s.model or "—"),
                ("task", _named(names.task_name(fleet, s.task_id), s.task_id)
                 if s.task_id else "—"),
                ("parent", _named(names.session_name(fleet, s.parent_session_id),
                                  s.parent_session_id) if s.parent_session_id else "—"),
                ("children", ", ".join(sorted(names.session_name(fleet, c) for c in
                                              fleet.children.get(s.id, ()))) or "—"),
                ("started", _when(s.started_at)),
                ("ended", _when(s.ended_at)),
                ("elapsed", render.duration((s.ended_at or now) - s.started_at)),
                ("last activity", render.ago(s.last_activity, now)),
                ("tokens in/out", f"{s.input_tokens:,} / {s.output_tokens:,}"),
                ("cache read/write", f"{s.cache_read_tokens:,} / {s.cache_write_tokens:,}"),
                ("cost", render.money(s.cost_usd, not s.priced)
                 + ("" if s.priced else "  (a model without a price: partial)")),
                ("messages", str(s.messages)),
                ("tool calls", ", ".join(f"{t}×{n}" for t, n in
                                         sorted(s.tool_calls.items(), key=lambda x: -x[1]))
                 or "—"),
                ("pending", render.pending_label(app.last_command(s.id)) or "—"),
                ("error", s.error or "—"),
            ]
            width = max(cell_len(k) for k, _ in rows)
            yield Static("\n".join(f"[b]{render.fit(k, width)}[/b]  {escape(v)}" for k, v in rows),
                         markup=True)
            yield Label("esc: close    P: parent session    t: task", classes="title")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_task(self) -> None:
        app = self.console
        task_id = app.task_for(self.session_id)
        if task_id is not None:
            self.dismiss(None)
            navigate(self, ShowTask(task_id))

    def action_parent(self) -> None:
        app = self.console
        s = app.fleet.sessions.get(self.session_id)
        if s is not None and s.parent_session_id in app.fleet.sessions:
            self.dismiss(None)
            self.app.push_screen(SessionDetails(s.parent_session_id))
        else:
            self.notify("No parent session", severity="warning")


class TaskDetails(ConsoleModal):
    """A task and the sessions it spawned (subagents included), with their cost.

    Enter on a session shows it in the Tree screen; `l` shows its log in the Fleet screen.
    """

    PLACE = "task-details"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    DEFAULT_CSS = """
    TaskDetails { align: center middle; }
    TaskDetails > Vertical {
        width: 100; max-width: 96%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 2;
    }
    TaskDetails .title { text-style: bold; margin: 1 0 0 0; }
    TaskDetails #task-facts { margin-bottom: 1; }
    TaskDetails VirtualTable { height: auto; max-height: 16; }
    TaskDetails .hint { color: $text-muted; margin: 1 0; }
    """

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id
        self._depth: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        app = self.console
        fleet = app.fleet
        sessions = task_sessions(fleet, self.task_id)
        for s in sessions:  # parents come first (tree order)
            parent = s.parent_session_id
            self._depth[s.id] = self._depth[parent] + 1 if parent in self._depth else 0
        now = app.clock()
        task = fleet.tasks.get(self.task_id)
        with Vertical():
            name = task.name if task is not None else self.task_id
            yield Label(f"Task {_named(name, self.task_id)}", classes="title", markup=False)
            yield Static(escape(self._facts(sessions, now)), id="task-facts")
            yield VirtualTable(
                SESSION_COLUMNS,
                self._cells,
                id="task-sessions", empty="no sessions in view for this task")
            yield Label("enter: show in tree    l: log    esc: close", classes="hint")

    def _cells(self, sid: str) -> list[render.Cell]:
        app = self.console
        session = app.fleet.sessions.get(sid)
        if session is None:
            return []
        return render.session_cells(session, app.clock(), app.last_command(sid),
                                    indent=self._depth.get(sid, 0))

    def _facts(self, sessions: list[Session], now: float) -> str:
        app = self.console
        fleet = app.fleet
        task = fleet.tasks.get(self.task_id)
        lines: list[str] = []
        if task is not None:
            queue = fleet.queues.get(task.queue_id)
            agent = fleet.agents.get(task.assignee or "")
            text, _ = board.due(task, now)
            lines.append(
                f"{task.status}  P{task.priority}  {text}  queue "
                f"{queue.name if queue else task.queue_id}  assignee "
                f"{agent.name if agent else task.assignee or '—'}")
            if task.error:
                lines.append(f"error: {task.error}")
            totals = rollup(task, sessions, now)
            elapsed = ("—" if totals.elapsed_seconds is None
                       else render.duration(totals.elapsed_seconds))
        else:
            totals = rollup(Task(id=self.task_id, queue_id="", name=self.task_id), sessions, now)
            started = min((s.started_at for s in sessions), default=None)
            elapsed = render.duration(now - started) if started is not None else "—"
        lines.append(
            f"{totals.sessions} sessions ({totals.active_sessions} active)  "
            f"{render.money(totals.cost_usd, not totals.priced)}  "
            # every kind of token, as each session's row counts them (cache included)
            f"{render.tokens(sum(render.session_tokens(s) for s in sessions))} tokens  "
            f"elapsed {elapsed}")
        return "\n".join(lines)

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(list(self._depth))
        table.focus()

    @on(VirtualTable.Selected)
    def _selected(self, event: VirtualTable.Selected) -> None:
        self.dismiss(None)
        navigate(self, ShowSession(event.key, where="tree"))

    def action_log(self) -> None:
        key = self.query_one(VirtualTable).current_key
        if key is not None:
            self.dismiss(None)
            navigate(self, ShowSession(key))

    def action_close(self) -> None:
        self.dismiss(None)
