"""1 Fleet: the roster of agents, the sessions of the selected agent, and a live log tail."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.client.stream import ConnectionStatus
from agentops_tui.core.fleet import Changes
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Agent, Session
from agentops_tui.tui import render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.agent_actions import AgentActions
from agentops_tui.tui.base import ShowTask, navigate
from agentops_tui.tui.screens.details import SessionDetails
from agentops_tui.tui.widgets.log_tail import LogTail
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

SORTS = ("status", "name", "cost", "activity")

AGENT_COLUMNS = [
    Column("", 1), Column("", 1), Column("agent", 0), Column("kind", 10, min_screen=60),
    Column("model", 18, min_screen=90), Column("sess", 5, "right"),
    Column("tokens", 7, "right", slow=True), Column("cost", 8, "right", slow=True),
    Column("last seen", 12, "right", min_screen=70, slow=True),
]
SESSION_COLUMNS = [
    Column("", 1), Column("", 1), Column("session", 0), Column("status", 13),
    Column("model", 18, min_screen=100), Column("tokens", 7, "right", slow=True),
    Column("cost", 8, "right", slow=True), Column("time", 8, "right", min_screen=60, slow=True),
]


NO_AGENTS = "no agents yet — they appear as soon as they report"


class FleetScreen(AgentActions):
    PLACE = "fleet"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.sort = "status"
        self.reverse = False
        self.agent_id: str | None = None
        self.session_id: str | None = None
        self._summaries: dict[str, render.AgentSummary] = {}
        self._stale = True

    def compose(self) -> ComposeResult:
        app = self.console
        yield StatusLine()
        with Horizontal(id="fleet-body"):
            with Vertical(id="fleet-left"):
                yield PaneTitle("Agents", id="roster-title")
                yield VirtualTable(AGENT_COLUMNS, self._agent_cells, id="roster",
                                   empty=NO_AGENTS)
                yield PaneTitle("Sessions", id="sessions-title")
                yield VirtualTable(
                    SESSION_COLUMNS,
                    lambda sid: render.session_cells(
                        app.fleet.sessions[sid], app.clock(),
                        app.last_command(sid), sid in self.marked,
                    ),
                    id="sessions", empty="no sessions for this agent",
                )
            with Vertical(id="fleet-right"):
                yield PaneTitle("Log", id="log-title")
                yield LogTail(id="log")
        yield Input(placeholder="filter: words, status:waiting, model:opus, kind:coder",
                    id="filter", classes="-hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#roster", VirtualTable).focus()
        self.update_state(None)

    def on_screen_resume(self) -> None:
        self._stale = True
        self.update_state(None)
        if self.session_id:  # messages that came while another screen was up
            self.load_messages(self.session_id)

    # ---- state → rows --------------------------------------------------------------------

    def _agent_cells(self, agent_id: str) -> list[render.Cell]:
        summary = self._summaries.get(agent_id) or self._summarize(agent_id)
        return render.agent_cells(summary, self.console.clock(),
                                  marked=agent_id in self._marked_agents())

    def _marked_agents(self) -> set[str]:
        """Agents with a marked session: their roster rows show the mark too, so marks
        made under another agent stay in sight."""
        sessions = self.console.fleet.sessions
        return {s.agent_id for sid in self.marked if (s := sessions.get(sid)) is not None}

    def _summarize(self, agent_id: str) -> render.AgentSummary:
        fleet = self.console.fleet
        sessions = [fleet.sessions[s] for s in fleet.sessions_by_agent.get(agent_id, ())
                    if s in fleet.sessions]
        summary = render.summarize(fleet.agents[agent_id], sessions)
        self._summaries[agent_id] = summary
        return summary

    def update_state(self, changes: Changes | None) -> None:
        """Called by the app's repaint tick with what changed since the last one."""
        fleet = self.console.fleet
        if changes is None or self._stale:
            self._summaries.clear()
            self._stale = False
            dirty = set(fleet.agents)
        else:
            dirty = set(changes.agents)
            for sid in changes.sessions:
                session = fleet.sessions.get(sid)
                if session is not None:
                    dirty.add(session.agent_id)
        for agent_id in dirty:  # summarised again when shown, or sorted by cost or activity
            self._summaries.pop(agent_id, None)
        self._rebuild_roster()
        self._rebuild_sessions()
        if changes is not None and self.session_id in changes.messages:
            self.load_messages(self.session_id)
        self._update_titles()

    def _rebuild_roster(self) -> None:
        fleet = self.console.fleet
        keys = [
            a.id for a in fleet.agents.values()
            if not self.query_text or render.matches(
                self.query_text, name=a.name, status=a.status, model=a.model, kind=a.kind)
        ]
        summaries = self._summaries

        def key(agent_id: str) -> tuple[object, ...]:
            agent = fleet.agents[agent_id]
            name = render.natural_key(agent.name)
            if self.sort == "name":
                return (name,)
            if self.sort == "status":
                return (render.STATUS_ORDER.get(agent.status, 9), name)
            s = summaries.get(agent_id) or self._summarize(agent_id)
            if self.sort == "cost":
                return (-s.cost_usd, name)
            return (-s.last_activity, name)

        keys.sort(key=key, reverse=self.reverse)
        self.query_one("#roster", VirtualTable).set_rows(keys)

    def _rebuild_sessions(self) -> None:
        fleet = self.console.fleet
        ids = fleet.sessions_by_agent.get(self.agent_id or "", set())
        sessions = [fleet.sessions[s] for s in ids if s in fleet.sessions]
        sessions.sort(key=_session_order)
        table = self.query_one("#sessions", VirtualTable)
        before = set(table.keys)
        table.set_rows([s.id for s in sessions])
        shown = fleet.sessions.get(self.session_id or "")
        newest = sessions[0] if sessions else None
        if (before and shown is not None and shown.status not in ACTIVE_SESSION_STATUSES
                and newest is not None and newest.id not in before
                and newest.status in ACTIVE_SESSION_STATUSES and self.query_one(LogTail).follow):
            # the log was following work that ended; the agent's new session is where it
            # goes on (a log scrolled back by hand, or an active one, stays put)
            table.move_to(newest.id)

    def _update_titles(self) -> None:
        fleet = self.console.fleet
        shown = len(self.query_one("#roster", VirtualTable).keys)
        total = len(fleet.agents)
        filt = f" — filter: {self.query_text}" if self.query_text else ""
        sort = f" — by {self.sort}{' ↑' if self.reverse else ''}"
        marks = f" — {len(self.marked)} marked (space)" if self.marked else ""
        self.query_one("#roster-title", PaneTitle).show(
            f"Agents {shown}/{total}{marks}{sort}{filt}")
        self.connection_changed(None)
        agent = fleet.agents.get(self.agent_id or "")
        self.query_one("#sessions-title", PaneTitle).show(
            f"Sessions of {agent.name}" if agent else "Sessions")
        session = fleet.sessions.get(self.session_id or "")
        log = self.query_one(LogTail)
        follow = "following" if log.follow else "paused — f to follow"
        self.query_one("#log-title", PaneTitle).show(
            f"Log {session.title or session.id} ({follow})" if session else "Log")

    def connection_changed(self, status: ConnectionStatus | None) -> None:
        """The roster's empty state says why it is empty: not connected (and why), a filter
        that matches nothing, or a fleet where no agent has reported yet."""
        status = status or self.console.connection.status
        roster = self.query_one("#roster", VirtualTable)
        if self.console.fleet.agents and self.query_text:
            roster.set_empty(f"no agent matches “{self.query_text}” — esc clears the filter")
        else:
            roster.set_empty(render.not_connected(status.state, status.detail, status.url)
                             or NO_AGENTS)

    def refresh_rows(self) -> None:
        self.query_one("#sessions", VirtualTable).refresh_rows()
        self.query_one("#roster", VirtualTable).refresh_rows()
        self._update_titles()

    # ---- selection -------------------------------------------------------------------------

    @on(VirtualTable.Highlighted, "#roster")
    def _agent_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.key != self.agent_id:
            self.agent_id = event.key
            self._rebuild_sessions()
            self._update_titles()
            self.offer_changed()  # spawn goes to the highlighted agent

    @on(VirtualTable.Highlighted, "#sessions")
    def _session_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.key != self.session_id:
            self.session_id = event.key
            self.query_one(LogTail).show(event.key)
            if event.key:
                self.load_messages(event.key)
            self._update_titles()

    @on(VirtualTable.Selected, "#roster")
    def _agent_selected(self, event: VirtualTable.Selected) -> None:
        self.query_one("#sessions", VirtualTable).focus()

    @on(VirtualTable.Selected, "#sessions")
    def _session_selected(self, event: VirtualTable.Selected) -> None:
        self.app.push_screen(SessionDetails(event.key))

    def target_sessions(self) -> list[str]:
        return [self.session_id] if self.session_id else []

    def selected_agent(self) -> Agent | None:
        return self.console.fleet.agents.get(self.agent_id or "")

    def select_agent(self, agent_id: str) -> None:
        """Jump here from another screen: highlight the agent."""
        self.query_text = ""
        self._rebuild_roster()
        table = self.query_one("#roster", VirtualTable)
        table.move_to(agent_id)
        table.focus()

    def select_session(self, session_id: str) -> None:
        """Jump here from another screen: highlight the session and its agent."""
        session = self.console.fleet.sessions.get(session_id)
        if session is None:
            return
        self.query_text = ""
        self._rebuild_roster()
        self.query_one("#roster", VirtualTable).move_to(session.agent_id)
        self.agent_id = session.agent_id
        self._rebuild_sessions()
        self.query_one("#sessions", VirtualTable).move_to(session_id)
        self.query_one("#sessions", VirtualTable).focus()

    # ---- log -------------------------------------------------------------------------------

    @work(group="log", exclusive=True)
    async def load_messages(self, session_id: str) -> None:
        log = self.query_one(LogTail)
        try:
            if log.messages:
                page = await self.console.connection.api.messages(session_id, after=log.last_seq)
            else:  # the newest page first; older ones load on scroll
                page = await self.console.connection.api.messages(
                    session_id, before=10**12, limit=200)
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Could not load the log", severity="error")
            return
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        if log.session_id == session_id:
            if log.messages:
                log.append(page)
            else:
                log.append(page)
                if not page or page[0].seq <= 1:
                    log.complete_history = True
            self._update_titles()

    @on(LogTail.NeedsOlder)
    def _older(self, event: LogTail.NeedsOlder) -> None:
        self.load_older(event.session_id, event.before)

    @work(group="log-older", exclusive=True)
    async def load_older(self, session_id: str, before: int) -> None:
        try:
            page = await self.console.connection.api.messages(
                session_id, before=before, limit=200)
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Could not load older messages", severity="error")
            return
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        log = self.query_one(LogTail)
        if log.session_id == session_id:
            log.prepend(page)

    # ---- filter / sort / details -------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("-hidden")
        box.value = self.query_text
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self._rebuild_roster()
        self._update_titles()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.input.add_class("-hidden")
        self.query_one("#roster", VirtualTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.add_class("-hidden")
        self.query_text = ""
        self._rebuild_roster()
        self._update_titles()
        self.query_one("#roster", VirtualTable).focus()

    def action_sort(self, step: int) -> None:
        if step < 0:
            self.reverse = not self.reverse
        else:
            self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._rebuild_roster()
        self._update_titles()

    def action_task(self) -> None:
        task_id = self.console.task_for(self.session_id)
        if task_id is not None:
            navigate(self, ShowTask(task_id))

    def action_details(self) -> None:
        if self.session_id:
            self.app.push_screen(SessionDetails(self.session_id))


def _session_order(s: Session) -> tuple[int, float]:
    return (0 if s.status in ACTIVE_SESSION_STATUSES else 1, -s.started_at)
