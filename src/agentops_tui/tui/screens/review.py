"""5 Review: keyboard triage of everything that needs a human, one item at a time.

`a` approve (or acknowledge an alert), `x` reject (a reason may be typed), `i` reply to the
session, `s` skip, `u` undo. A decision is held for a few seconds before it is sent, so `u`
really undoes it. New items raise a "+N new" badge and never replace the item being read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label, Static

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core import roles
from agentops_tui.core import tasks as task_math
from agentops_tui.core.fleet import Changes
from agentops_tui.tui import names, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.review_items import Item, ReviewQueue, current_items
from agentops_tui.tui.screens.modals import InjectScreen
from agentops_tui.tui.widgets.log_tail import LogTail
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine

UNDO_SECONDS = 4.0


@dataclass
class Decision:
    item: Item
    verb: str  # approve | reject | ack
    note: str | None
    due: float


class ReviewScreen(Interventions):
    PLACE = "review"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.queue = ReviewQueue()
        self.items: dict[str, Item] = {}
        self.held: list[Decision] = []
        self._shown: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Review", id="review-title")
        with Vertical(id="review-body"):
            yield Static("", id="review-item")
            yield Label("Session log", classes="pane-title")
            yield LogTail(id="review-log")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._send_due)
        self.update_state(None)

    def on_screen_resume(self) -> None:
        self.update_state(None)

    def target_sessions(self) -> list[str]:
        item = self.items.get(self.queue.current or "")
        return [item.session_id] if item and item.session_id else []

    # ---- state -----------------------------------------------------------------------------

    def update_state(self, changes: Changes | None) -> None:
        self.items = current_items(self.console.fleet)
        held = {d.item.key for d in self.held}
        live = {k: v for k, v in self.items.items() if k not in held}
        if self.queue.current in held:
            self.queue.advance(live)
        self.queue.sync(live)
        self.items.update({d.item.key: d.item for d in self.held})
        self._show(live)

    def _show(self, live: dict[str, Item]) -> None:
        left = len(self.queue.pending(live))
        # a pane title is plain text (it quotes what agents wrote), so the badge is too
        badge = f"  +{self.queue.new_since_current} new" \
            if self.queue.new_since_current else ""
        undo = ""
        if self.held:
            last = self.held[-1]
            undo = f"  — u undoes: {last.verb} {render.clip_words(last.item.title, 30)}"
        todo = "to do" if self.console.may_decide else "waiting for an operator"
        self.query_one("#review-title", PaneTitle).show(f"Review — {left} {todo}{badge}{undo}")
        key = self.queue.current
        item = self.items.get(key or "")
        body = self.query_one("#review-item", Static)
        if item is None:
            body.update("Nothing needs you right now. New approvals, waiting sessions, alerts "
                        "and missed deadlines will appear here.")
            self.query_one(LogTail).show(None, "no session")
            if self._shown is not None:
                self.offer_changed()
            self._shown = None
            return
        body.update(self._explain(item))
        if self._shown != key:
            self._shown = key
            self.offer_changed()  # what is offered depends on the item's agent
            log = self.query_one(LogTail)
            log.show(item.session_id, "this item has no session")
            if item.session_id:
                self._load_log(item.session_id)

    def _explain(self, item: Item) -> str:
        fleet = self.console.fleet
        now = self.console.clock()
        lines = [f"[b]{item.kind.upper()}[/b]  {escape(item.title)}"]
        if item.kind == "approval":
            approval = fleet.approvals.get(item.id)
            if approval is not None:
                if approval.detail:
                    lines.append(escape(approval.detail))
                lines.append(f"asked {render.ago(approval.requested_at, now)}")
        elif item.kind == "alert":
            alert = fleet.alerts.get(item.id)
            if alert is not None:
                said = names.subject(fleet, alert.subject_type, alert.subject_id)
                lines.append(f"{alert.severity} · {alert.rule.replace('_', ' ')} · "
                             f"{escape(said)}")
        task_id = item.id if item.kind in ("failed", "sla") else None
        alert = fleet.alerts.get(item.id) if item.kind == "alert" else None
        if alert is not None and alert.subject_type == "task":
            task_id = alert.subject_id
        task = fleet.tasks.get(task_id or "")
        if task is not None:
            totals = task_math.rollup(task, task_math.task_sessions(fleet, task.id), now)
            queue = fleet.queues.get(task.queue_id)
            who = fleet.agents.get(task.assignee or "")
            lines.append(
                f"task {escape(task.name)} · P{task.priority} · {task.status}"
                f" · queue {escape(queue.name if queue else task.queue_id)}"
                f" · {escape(who.name if who else task.assignee or 'unassigned')}"
                f" · {totals.sessions} sessions"
                f" · {render.money(totals.cost_usd, not totals.priced)}")
            if task.deadline is not None:
                left = task.deadline - now
                lines.append(f"due in {render.duration(left)}" if left > 0 else
                             f"deadline passed {render.duration(-left)} ago"
                             + (" — SLA breached" if task.sla_breached else ""))
            if task.error:
                lines.append(f"[b]error[/b] {escape(task.error)}")
        session = fleet.sessions.get(item.session_id or "")
        if session is not None:
            agent = fleet.agents.get(session.agent_id)
            its_task = fleet.tasks.get(session.task_id or "")
            task_name = its_task.name if its_task else session.task_id
            lines.append(
                f"session {escape(session.title or session.id)} · agent "
                f"{escape(agent.name if agent else session.agent_id)} · {session.status} · "
                f"{render.money(session.cost_usd, not session.priced)} · "
                f"{render.tokens(render.session_tokens(session))} tokens"
                + (f" · task {escape(task_name)}" if task_name else ""))
        keys = {"approval": "a approve · x reject · i reply · s skip",
                "waiting": "i reply · s skip", "alert": "a acknowledge · s skip",
                "failed": "a dismiss · s skip", "sla": "a dismiss · s skip"}
        hint = keys.get(item.kind, "s skip")
        watching = roles.refusal(self.console.role, "approve")
        if self.console.read_only or watching is not None:  # nothing to decide, only skip
            if watching is not None:
                lines.append(f"[dim]{escape(watching)}[/dim]")
            lines.append("[dim]s skip[/dim]")
            return "\n".join(lines)
        cannot = self.refusal("reply")
        if cannot is not None:  # no reply key where the agent cannot take a message
            hint = hint.replace("i reply · ", "")
            lines.append(f"[dim]{escape(cannot)}[/dim]")
        lines.append(f"[dim]{hint} · u undo[/dim]")
        return "\n".join(lines)

    @work(group="review-log", exclusive=True)
    async def _load_log(self, session_id: str) -> None:
        try:
            page = await self.console.connection.api.messages(session_id, before=10**12,
                                                               limit=50)
        except (ApiError, BackendUnreachable):
            return
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        log = self.query_one(LogTail)
        if log.session_id == session_id:
            log.append(page)

    # ---- decisions -------------------------------------------------------------------------

    def _decide(self, verb: str, note: str | None = None) -> None:
        item = self.items.get(self.queue.current or "")
        if item is None:
            return
        if verb in ("approve", "reject") and item.kind != "approval":
            if verb == "approve" and item.kind == "alert":
                verb = "ack"
            elif verb == "approve" and item.kind in ("failed", "sla"):
                verb = "dismiss"  # seen; the task itself stays as it is
            else:
                self.notify(f"Nothing to {verb} here: {item.kind}", severity="warning")
                return
        self.held.append(Decision(item, verb, note, time.monotonic() + UNDO_SECONDS))
        live = {k: v for k, v in self.items.items() if k not in {d.item.key for d in self.held}}
        self.queue.handle(item.key, live)
        self._show(live)

    def action_approve(self) -> None:
        self._decide("approve")

    def action_reject(self) -> None:
        item = self.items.get(self.queue.current or "")
        if item is None or item.kind != "approval":
            self.notify("Only approvals can be rejected", severity="warning")
            return

        def done(reason: object) -> None:
            if isinstance(reason, str):
                self._decide("reject", reason or None)

        self.app.push_screen(InjectScreen(
            item.title, allow_empty=True, title=f"Reject {item.title!r} — reason (optional)",
            placeholder="why, for the agent (optional)", hint="enter: reject    esc: cancel"),
            done)

    def action_reply(self) -> None:
        self.action_inject()

    def action_skip(self) -> None:
        live = {k: v for k, v in self.items.items() if k not in {d.item.key for d in self.held}}
        self.queue.skip(live)
        self._show(live)

    def action_undo(self) -> None:
        if not self.held:
            self.notify("Nothing to undo (decisions are sent after a few seconds)")
            return
        decision = self.held.pop()
        self.queue.restore(decision.item.key)
        self.update_state(None)
        self.notify(f"Undone: {decision.verb} {decision.item.title}")

    def _send_due(self) -> None:
        now = time.monotonic()
        due = [d for d in self.held if d.due <= now]
        if due:
            self.held = [d for d in self.held if d.due > now]
            self._send_decisions(due)

    def flush_decisions(self) -> None:
        """Send every held decision now (leaving the screen or quitting)."""
        if self.held:
            due, self.held = self.held, []
            self._send_decisions(due)

    def on_screen_suspend(self) -> None:
        self.flush_decisions()

    @work(group="review-send")
    async def _send_decisions(self, decisions: list[Decision]) -> None:
        api = self.console.connection.api
        for d in decisions:
            try:
                if d.verb == "approve":
                    await api.approve(d.item.id, d.note)
                elif d.verb == "reject":
                    await api.reject(d.item.id, d.note)
                elif d.verb == "ack":
                    await api.ack_alert(d.item.id)
            except (ApiError, BackendUnreachable) as exc:
                self.notify(str(exc), title=f"{d.verb} failed", severity="error")
