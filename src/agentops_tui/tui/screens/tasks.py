"""3 Tasks: a kanban board of the work queues — Inbox | Assigned | Running | Complete | Failed.

Cards say priority, name, deadline (a breached SLA stays marked), assignee, sessions and cost.
The board is rebuilt on the repaint tick only when tasks or queues changed; a session change
recomputes the roll-up of its own task and repaints. Enter shows the task's sessions.

The intervention keys (pause, resume, inject, kill) act on the highlighted task's sessions,
subagents included: each on those it applies to (pause on running and waiting ones, resume on
paused ones, inject and kill on every active one).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Input

from agentops_tui.client.stream import ConnectionStatus
from agentops_tui.core.fleet import Changes
from agentops_tui.core.tasks import TaskRollup, rollup, task_of_session, task_sessions
from agentops_tui.tui import board, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.screens.details import TaskDetails
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine

CLOCK_REPAINT_SECONDS = 5.0  # "due 12m" moves with the clock even when nothing happens


class TasksScreen(Interventions):
    # The intervention keys stay out of the footer, which the board's keys fill at 80
    # columns; `?` lists them. A card has no marks: it stands for its sessions already.
    PLACE = "tasks"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        # per task: the sessions' roll-up, how many are paused, a command one waits on, how
        # many wait for a human
        self._rollups: dict[str, tuple[TaskRollup, int, str, int]] = {}
        self._names: dict[str, int] = {}  # tasks per name: a name used twice gets a tag
        self._wanted: str | None = None  # a task to highlight once the board has it
        self._built = False  # the app's tick may bring changes before on_mount built the board

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Tasks", id="tasks-title")
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

    def connection_changed(self, status: ConnectionStatus) -> None:
        reason = render.not_connected(status.state, status.detail, status.url) or "no tasks"
        kanban = self.query_one(Kanban)
        if reason != kanban.empty:
            kanban.empty = reason
            kanban.refresh()

    def _clock_moved(self) -> None:
        if self.is_current:
            self.query_one(Kanban).refresh_cards()

    # ---- state → cards ---------------------------------------------------------------------

    def _facts(self, task_id: str) -> board.CardFacts | None:
        fleet = self.console.fleet
        task = fleet.tasks.get(task_id)
        if task is None:
            return None
        cached = self._rollups.get(task_id)
        if cached is None:
            sessions = task_sessions(fleet, task_id)
            paused = sum(s.status == "paused" for s in sessions)
            waiting = sum(s.status == "waiting" for s in sessions)
            pending = [fleet.pending_command_by_session[s.id] for s in sessions
                       if s.id in fleet.pending_command_by_session]
            command = render.pending_label(fleet.commands.get(pending[0])) if pending else ""
            cached = rollup(task, sessions, self.console.clock()), paused, command, waiting
            self._rollups[task_id] = cached
        totals, paused, command, waits = cached
        agent = fleet.agents.get(task.assignee or "")
        queue = fleet.queues.get(task.queue_id)
        return board.CardFacts(
            task=task, assignee=agent.name if agent else task.assignee,
            queue=queue.name if queue else None, sessions=totals.sessions,
            active_sessions=totals.active_sessions, paused_sessions=paused,
            cost_usd=totals.cost_usd, priced=totals.priced, command=command,
            waiting_sessions=waits,
            tag=task.id[-4:] if self._names.get(task.name, 0) > 1 else "")

    def _card(self, task_id: str, width: int) -> list[board.Line]:
        facts = self._facts(task_id)
        return board.card(facts, self.console.clock()) if facts else []

    def update_state(self, changes: Changes | None) -> None:
        """Called by the app's repaint tick with what changed since the last one."""
        fleet = self.console.fleet
        if changes is None:
            self._rollups.clear()
            self._rebuild()
            self._built = True
            return
        if not self._built:
            return  # on_mount builds it from the whole fleet, these changes included
        touched = set(changes.tasks)
        commands = (fleet.commands.get(c) for c in changes.commands)
        for sid in {*changes.sessions, *(c.session_id for c in commands if c is not None)}:
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
        fleet = self.console.fleet
        tasks = list(fleet.tasks.values())
        names: dict[str, int] = {}
        for task in tasks:
            names[task.name] = names.get(task.name, 0) + 1
        if names != self._names:
            self._names = names
            self._rollups.clear()  # a card's tag may come or go
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
        fleet = self.console.fleet
        open_tasks = [t for t in fleet.tasks.values()
                      if t.status in ("inbox", "assigned", "running")]
        late = sum(t.sla_breached for t in open_tasks)
        if not fleet.queues and not fleet.tasks:
            self.query_one("#tasks-title", PaneTitle).show(
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
        self.query_one("#tasks-title", PaneTitle).show(" — ".join(parts))

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

    # ---- interventions ---------------------------------------------------------------------

    def candidates(self, action: str) -> list[str]:
        """The highlighted task's sessions that `action` applies to (subagents included)."""
        fleet = self.console.fleet
        task = fleet.tasks.get(self.current or "")
        if task is None:
            return []
        return board.action_targets(task_sessions(fleet, task.id), action)

    def say_no_targets(self, action: str) -> None:
        fleet = self.console.fleet
        task = fleet.tasks.get(self.current or "")
        if task is None:
            self.notify("Select a task first", severity="warning")
        else:
            self.notify(board.no_targets(task.name, task_sessions(fleet, task.id), action),
                        severity="warning", markup=False)

    def describe(self, targets: list[str]) -> str:
        task = self.console.fleet.tasks.get(self.current or "")
        what = super().describe(targets)
        return f"{what} of task {task.name!r}" if task is not None else what

    def refresh_rows(self) -> None:
        self.query_one(Kanban).refresh_cards()

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
