"""Session details: every field of one session, its task, tools, parent and children."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from agentops_tui.tui import render

if TYPE_CHECKING:
    from agentops_tui.tui.app import AgentOpsApp


def _when(ts: float | None) -> str:
    return "—" if not ts else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class SessionDetails(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close"),
        Binding("P", "parent", "Parent", id="details-parent"),
    ]

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
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        fleet = app.fleet
        s = fleet.sessions.get(self.session_id)
        with VerticalScroll():
            if s is None:
                yield Label(f"Session {self.session_id} is no longer in view", classes="title")
                return
            agent = fleet.agents.get(s.agent_id)
            now = app.clock()
            yield Label(f"{render.STATUS_GLYPHS.get(s.status, '•')} {s.title or s.id}",
                        classes="title", markup=False)
            rows = [
                ("session", s.id),
                ("status", s.status + (f" — {s.detail}" if s.detail else "")),
                ("agent", f"{agent.name} ({agent.kind})" if agent else s.agent_id),
                ("model", s.model or "—"),
                ("task", s.task_id or "—"),
                ("parent", s.parent_session_id or "—"),
                ("children", ", ".join(sorted(fleet.children.get(s.id, ()))) or "—"),
                ("started", _when(s.started_at)),
                ("ended", _when(s.ended_at)),
                ("elapsed", render.duration((s.ended_at or now) - s.started_at)),
                ("last activity", render.ago(s.last_activity, now)),
                ("tokens in/out", f"{s.input_tokens:,} / {s.output_tokens:,}"),
                ("cache read/write", f"{s.cache_read_tokens:,} / {s.cache_write_tokens:,}"),
                ("cost", render.money(s.cost_usd)),
                ("messages", str(s.messages)),
                ("tool calls", ", ".join(f"{t}×{n}" for t, n in
                                         sorted(s.tool_calls.items(), key=lambda x: -x[1]))
                 or "—"),
                ("pending", render.pending_label(app.last_command(s.id)) or "—"),
                ("error", s.error or "—"),
            ]
            width = max(len(k) for k, _ in rows)
            yield Static("\n".join(f"[b]{k.ljust(width)}[/b]  {escape(v)}" for k, v in rows),
                         markup=True)
            yield Label("esc: close    P: parent session", classes="title")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_parent(self) -> None:
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        s = app.fleet.sessions.get(self.session_id)
        if s is not None and s.parent_session_id in app.fleet.sessions:
            self.dismiss(None)
            app.push_screen(SessionDetails(s.parent_session_id))
        else:
            self.notify("No parent session", severity="warning")


class TaskDetails(ModalScreen[None]):
    """A task and the sessions it spawned (subagents included), with their cost."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "close", "Close")]

    DEFAULT_CSS = """
    TaskDetails { align: center middle; }
    TaskDetails > VerticalScroll {
        width: 90; max-width: 96%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 2;
    }
    TaskDetails .title { text-style: bold; margin: 1 0; }
    """

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id

    def compose(self) -> ComposeResult:
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        fleet = app.fleet
        direct = sorted(fleet.sessions_by_task.get(self.task_id, ()))
        ids: list[str] = []
        stack = list(reversed(direct))
        while stack:  # the task's sessions and everything they spawned
            sid = stack.pop()
            if sid in ids or sid not in fleet.sessions:
                continue
            ids.append(sid)
            stack.extend(sorted(fleet.children.get(sid, ())))
        sessions = [fleet.sessions[s] for s in ids]
        now = app.clock()
        task = getattr(fleet, "tasks", {}).get(self.task_id)
        with VerticalScroll():
            name = getattr(task, "name", None) or self.task_id
            yield Label(f"Task {name}", classes="title", markup=False)
            if task is not None:
                yield Static(escape(f"status {task.status}  priority {task.priority}"))
            total = sum(s.cost_usd for s in sessions)
            tokens = sum(render.session_tokens(s) for s in sessions)
            started = min((s.started_at for s in sessions), default=now)
            yield Static(escape(
                f"{len(sessions)} sessions  {render.money(total)}  {render.tokens(tokens)} tokens"
                f"  elapsed {render.duration(now - started) if sessions else '—'}"))
            lines = [
                f"{render.STATUS_GLYPHS.get(s.status, '•')} {s.title or s.id}  {s.status}"
                f"  {render.money(s.cost_usd)}"
                for s in sessions
            ]
            yield Static(escape("\n".join(lines) or "no sessions in view for this task"))
            yield Label("esc: close", classes="title")

    def action_close(self) -> None:
        self.dismiss(None)
