"""The console app. `create_app` is the one factory the CLI and the tests use.

The connection (snapshot + stream) runs in a worker on the app's loop and only updates
`FleetState`; a 10 Hz tick looks at `state.version` and, when something changed, hands the
accumulated changes to the visible screen, which repaints only the rows on screen.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen

from agentops_tui import paths
from agentops_tui.client.connection import Connection
from agentops_tui.core import roles
from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.core.tasks import task_of_session
from agentops_tui.models import Command
from agentops_tui.tui import names
from agentops_tui.tui.actions import SCOPE_TITLES
from agentops_tui.tui.base import (
    Console,
    ConsoleScreen,
    ShowAgent,
    ShowScreen,
    ShowSession,
    ShowTask,
    place_of,
)
from agentops_tui.tui.commands import AgentOpsCommands
from agentops_tui.tui.help_keys import help_sections
from agentops_tui.tui.notices import NOTICE_SECONDS, NewWorkNotices
from agentops_tui.tui.registry import SCREENS, app_bindings, screen_named
from agentops_tui.tui.screens.details import TaskDetails
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.screens.modals import HelpScreen
from agentops_tui.tui.screens.tasks import TasksScreen
from agentops_tui.tui.screens.tree import TreeScreen
from agentops_tui.tui.themes import (
    DEFAULT_THEME,
    default_themes_dir,
    load_themes,
    status_defaults,
)
from agentops_tui.tui.widgets.status_line import StatusLine

TICK_SECONDS = 0.1
FAILED_SHOWN_SECONDS = 30.0


class AgentOpsApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "agentops"
    COMMANDS: ClassVar[set[Any]] = {AgentOpsCommands}
    COMMAND_PALETTE_BINDING = "colon"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    MODES: ClassVar[dict[str, Any]] = {s.name: s.screen for s in SCREENS}
    BINDINGS: ClassVar[list[BindingType]] = [*app_bindings()]

    def __init__(
        self,
        connection: Connection,
        *,
        read_only: bool = False,
        theme: str | None = None,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        themes_dir: Path | None = None,
        on_theme_change: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_theme_change = on_theme_change
        self.connection = connection
        self.read_only = read_only
        self.clock = clock
        self._keymap_overrides = keymap or {}
        folders = [themes_dir] if themes_dir else [default_themes_dir(),
                                                   paths.config_dir() / "themes"]
        themes, self._theme_problems = load_themes(*folders)
        for t in themes:
            self.register_theme(t)
        self._wanted_theme = theme if theme in self.available_themes else DEFAULT_THEME
        self._bad_theme = theme if theme and theme not in self.available_themes else None
        self._seen_version = -1
        self._frozen_snapshots = 0
        self._header_at = 0.0
        self._spend = 0.0  # spent today, as last summed
        self._spend_partial = False  # some of it had no price
        self._spend_at = 0.0  # when (monotonic) it was summed, from which snapshot
        self._spend_snapshots = -1
        self._failed: dict[str, tuple[Command, float]] = {}
        self._notices = NewWorkNotices()
        self._noticed_snapshots = 0
        self._seen_role: tuple[str | None, bool] = (None, False)
        self._header_screen: object = None  # the screen whose header was drawn last

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notices are plain text: they quote what agents, tasks and the server said, and
        markup in there ("[/b]", "[@click=...]") would break the toast or act on a click."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Status colours for themes that do not define them (Textual's own, say)."""
        return {**super().get_theme_variable_defaults(), **status_defaults(dark=True)}

    # ---- wiring ----------------------------------------------------------------------------

    @property
    def fleet(self) -> Fleet:
        return self.connection.state.fleet

    @property
    def role(self) -> str | None:
        """The token's role as the server last said; None (offer everything, the server
        decides) until it says, or when it is too old to."""
        return self.connection.role

    @property
    def role_known(self) -> bool:
        """The server said who the token is (or that it cannot say). Until then nothing that
        acts is offered: a viewer's console must not show an operator's footer first."""
        return self.connection.identity_asked

    @property
    def may_decide(self) -> bool:
        """This console may decide approvals (a viewer's token or a read-only console not)."""
        return not self.read_only and self.role_known and roles.allows(self.role, "approve")

    def compose(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.theme = self._wanted_theme
        if self._keymap_overrides:
            self.set_keymap(self._keymap_overrides)
        for problem in self._theme_problems:
            self.notify(problem, title="Theme not loaded", severity="warning", timeout=8)
        if self._bad_theme:
            self.notify(f"No theme named {self._bad_theme!r}; using {DEFAULT_THEME}",
                        severity="warning")
        self.switch_mode("fleet")
        self.connection.on_status = lambda status: self._update_header(force=True)
        self.run_worker(self.connection.run(), name="connection", group="connection",
                        exit_on_error=False)
        self.set_interval(TICK_SECONDS, self._tick)

    async def on_unmount(self) -> None:
        await self.connection.close()

    def _tick(self) -> None:
        if not self.is_running:
            return  # shutting down: screens are losing their widgets while timers still fire
        if self.screen is not self._header_screen:
            self._header_screen = self.screen
            self._header_at = 0.0  # a screen just shown: its header is empty or stale
        state = self.connection.state
        if state.snapshots != self._frozen_snapshots:
            self._frozen_snapshots = state.snapshots
            # A snapshot's objects live until the next one: keep full collections from
            # walking them (with 10k sessions each pass stalled the console 100-200 ms).
            gc.unfreeze()
            gc.freeze()
        if state.version != self._seen_version:
            self._seen_version = state.version
            changes = state.take_changes()
            self._watch_commands(changes)
            # approvals that came with a snapshot (on connect, after a reset) were pending
            # already: not news, however many events arrived before this tick
            fresh_snapshot = state.snapshots != self._noticed_snapshots
            self._noticed_snapshots = state.snapshots
            self._notices.saw(self.fleet, changes, reviewing=self.current_mode == "review",
                              first=fresh_snapshot)
            screen = self.screen
            if isinstance(screen, ConsoleScreen):
                # a screen still being set up builds itself from the whole state on mount
                if screen.is_mounted:
                    screen.update_state(changes)
                    screen.selection_agents_changed(changes.agents)
            else:  # a modal is on top: keep the changes for the screen under it
                self._hand_down(changes)
            self._update_header(force=True)
        else:
            self._update_header(force=False)
        if (self.role, self.role_known) != self._seen_role:
            self._role_changed()
        self._tell_new_work()

    def _role_changed(self) -> None:
        """Offer what the (new) role may do: footer, hints and header, on the screen shown;
        other screens redo theirs when shown."""
        self._seen_role = (self.role, self.role_known)
        for stacked in self.screen_stack:  # a modal may be open over the screen shown
            stacked.refresh_bindings()
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.is_mounted:
            screen.update_state(None)
        self._update_header(force=True)

    def _hand_down(self, changes: Changes) -> None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ConsoleScreen):
                if screen.is_mounted:
                    screen.update_state(changes)
                return

    def _watch_commands(self, changes: Changes) -> None:
        now = self.clock()
        for command_id in changes.commands:
            command = self.fleet.commands.get(command_id)
            if command is None or command.status not in ("failed", "expired"):
                continue
            if self._failed.get(command.session_id, (None, 0.0))[0] == command:
                continue
            self._failed[command.session_id] = (command, now)
            reason = command.detail or command.status
            target = names.session_name(self.fleet, command.session_id)
            self.notify(f"{command.action} of {target}: {reason}",
                        title=f"Command {command.status}", severity="error", timeout=8)

    def _tell_new_work(self) -> None:
        for notice in self._notices.due(acting=self.may_decide):
            self.notify(notice.message, title=notice.title, severity=notice.severity,
                        timeout=NOTICE_SECONDS)

    def last_command(self, session_id: str) -> Command | None:
        """The pending command of a session, or one that failed or expired a moment ago."""
        pending = self.fleet.pending_command_by_session.get(session_id)
        if pending is not None:
            return self.fleet.commands.get(pending)
        failed = self._failed.get(session_id)
        if failed is not None and self.clock() - failed[1] < FAILED_SHOWN_SECONDS:
            return failed[0]
        return None

    def _update_header(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._header_at < 1.0:
            return
        self._header_at = now
        status = self.connection.status
        fleet = self.fleet
        counts: dict[str, int] = {}
        for agent in fleet.agents.values():
            counts[agent.status] = counts.get(agent.status, 0) + 1
        snapshots = self.connection.state.snapshots
        # a walk over every session: once a second at most, and at once for a new snapshot
        if now - self._spend_at >= 1.0 or snapshots != self._spend_snapshots:
            self._spend_at = now
            self._spend_snapshots = snapshots
            midnight = time.mktime(time.localtime(self.clock())[:3] + (0, 0, 0, 0, 0, -1))
            today = [s for s in fleet.sessions.values() if s.last_activity >= midnight]
            self._spend = sum(s.cost_usd for s in today)
            self._spend_partial = not all(s.priced for s in today)
        open_alerts = sum(1 for a in fleet.alerts.values() if a.status == "open")
        mode = self.current_mode or "fleet"
        for header in self.screen.query(StatusLine):
            header.show(
                state=status.state, retry_in=status.retry_in, backend=status.url,
                profile=self.connection.profile_name, counts=counts,
                spend_today=self._spend, spend_partial=self._spend_partial,
                open_alerts=open_alerts, read_only=self.read_only,
                screen=mode, role_badge=roles.badge(self.role), detail=status.detail,
            )
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.is_mounted:
            screen.connection_changed(status)

    # ---- navigation ------------------------------------------------------------------------

    def action_screen(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        screen = self.screen
        sections = help_sections(screen.active_bindings.values(), self.get_key_display,
                                 place_of(screen), section_title,
                                 {s.binding_id: s.label for s in SCREENS})
        note = screen.unavailable_note() if isinstance(screen, ConsoleScreen) else None
        self.push_screen(HelpScreen(sections, self.read_only, note))

    def set_theme(self, name: str) -> None:
        """Switch theme from the palette, and remember it for next time."""
        self.theme = name
        if self._on_theme_change is not None:
            self._on_theme_change(name)

    # what the screens ask for (they post these; they do not know the app)

    def on_show_screen(self, request: ShowScreen) -> None:
        self.action_screen(request.name)

    def on_show_session(self, request: ShowSession) -> None:
        if request.where == "tree":
            self._close_modals()
            self.switch_mode("tree")
            tree = self.screen
            if isinstance(tree, TreeScreen):
                tree.select_session(request.session_id)
            return
        self.switch_mode("fleet")
        screen = self.screen
        if isinstance(screen, FleetScreen):
            screen.select_session(request.session_id)

    def on_show_agent(self, request: ShowAgent) -> None:
        self.switch_mode("fleet")
        screen = self.screen
        if isinstance(screen, FleetScreen):
            screen.select_agent(request.agent_id)

    def task_for(self, session_id: str | None) -> str | None:
        """The task a session works on (a subagent's is its parent's); says so when none."""
        task_id = task_of_session(self.fleet, session_id or "")
        if task_id is None:
            self.notify("This session has no task", severity="warning")
        return task_id

    def on_show_task(self, request: ShowTask) -> None:
        """The task's card on the board; a task no longer on it opens its sessions instead."""
        task_id = request.task_id
        if task_id not in self.fleet.tasks:
            self.push_screen(TaskDetails(task_id))
            return
        self._close_modals()
        self.switch_mode("tasks")
        screen = self.screen
        if isinstance(screen, TasksScreen):
            screen.select_task(task_id)

    def _close_modals(self) -> None:
        while isinstance(self.screen, ModalScreen) and len(self.screen_stack) > 1:
            self.pop_screen()


def section_title(scope: str) -> str:
    """`?`'s heading for the keys of a scope: a screen's, or the registry's title."""
    screen = screen_named(scope)
    return f"{screen.label} screen" if screen else SCOPE_TITLES.get(scope, "Here")


def create_app(
    connection: Connection,
    *,
    read_only: bool = False,
    theme: str | None = None,
    keymap: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    themes_dir: Path | None = None,
    on_theme_change: Callable[[str], None] | None = None,
) -> AgentOpsApp:
    """Build the console around a connection (not yet started; the app runs it)."""
    return AgentOpsApp(connection, read_only=read_only, theme=theme, keymap=keymap,
                       clock=clock, themes_dir=themes_dir, on_theme_change=on_theme_change)



def _as_console(app: AgentOpsApp) -> Console:
    """Never called: mypy checks here that the app gives the screens all `Console` promises."""
    return app
