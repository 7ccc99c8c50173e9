"""Intervention keys shared by the screens that show sessions: pause, resume, inject,
redirect, kill.

They act on the marked sessions, or on the highlighted one when nothing is marked (a screen
whose rows are not sessions says which sessions a row stands for: `candidates`). Each action
goes to the backend through the client; the row then shows the pending command until the
agent acknowledges it. In read-only mode these bindings are hidden and refuse to run.

The keys, which of them change agents and the capability each needs come from the key
registry (`tui.actions`). An action the selected sessions' agents cannot obey (their
`capabilities`) is not offered either: its binding is hidden from the footer, `?` and the
palette, and pressing its key says why instead of doing nothing. Of marked sessions, those
that can take the action get it and the notice says how many were skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events, on

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core import capabilities, roles
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Agent
from agentops_tui.tui.actions import CAPABILITY_OF, actions_on
from agentops_tui.tui.base import ConsoleScreen
from agentops_tui.tui.screens.modals import ConfirmScreen, InjectScreen, KillAllScreen
from agentops_tui.tui.widgets.kanban import Kanban
from agentops_tui.tui.widgets.virtual_table import VirtualTable

READ_ONLY_REFUSAL = "read-only console: actions that change agents are off"


@dataclass
class Targets:
    """The sessions an action goes to, and how many of the chosen ones it skips and why."""

    ids: list[str]
    skipped: int = 0
    reason: str = ""

    def note(self) -> str:
        return f" ({self.skipped} skipped: {self.reason})" if self.skipped else ""


class Interventions(ConsoleScreen):
    """A screen whose rows are sessions the operator can act on."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()
        self._offered: tuple[bool, ...] = ()  # per action of this screen, as last painted

    def target_sessions(self) -> list[str]:
        """The highlighted session, as a list; each screen says which row that is."""
        return []

    def candidates(self, action: str) -> list[str]:
        """The sessions `action` would go to before their agents are asked (no notice)."""
        return sorted(self.marked) if self.marked else self.target_sessions()

    def say_no_targets(self, action: str) -> None:
        self.notify("Select a session first", severity="warning")

    def capability(self, action: str) -> str | None:
        """What a session's agent must be able to do for `action`, if anything."""
        return CAPABILITY_OF.get(action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only, the role not known yet, or a role that may not
        if self.capability(action) and (self.refused_by(action) is not None
                                        or self.ended_refusal(action) is not None):
            return False  # hidden: the footer, `?` and the palette offer only what can work
        return True

    def ended_refusal(self, action: str) -> str | None:
        """Why `action` cannot reach the selection because every chosen session has ended
        (the server would refuse it; a dialog would lose what was typed), or None."""
        if not self.capability(action):
            return None
        chosen = self.candidates(action)
        fleet = self.console.fleet
        sessions = [s for sid in chosen if (s := fleet.sessions.get(sid)) is not None]
        if not sessions or len(sessions) < len(chosen):
            return None
        if any(s.status in ACTIVE_SESSION_STATUSES for s in sessions):
            return None
        if len(sessions) == 1:
            return f"session {sessions[0].title or sessions[0].id!r} has {sessions[0].status}: " \
                   f"nothing to {action}"
        return f"all {len(sessions)} chosen sessions have ended: nothing to {action}"

    # ---- capabilities ----------------------------------------------------------------------

    def refused_by(self, action: str) -> Agent | None:
        """The agent that keeps `action` from every candidate session, or None when at
        least one can take it (or there is nothing selected: that is said on its own)."""
        needed = self.capability(action)
        fleet = self.console.fleet
        refuser: Agent | None = None
        for sid in self.candidates(action) if needed else ():
            session = fleet.sessions.get(sid)
            agent = fleet.agents.get(session.agent_id) if session is not None else None
            if capabilities.can(agent, needed or action):
                return None
            refuser = refuser or agent
        return refuser

    def refusal(self, action: str) -> str | None:
        """Why `action` is not offered for the selection, in the API's words."""
        agent = self.refused_by(action)
        if agent is None:
            return None
        return capabilities.refusal(agent, self.capability(action) or action)

    def unavailable_note(self) -> str | None:
        """For `?`: what the token's role keeps it from, and the actions the selection's
        agents cannot take, and why."""
        if self.console.read_only:
            return None
        role = self.console.role
        if not roles.acts(role):
            return f"Not offered: {roles.refusal(role, 'pause')}"
        here = actions_on(self.PLACE)
        kept = dict.fromkeys(a.action for a in here
                             if a.dangerous and not roles.allows(role, a.action))
        role_lines = [f"Not offered: {roles.refusal(role, a)}" for a in kept]
        by_agent: dict[str, tuple[Agent, list[str]]] = {}
        for spec in here:
            agent = self.refused_by(spec.action)
            if spec.capability is None or agent is None:
                continue
            kept_from = by_agent.setdefault(agent.id, (agent, []))[1]
            if spec.capability not in kept_from:
                kept_from.append(spec.capability)
        lines = [f"Not offered here: {', '.join(actions)} — agent {agent.name}: "
                 f"{capabilities.limitation(agent)}" for agent, actions in by_agent.values()]
        return "\n".join(role_lines + lines) or None

    def on_key(self, event: events.Key) -> None:
        """A key whose action this selection cannot take says why, instead of nothing."""
        for node, bindings in self._binding_chain:
            found = bindings.key_to_bindings.get(event.key, ())
            if node is not self:
                if found:
                    return  # a widget in focus (or the app) has this key for itself
                continue
            for binding in found:
                action = binding.action.split("(")[0]
                reason = self.why_not(action)
                if reason is not None:
                    self.notify(reason, title=f"{binding.description} not available",
                                severity="warning")
                    break
            return

    def why_not(self, action: str) -> str | None:
        """Why the key for `action` does nothing here, or None when it works."""
        if self.console.read_only:
            return READ_ONLY_REFUSAL if self.dangerous(action) else None
        if self.dangerous(action) and not self.console.role_known:
            status = self.console.connection.status
            return f"not connected yet — {status.detail}" if status.detail \
                else "not connected yet: actions come once the server says what this token may do"
        return (roles.refusal(self.console.role, action) or self.refusal(action)
                or self.ended_refusal(action))

    @on(VirtualTable.Highlighted)
    @on(Kanban.Highlighted)
    def _selection_moved(self) -> None:
        self.offer_changed()

    def offer_changed(self) -> None:
        """Repaint the footer when what the selection can take changed (the highlighted
        row's agent, marks, an agent registering anew) — only then: holding an arrow key
        down over a long list must not rebuild the footer for every row."""
        offered = tuple(self.refused_by(a.action) is None and self.ended_refusal(a.action) is None
                        for a in actions_on(self.PLACE) if a.capability)
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    def selection_agents_changed(self, changed_agents: set[str]) -> None:
        """Called on the repaint tick with the agents whose state changed."""
        if changed_agents:
            self.offer_changed()

    def sessions_for(self, action: str) -> Targets:
        """The sessions `action` goes to: those of the selection whose agent can take it.
        When there are none, says why and returns no ids."""
        chosen = self.candidates(action)
        if not chosen:
            self.say_no_targets(action)
            return Targets([])
        ended = self.ended_refusal(action)
        if ended is not None:
            self.notify(ended, severity="warning")
            return Targets([])
        needed = self.capability(action) or action
        fleet = self.console.fleet
        able = [sid for sid in chosen if capabilities.session_can(fleet, sid, needed)]
        if not able:
            self.notify(self.refusal(action) or f"cannot {action}", severity="warning")
            return Targets([])
        if self.capability(action):  # of marked sessions, those still running
            live = [sid for sid in able if (s := fleet.sessions.get(sid)) is None
                    or s.status in ACTIVE_SESSION_STATUSES]
            able, gone = live, len(able) - len(live)
        else:
            gone = 0
        skipped = len(chosen) - len(able)
        reason = ""
        if skipped > gone:
            refuser = next(a for sid in chosen if sid not in able
                           if (a := fleet.agents.get(fleet.sessions[sid].agent_id))
                           and not capabilities.can(a, needed))
            reason = capabilities.refusal(refuser, needed)
        elif skipped:
            reason = "session ended" if gone == 1 else "sessions ended"
        return Targets(able, skipped, reason)

    def describe(self, targets: list[str]) -> str:
        """The targets as a confirmation or a dialog title names them."""
        if len(targets) == 1:
            session = self.console.fleet.sessions.get(targets[0])
            title = session.title if session and session.title else targets[0]
            return f"session {title!r}"
        return f"{len(targets)} sessions"

    def action_mark(self) -> None:
        for sid in self.target_sessions()[:1]:
            self.marked.symmetric_difference_update({sid})
        self.refresh_rows()
        self.offer_changed()

    def refresh_rows(self) -> None:
        """Repaint rows (marks changed)."""

    # ---- actions ---------------------------------------------------------------------------

    def action_pause(self) -> None:
        self._send("pause", self.sessions_for("pause"))

    def action_resume(self) -> None:
        self._send("resume", self.sessions_for("resume"))

    def action_inject(self) -> None:
        self._ask_then_send("inject", InjectScreen)

    def action_redirect(self) -> None:
        self._ask_then_send("redirect", lambda what: InjectScreen(
            what, title=f"Redirect {what}: stop the current step and do this instead",
            placeholder="e.g. drop the refactor; fix the failing login test first"))

    def _ask_then_send(self, action: str, dialog: Any) -> None:
        targets = self.sessions_for(action)
        if not targets.ids:
            return

        def done(message: object) -> None:
            if isinstance(message, str):
                self._send(action, targets, message)

        self.app.push_screen(dialog(self.describe(targets.ids) + targets.note()), done)

    def action_kill(self) -> None:
        targets = self.sessions_for("kill")
        if not targets.ids:
            return

        def done(yes: object) -> None:
            if yes is True:
                self._send("kill", targets)

        self.app.push_screen(
            ConfirmScreen(f"Kill {self.describe(targets.ids)}?",
                          "The agent stops this work at its next checkpoint. This cannot be "
                          "undone." + targets.note()),
            done,
        )

    def action_kill_all(self) -> None:
        def done(yes: object) -> None:
            if yes is True:
                self.run_worker(self._kill_all(), group="actions")

        self.app.push_screen(KillAllScreen(), done)

    def _send(self, action: str, targets: Targets, message: str | None = None) -> None:
        if not targets.ids:
            return
        if self.console.read_only:
            self.notify("Read-only console: actions are off", severity="warning")
            return
        refused = roles.refusal(self.console.role, action)
        if refused is not None:  # the role changed while a dialog was open
            self.notify(refused, severity="warning")
            return
        self.run_worker(self._act(action, targets, message), group="actions")

    async def _act(self, action: str, targets: Targets, message: str | None) -> None:
        api = self.console.connection.api
        failures: list[str] = []
        for sid in targets.ids:
            try:
                if action == "inject":
                    await api.inject(sid, message or "")
                elif action == "redirect":
                    await api.redirect(sid, message or "")
                elif action == "pause":
                    await api.pause(sid)
                elif action == "resume":
                    await api.resume(sid)
                elif action == "kill":
                    await api.kill(sid)
                else:
                    raise ValueError(f"not a session command: {action}")
            except (ApiError, BackendUnreachable) as exc:
                failures.append(str(exc))
        done = len(targets.ids) - len(failures)
        if done:
            what = "message sent to" if action == "inject" else f"{action} sent to"
            # brief: the row's ⏳ says how long the agent takes; a notice would go stale
            self.notify(f"{what} {done} session{'s' if done != 1 else ''} — ⏳ on the row "
                        f"until the agent acts{targets.note()}", timeout=3)
        elif targets.skipped:
            self.notify(f"{targets.skipped} skipped: {targets.reason}", severity="warning")
        for failure in failures[:3]:
            self.notify(failure, title=f"{action} refused", severity="error")
        self.marked.clear()
        self.refresh_rows()
        self.offer_changed()

    async def _kill_all(self) -> None:
        try:
            result = await self.console.connection.api.killswitch()
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Kill all refused", severity="error")
            return
        skipped = result.skipped
        note = ""
        if skipped:
            others = len({s.agent_id for s in skipped}) - 1
            note = (f"; {len(skipped)} skipped: {skipped[0].reason}"
                    + (f" (and {others} other agents that cannot be killed)" if others else ""))
        self.notify(f"Kill sent to {len(result.commands)} sessions{note}", severity="warning")
