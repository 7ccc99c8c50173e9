"""Actions on an agent rather than on its sessions: spawn, a new session of the selected
agent with the operator's prompt.

A screen that selects an agent (the Fleet roster) says which (`selected_agent`). The action is
offered like the session interventions: not on a read-only console, not to a token whose role
may not act, and not for an agent whose `capabilities` lack it — its key is then hidden from
the footer, `?` and the palette, and pressing it says why (`?` does not list it among the
actions not offered: most agents start no sessions on request, and saying so for each is
noise). The outcome (the session the agent
started, or why it did not) is told when the agent answers: the app watches the command.
"""

from __future__ import annotations

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core import capabilities
from agentops_tui.models import Agent
from agentops_tui.tui.actions import AGENT_CAPABILITY_OF
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.screens.modals import InjectScreen


class AgentActions(Interventions):
    """A screen of sessions that also selects an agent the operator can act on (its agent
    actions are bound where the registry places them)."""

    def __init__(self) -> None:
        super().__init__()
        self._agent_offered: tuple[bool, ...] = ()

    def selected_agent(self) -> Agent | None:
        """The agent an agent action goes to; each screen says which row that is."""
        return None

    def agent_refusal(self, action: str) -> str | None:
        """Why the selected agent cannot take `action`, in the API's words; None when it can
        (or when nothing is selected: that is said on its own)."""
        needed = AGENT_CAPABILITY_OF.get(action)
        agent = self.selected_agent()
        if needed is None or agent is None or capabilities.can(agent, needed):
            return None
        return capabilities.refusal(agent, needed)

    # ---- what is offered -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action in AGENT_CAPABILITY_OF and self.agent_refusal(action):
            return False
        return allowed

    def why_not(self, action: str) -> str | None:
        return super().why_not(action) or (
            None if self.console.read_only else self.agent_refusal(action))

    def offer_changed(self) -> None:
        offered = tuple(self.agent_refusal(action) is None for action in AGENT_CAPABILITY_OF)
        if offered != self._agent_offered:
            self._agent_offered = offered
            self.refresh_bindings()
        super().offer_changed()

    # ---- spawn -----------------------------------------------------------------------------

    def action_spawn(self) -> None:
        agent = self.selected_agent()
        if agent is None:
            self.notify("Select an agent first", severity="warning")
            return
        reason = self.why_not("spawn")
        if reason is not None:
            self.notify(reason, severity="warning")
            return
        agent_id, name = agent.id, agent.name

        def done(prompt: object) -> None:
            if isinstance(prompt, str) and prompt:
                self.run_worker(self._spawn(agent_id, name, prompt), group="actions")

        self.app.push_screen(InjectScreen(
            name, title=f"Spawn a new session of {name}",
            placeholder="e.g. review the open pull requests and list the risky ones",
            hint="enter: start it    esc: cancel"), done)

    async def _spawn(self, agent_id: str, name: str, prompt: str) -> None:
        refused = self.why_not("spawn")  # the role or the agent changed while typing
        if refused is not None:
            self.notify(refused, title="Spawn not sent", severity="warning")
            return
        try:
            await self.console.connection.api.spawn(agent_id, prompt)
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Spawn refused", severity="error")
            return
        self.notify(f"spawn sent to {name}: the new session shows once the agent starts it",
                    timeout=4)
