"""3 Tasks: a kanban board of the work queues — Inbox | Assigned | Running | Complete | Failed.

Cards say priority, name, deadline (a breached SLA stays marked), assignee, sessions and cost.
The board is rebuilt on the repaint tick only when tasks or queues changed; a session change
recomputes the roll-up of its own task and repaints. Enter shows the task's sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from agentops_tui.core.fleet import Changes
from agentops_tui.core.tasks import TaskRollup, rollup, task_of_session, task_sessions
from agentops_tui.tui import board
from agentops_tui.tui.screens.details import TaskDetails
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from agentops_tui.tui.app import AgentOpsApp

CLOCK_REPAINT_SECONDS = 5.0  # "due 12m" moves with the clock even when nothing happens


class TasksScreen(Screen[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="tasks-filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self._rollups: dict[str, TaskRollup] = {}
        self._wanted: str | None = None  # a task to highlight once the board has it

    @property
    def agentops(self) -> AgentOpsApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Label("Tasks", id="tasks-title", classes="pane-title")
        yield Kanban(self._card, id="board", empty="no tasks")
        yield Input(placeholder="filter: words (name, agent, queue), queue:triage, p:4",
                    id="filter", classes="-hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Kanban).focus()
        self.update_state(None)
        self.set_interval(CLOCK_REPAINT_SECONDS, self._clock_moved)

    def on_screen_resume(self) -> None:
        self.update_state(None)

    def _clock_moved(self) -> None:
        if self.is_current:
            self.query_one(Kanban).refresh_cards()

    # ---- state → cards ---------------------------------------------------------------------

    def _facts(self, task_id: str) -> board.CardFacts | None:
        fleet = self.agentops.fleet
        task = fleet.tasks.get(task_id)
        if task is None:
            return None
        totals = self._rollups.get(task_id)
        if totals is None:
            totals = rollup(task, task_sessions(fleet, task_id), self.agentops.clock())
            self._rollups[task_id] = totals
        agent = fleet.agents.get(task.assignee or "")
        queue = fleet.queues.get(task.queue_id)
        return board.CardFacts(
            task=task, assignee=agent.name if agent else task.assignee,
            queue=queue.name if queue else None, sessions=totals.sessions,
            active_sessions=totals.active_sessions, cost_usd=totals.cost_usd)

    def _card(self, task_id: str, width: int) -> list[board.Line]:
        facts = self._facts(task_id)
        return board.card(facts, self.agentops.clock()) if facts else []

    def update_state(self, changes: Changes | None) -> None:
        """Called by the app's repaint tick with what changed since the last one."""
        fleet = self.agentops.fleet
        if changes is None:
            self._rollups.clear()
            self._rebuild()
            return
        touched = set(changes.tasks)
        for sid in changes.sessions:
            task_id = task_of_session(fleet, sid)
            if task_id is not None and task_id in fleet.tasks:
                touched.add(task_id)
        for task_id in touched:
            self._rollups.pop(task_id, None)
        if changes.tasks or changes.queues:
            self._rebuild()
        elif touched:
            self.query_one(Kanban).refresh_cards()

    def _rebuild(self) -> None:
        fleet = self.agentops.fleet
        tasks = list(fleet.tasks.values())
        if self.query_text:
            shown = []
            for task in tasks:
                facts = self._facts(task.id)
                if facts is not None and board.matches(self.query_text, facts):
                    shown.append(task)
            tasks = shown
        kanban = self.query_one(Kanban)
        kanban.set_columns(board.columns(tasks))
        if self._wanted is not None and kanban.move_to(self._wanted):
            self._wanted = None
        self._update_title()

    def _update_title(self) -> None:
        fleet = self.agentops.fleet
        open_tasks = [t for t in fleet.tasks.values()
                      if t.status in ("inbox", "assigned", "running")]
        late = sum(t.sla_breached for t in open_tasks)
        if not fleet.queues and not fleet.tasks:
            self.query_one("#tasks-title", Label).update(
                "Tasks — no work queues yet: tasks appear here as agents' queues fill"
                " (POST /api/v1/work-queues, or the SDK)")
            return
        parts = [f"Tasks — {len(open_tasks)} open"]
        if late:
            parts.append(f"⚠ {late} past SLA")
        if len(fleet.queues) != 1:
            parts.append(f"{len(fleet.queues)} queues")
        if self.query_text:
            parts.append(f"filter: {self.query_text}")
        parts.append("←→↑↓ move, enter sessions, / filter")
        self.query_one("#tasks-title", Label).update(" — ".join(parts))

    # ---- jumping here ----------------------------------------------------------------------

    def select_task(self, task_id: str) -> None:
        """Highlight a task's card (clearing a filter that hides it)."""
        self._wanted = task_id
        if not self.is_mounted:
            return  # on_mount builds the board and takes it from there
        if self.query_text:
            self.action_clear_filter()
        self._rebuild()
        self.query_one(Kanban).focus()

    @property
    def current(self) -> str | None:
        return self.query_one(Kanban).current_key

    # ---- keys ------------------------------------------------------------------------------

    @on(Kanban.Selected)
    def _selected(self, event: Kanban.Selected) -> None:
        self.app.push_screen(TaskDetails(event.key))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("-hidden")
        box.value = self.query_text
        box.focus()

    def _set_filter(self, text: str) -> None:
        self.query_text = text.strip()
        self._rebuild()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.input.add_class("-hidden")
        self.query_one(Kanban).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.add_class("-hidden")
        self._set_filter("")
        self.query_one(Kanban).focus()
