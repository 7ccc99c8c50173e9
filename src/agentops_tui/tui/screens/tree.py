"""2 Tree: sessions under the sessions that spawned them, with cost and status rolled up."""

from __future__ import annotations

import time
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer

from agentops_tui.client.stream import ConnectionStatus
from agentops_tui.core.fleet import Changes
from agentops_tui.core.tree import TreeNode, build_forest, flatten
from agentops_tui.tui import render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ShowSession, ShowTask, navigate
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.screens.details import SessionDetails
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

# At 80 columns the tree keeps who works on what (agent, task) and drops the roll-up counts.
TREE_COLUMNS = [
    Column("", 1), Column("", 1), Column("session", 0), Column("status", 10),
    Column("agent", 13), Column("subtree", 7, "right", min_screen=100, slow=True),
    Column("cost", 8, "right", slow=True),
    Column("tokens", 7, "right", min_screen=100, slow=True), Column("task", 0),
]

# Rebuilding the whole forest is O(sessions); under a busy fleet twice a second is plenty.
REBUILD_INTERVAL = 0.5


NO_SESSIONS = "no sessions yet — sessions and their subagents appear here"


class TreeScreen(Interventions):
    PLACE = "tree"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.collapsed: set[str] = set()
        self.active_only = False
        self.nodes: dict[str, TreeNode] = {}
        self._built_at = 0.0
        self._dirty = True
        self._wanted: str | None = None  # a session to highlight once the tree is built

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Subagent tree", id="tree-title")
        yield VirtualTable(TREE_COLUMNS, self._cells, id="tree", empty=NO_SESSIONS)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tree", VirtualTable).focus()
        self.update_state(None)
        if self._wanted is not None:
            self._select(self._wanted)

    def on_screen_resume(self) -> None:
        self._dirty = True
        self.update_state(None)

    def _cells(self, sid: str) -> list[render.Cell]:
        node = self.nodes.get(sid)
        app = self.console
        session = app.fleet.sessions.get(sid) or (node.session if node else None)
        if node is None or session is None:
            return []
        agent = app.fleet.agents.get(session.agent_id)
        label = render.pending_label(app.last_command(sid))
        fold = "▸ " if sid in self.collapsed and node.children else ""
        title = "  " * node.depth + fold + (session.title or sid)
        subtree = f"{node.active}/{node.sessions}" if node.sessions > 1 else ""
        task = app.fleet.tasks.get(session.task_id) if session.task_id else None
        return [
            ("●" if sid in self.marked else " ", "marked"),
            render.glyph(session.status),
            (title, ""),
            (label or session.status,
             "pending" if label else render.status_style(session.status)),
            (agent.name if agent else session.agent_id, "dim"),
            (subtree, "dim"),
            (render.money(node.cost_usd, not node.priced), ""),
            (render.tokens(node.tokens), ""),
            (task.name if task else session.task_id or "", "dim"),  # the id until known
        ]

    def update_state(self, changes: Changes | None) -> None:
        if changes is not None and (changes.sessions or changes.commands):
            self._dirty = True
        now = time.monotonic()
        if self._dirty and (changes is None or now - self._built_at >= REBUILD_INTERVAL):
            self._rebuild()
            self._built_at = now
        else:
            self.query_one("#tree", VirtualTable).refresh_rows()

    def _rebuild(self) -> None:
        fleet = self.console.fleet
        forest = build_forest(fleet.sessions, fleet.children)
        if self.active_only:
            forest = [n for n in forest if n.active]
        rows = flatten(forest, self.collapsed)
        self.nodes = {n.session.id: n for n in rows}
        for node in rows:  # collapsed subtrees still count in their parent's numbers
            for child in node.children:
                self.nodes.setdefault(child.session.id, child)
        self.query_one("#tree", VirtualTable).set_rows([n.session.id for n in rows])
        self._dirty = False
        active = sum(n.active for n in forest)
        scope = "active trees" if self.active_only else "all trees"
        self.query_one("#tree-title", PaneTitle).show(
            f"Subagent tree — {len(forest)} {scope}, {active} active sessions"
            f" — ←/→ fold, P parent, t task, a active only")

    def connection_changed(self, status: ConnectionStatus) -> None:
        reason = render.not_connected(status.state, status.detail, status.url)
        self.query_one("#tree", VirtualTable).set_empty(reason or NO_SESSIONS)

    def refresh_rows(self) -> None:
        self.query_one("#tree", VirtualTable).refresh_rows()

    @property
    def current(self) -> str | None:
        return self.query_one("#tree", VirtualTable).current_key

    def target_sessions(self) -> list[str]:
        return [self.current] if self.current else []

    def action_collapse(self) -> None:
        sid = self.current
        if sid is None:
            return
        node = self.nodes.get(sid)
        if node is not None and node.children and sid not in self.collapsed:
            self.collapsed.add(sid)
        else:  # on a leaf or a folded node: go to the parent, as file trees do
            self.action_parent()
            return
        self._rebuild()

    def action_expand(self) -> None:
        sid = self.current
        if sid is not None and sid in self.collapsed:
            self.collapsed.discard(sid)
            self._rebuild()

    def action_parent(self) -> None:
        sid = self.current
        session = self.console.fleet.sessions.get(sid or "")
        if session is None or not session.parent_session_id:
            self.notify("This session has no parent", severity="warning")
            return
        self.query_one("#tree", VirtualTable).move_to(session.parent_session_id)

    def action_task(self) -> None:
        task_id = self.console.task_for(self.current)
        if task_id is not None:
            navigate(self, ShowTask(task_id))

    def select_session(self, session_id: str) -> None:
        """Jump here from another screen: unfold the session's ancestors and highlight it."""
        if self.is_mounted:
            self._select(session_id)
        else:
            self._wanted = session_id  # on_mount takes it from there

    def _select(self, session_id: str) -> None:
        self._wanted = None
        fleet = self.console.fleet
        session = fleet.sessions.get(session_id)
        if session is None:
            return
        parent = session.parent_session_id
        climbed: set[str] = set()  # bad data may loop; a chain may be any depth
        while parent and parent not in climbed:
            climbed.add(parent)
            self.collapsed.discard(parent)
            up = fleet.sessions.get(parent)
            parent = up.parent_session_id if up else None
        self._rebuild()
        table = self.query_one("#tree", VirtualTable)
        if not table.move_to(session_id) and self.active_only:
            self.active_only = False
            self._rebuild()
            table.move_to(session_id)
        table.focus()

    def action_toggle_active(self) -> None:
        self.active_only = not self.active_only
        self._rebuild()

    def action_show_in_fleet(self) -> None:
        if self.current:
            navigate(self, ShowSession(self.current))

    @on(VirtualTable.Selected, "#tree")
    def _selected(self, event: VirtualTable.Selected) -> None:
        self.app.push_screen(SessionDetails(event.key))
