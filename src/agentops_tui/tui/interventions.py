"""Intervention keys shared by the screens that show sessions: pause, resume, inject, kill.

They act on the marked sessions, or on the highlighted one when nothing is marked (a screen
whose rows are not sessions says which sessions a row stands for: `sessions_for`). Each
action goes to the backend through the client; the row then shows the pending command until
the agent acknowledges it. In read-only mode these bindings are hidden and refuse to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.tui.screens.modals import ConfirmScreen, InjectScreen, KillAllScreen

if TYPE_CHECKING:
    from agentops_tui.tui.app import AgentOpsApp

DANGEROUS_ACTIONS = frozenset({"pause", "resume", "inject", "kill", "kill_all", "mark"})

ACTION_BINDINGS: list[Binding] = [
    Binding("p", "pause", "Pause", id="session-pause"),
    Binding("r", "resume", "Resume", id="session-resume"),
    Binding("i", "inject", "Inject", id="session-inject"),
    Binding("k", "kill", "Kill", id="session-kill"),
    Binding("ctrl+k", "kill_all", "Kill all", id="session-kill-all"),
]


class Interventions(Screen[Any]):
    """A screen whose rows are sessions the operator can act on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark", id="session-mark"), *ACTION_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()

    @property
    def agentops(self) -> AgentOpsApp:
        return self.app  # type: ignore[return-value]

    def target_sessions(self) -> list[str]:
        """The highlighted session, as a list; each screen says which row that is."""
        return []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DANGEROUS_ACTIONS and self.agentops.read_only:
            return False
        return True

    def sessions_for(self, action: str) -> list[str]:
        """The sessions `action` goes to; when there are none, says why and returns []."""
        targets = sorted(self.marked) if self.marked else self.target_sessions()
        if not targets:
            self.notify("Select a session first", severity="warning")
        return targets

    def describe(self, targets: list[str]) -> str:
        """The targets as a confirmation or a dialog title names them."""
        if len(targets) == 1:
            session = self.agentops.fleet.sessions.get(targets[0])
            title = session.title if session and session.title else targets[0]
            return f"session {title!r}"
        return f"{len(targets)} sessions"

    def action_mark(self) -> None:
        for sid in self.target_sessions()[:1]:
            self.marked.symmetric_difference_update({sid})
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Repaint rows (marks changed)."""

    def action_pause(self) -> None:
        self._send("pause", self.sessions_for("pause"))

    def action_resume(self) -> None:
        self._send("resume", self.sessions_for("resume"))

    def action_inject(self) -> None:
        targets = self.sessions_for("inject")
        if not targets:
            return

        def done(message: object) -> None:
            if isinstance(message, str):
                self._send("inject", targets, message)

        self.app.push_screen(InjectScreen(self.describe(targets)), done)

    def action_kill(self) -> None:
        targets = self.sessions_for("kill")
        if not targets:
            return

        def done(yes: object) -> None:
            if yes is True:
                self._send("kill", targets)

        self.app.push_screen(
            ConfirmScreen(f"Kill {self.describe(targets)}?",
                          "The agent stops this work at its next checkpoint. This cannot be "
                          "undone."),
            done,
        )

    def action_kill_all(self) -> None:
        def done(yes: object) -> None:
            if yes is True:
                self.run_worker(self._kill_all(), group="actions")

        self.app.push_screen(KillAllScreen(), done)

    def _send(self, action: str, targets: list[str], message: str | None = None) -> None:
        if not targets:
            return
        if self.agentops.read_only:
            self.notify("Read-only console: actions are off", severity="warning")
            return
        self.run_worker(self._act(action, targets, message), group="actions")

    async def _act(self, action: str, targets: list[str], message: str | None) -> None:
        api = self.agentops.connection.api
        failures: list[str] = []
        for sid in targets:
            try:
                if action == "inject":
                    await api.inject(sid, message or "")
                else:
                    await getattr(api, action)(sid)
            except (ApiError, BackendUnreachable) as exc:
                failures.append(str(exc))
        done = len(targets) - len(failures)
        if done:
            what = "message sent to" if action == "inject" else f"{action} sent to"
            self.notify(f"{what} {done} session{'s' if done != 1 else ''}; waiting for the agent")
        for failure in failures[:3]:
            self.notify(failure, title=f"{action} refused", severity="error")
        self.marked.clear()
        self.refresh_rows()

    async def _kill_all(self) -> None:
        try:
            commands = await self.agentops.connection.api.killswitch()
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Kill all refused", severity="error")
            return
        self.notify(f"Kill sent to {len(commands)} sessions", severity="warning")
