"""The console's shared actions, declared once: the app's keys and the session interventions.

Each `Action` says its binding id (what `keymap.<id>` in the config remaps), key, footer
label, what the `:` palette says of it, whether it changes agents (hidden on a read-only
console and until the token's role is known), the capability it needs from a session's agent
(or, for an agent action, from the selected agent), and where it applies. The app's and the
intervention screens' bindings, the palette's session, agent and app commands, and the checks
on them are generated from this list.

Keys that belong to one screen only (the Tree's fold, the Review's approve) stay with it.
Kept apart from `registry` (the screens) so the screens can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

Scope = Literal["app", "sessions", "agents", "view"]


@dataclass(frozen=True)
class Action:
    id: str  # the binding id, also the name under which the config remaps its key
    action: str  # the app's or screen's `action_<action>`
    key: str  # "" for an action only the palette offers
    description: str  # the footer's and `?`'s label
    # app: everywhere; sessions: screens whose rows are sessions; agents: screens that select
    # an agent (the roster); view: a list
    scope: Scope
    palette: str = ""  # what the palette says of it; "" keeps it out of the palette
    args: tuple[int, ...] = ()  # what the palette calls the action with
    dangerous: bool = False  # changes agents: not on a read-only console
    capability: str | None = None  # what the session's agent must be able to do
    bound: bool = True  # False: declared for its checks, bound by its own screen

    @property
    def palette_name(self) -> str:
        prefix = {"app": "app", "sessions": "session", "agents": "agent",
                  "view": "view"}[self.scope]
        return f"{prefix}: {self.action.replace('_', ' ')}"

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, id=self.id)


SELECTED = "the selected or marked sessions"

ACTIONS: tuple[Action, ...] = (
    Action("app-quit", "quit", "q", "Quit", "app", palette="leave the console (q)"),
    Action("app-help", "help", "question_mark", "Help", "app", palette="show every key (?)"),
    Action("session-mark", "mark", "space", "Mark", "sessions", dangerous=True),
    Action("session-pause", "pause", "p", "Pause", "sessions", palette=f"pause {SELECTED}",
           dangerous=True, capability="pause"),
    Action("session-resume", "resume", "r", "Resume", "sessions",
           palette=f"resume {SELECTED}", dangerous=True, capability="resume"),
    Action("session-inject", "inject", "i", "Inject", "sessions",
           palette=f"send a message to {SELECTED}", dangerous=True, capability="inject"),
    # the Review screen's answer to an agent's question is an inject
    Action("review-reply", "reply", "i", "Reply", "sessions", capability="inject",
           bound=False),
    Action("session-redirect", "redirect", "R", "Redirect", "sessions",
           palette=f"stop the current step of {SELECTED} and give them a new instruction (R)",
           dangerous=True, capability="redirect"),
    Action("session-kill", "kill", "k", "Kill", "sessions",
           palette=f"kill {SELECTED} (asks first)", dangerous=True, capability="kill"),
    Action("session-kill-all", "kill_all", "ctrl+k", "Kill all", "sessions",
           palette="kill every active session (type KILL ALL)", dangerous=True),
    Action("agent-spawn", "spawn", "n", "Spawn", "agents",
           palette="start a new session of the selected agent, with a prompt (n)",
           dangerous=True, capability="spawn"),
    Action("view-filter", "filter", "", "Filter", "view", palette="filter the roster (/)",
           bound=False),
    Action("view-sort", "sort", "", "Sort", "view",
           palette="sort the roster by the next column (s)", args=(1,), bound=False),
)


def actions(scope: Scope) -> list[Action]:
    return [a for a in ACTIONS if a.scope == scope]


def action_named(name: str) -> Action:
    return next(a for a in ACTIONS if a.action == name)


def bindings_of(scope: Scope, *, exclude: tuple[str, ...] = ()) -> list[Binding]:
    """The bindings of `scope`'s actions, in their declared order."""
    return [a.binding() for a in actions(scope) if a.bound and a.key and a.id not in exclude]


DANGEROUS_ACTIONS = frozenset(a.action for a in ACTIONS if a.dangerous)
# screen action → the capability it needs from the session's agent, in declared order
CAPABILITY_OF: dict[str, str] = {a.action: a.capability for a in ACTIONS
                                 if a.capability and a.scope != "agents"}
# agent action → the capability it needs from the selected agent
AGENT_CAPABILITY_OF: dict[str, str] = {a.action: a.capability for a in ACTIONS
                                       if a.capability and a.scope == "agents"}
