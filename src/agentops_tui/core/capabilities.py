"""Which actions an agent obeys, and why it does not obey the others, in the words both the
API's `not_capable` refusal and the console use, so the two never tell different stories.

An agent's `capabilities` come from its registration (see `models.default_capabilities` for
agents that declare none). The reason for a missing action is derived from where the agent
reports from: spans only (OpenTelemetry), Claude Code's hooks, or its own declaration.
"""

from __future__ import annotations

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import OTEL_FRAMEWORKS, Agent, Capability

# The actions an operator takes on one session (spawn and approve are not among them:
# spawn starts a new session, an approval is asked for by the agent itself).
SESSION_ACTIONS: tuple[Capability, ...] = ("pause", "resume", "inject", "redirect", "kill")


def can(agent: Agent | None, action: str) -> bool:
    """Whether the agent obeys `action`; an agent not (yet) known is given the benefit of
    the doubt: the server, which knows it, has the last word."""
    return agent is None or action in agent.capabilities


def session_can(fleet: Fleet, session_id: str, action: str) -> bool:
    session = fleet.sessions.get(session_id)
    return session is None or can(fleet.agents.get(session.agent_id), action)


def watched_only(agent: Agent) -> str | None:
    """Why no action reaches this agent's sessions at all, or None when some do."""
    if agent.framework in OTEL_FRAMEWORKS:
        return "reports only through OpenTelemetry"
    if not any(c in agent.capabilities for c in SESSION_ACTIONS):
        return "registered without any action it obeys"
    return None


def limitation(agent: Agent) -> str:
    """Why the agent lacks an action: the part of a refusal after "cannot pause: "."""
    reason = watched_only(agent)
    if reason is not None:
        return f"it {reason}; its sessions can be watched, not acted on"
    obeys = ", ".join(c for c in agent.capabilities if c in SESSION_ACTIONS)
    if agent.framework == "claude-code":
        return f"its Claude Code hooks obey only {obeys}"
    return f"it registered as obeying only {obeys}"


def refusal(agent: Agent, action: str) -> str:
    """One sentence naming the agent, the action and why: the API's and the console's."""
    return f"agent {agent.name} cannot {action}: {limitation(agent)}"


def actions_text(agent: Agent) -> str:
    """What a details pane says: the actions it obeys, or that there are none and why."""
    reason = watched_only(agent)
    if reason is not None:
        return f"none: can be watched, not acted on — it {reason}"
    return " ".join(agent.capabilities)
