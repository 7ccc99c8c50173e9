"""Every key of the console, declared once: the app's, the session interventions', each
screen's, each dialog's and each list's.

Each `Action` says its binding id (what `keymap.<id>` in the config remaps), key, label, its
scope (`app`, `sessions`, or the screen, dialog or list it belongs to: `?` lists it under that
heading and the palette names it after it), the places it is bound, what the `:` palette says
of it, whether it changes agents (then it is hidden on a read-only console, until the token's
role is known and from a role that may not) and the capability it needs from a session's
agent. Every console class takes its `BINDINGS` from `bindings_of(<its place>)` (a test holds
them to it); the footer's order, the palette, `?` and the checks on keys read this list.

Kept apart from `registry` (the screens) so the screens can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

# the screens whose rows stand for sessions: the intervention keys are bound there
SESSION_SCREENS = ("fleet", "tree", "tasks", "review", "alerts")


@dataclass(frozen=True)
class Action:
    id: str  # the binding id, also the name under which the config remaps its key
    action: str  # the node's `action_<action>` (or `app.<action>`)
    key: str  # one key, or several separated by commas
    description: str  # the footer's and `?`'s label
    scope: str  # "app", "sessions", or the screen, dialog or list it belongs to
    palette: str = ""  # what the palette says of it; "" keeps it out of the palette
    args: tuple[object, ...] = ()  # what the action is called with
    dangerous: bool = False  # changes agents: not on a read-only console, nor for a viewer
    capability: str | None = None  # what the session's agent must be able to do
    on: tuple[str, ...] = ()  # where it is bound; () for its scope (sessions: SESSION_SCREENS)
    show: bool = True  # in the footer
    quiet_on: tuple[str, ...] = ()  # places whose footer leaves it out (`?` still lists it)
    leads: bool = False  # in the footer right after Help and Quit (before the session keys)

    @property
    def places(self) -> tuple[str, ...]:
        if self.on:
            return self.on
        return SESSION_SCREENS if self.scope == "sessions" else (self.scope,)

    @property
    def call(self) -> str:
        """The action as a binding names it, arguments included: `sort(1)`."""
        return f"{self.action}({', '.join(map(repr, self.args))})" if self.args else self.action

    @property
    def palette_name(self) -> str:
        prefix = "session" if self.scope == "sessions" else self.scope
        return f"{prefix}: {self.description.lower()}"

    def binding(self, place: str) -> Binding:
        return Binding(self.key, self.call, self.description, id=self.id,
                       show=self.show and place not in self.quiet_on)


SELECTED = "the selected or marked sessions"
NOT_TASKS = ("fleet", "tree", "review", "alerts")  # a card has no marks
NOT_REVIEW = ("fleet", "tree", "tasks", "alerts")  # Review's `i` replies to its item
BOARD = ("tasks",)  # its board's keys fill its footer: `?` lists the session keys there

ACTIONS: tuple[Action, ...] = (
    Action("app-help", "help", "question_mark", "Help", "app", palette="show every key (?)",
           leads=True),
    Action("app-quit", "quit", "q", "Quit", "app", palette="leave the console (q)",
           leads=True),
    # ---- what the selected sessions are asked to do
    Action("session-mark", "mark", "space", "Mark", "sessions", dangerous=True, on=NOT_TASKS),
    Action("session-pause", "pause", "p", "Pause", "sessions", palette=f"pause {SELECTED}",
           dangerous=True, capability="pause", quiet_on=BOARD),
    Action("session-resume", "resume", "r", "Resume", "sessions",
           palette=f"resume {SELECTED}", dangerous=True, capability="resume", quiet_on=BOARD),
    Action("session-inject", "inject", "i", "Inject", "sessions",
           palette=f"send a message to {SELECTED}", dangerous=True, capability="inject",
           on=NOT_REVIEW, quiet_on=BOARD),
    Action("session-redirect", "redirect", "R", "Redirect", "sessions",
           palette=f"stop the current step of {SELECTED} and give them a new instruction (R)",
           dangerous=True, capability="redirect", quiet_on=BOARD),
    Action("session-kill", "kill", "k", "Kill", "sessions",
           palette=f"kill {SELECTED} (asks first)", dangerous=True, capability="kill",
           quiet_on=BOARD),
    Action("session-kill-all", "kill_all", "ctrl+k", "Kill all", "sessions",
           palette="kill every active session (type KILL ALL)", dangerous=True,
           quiet_on=BOARD),
    # ---- 1 Fleet
    Action("fleet-filter", "filter", "slash", "Filter", "fleet", palette="filter the roster (/)"),
    Action("fleet-sort", "sort", "s", "Sort", "fleet", args=(1,),
           palette="sort the roster by the next column (s)"),
    Action("fleet-sort-reverse", "sort", "S", "Reverse", "fleet", args=(-1,), show=False,
           palette="reverse the roster's order (S)"),
    Action("fleet-task", "task", "t", "Task", "fleet", show=False,
           palette="show the selected session's task (t)"),
    Action("fleet-next-pane", "app.focus_next", "tab", "Next pane", "fleet", show=False),
    Action("fleet-clear-filter", "clear_filter", "escape", "Clear filter", "fleet", show=False),
    # ---- 2 Tree
    Action("tree-collapse", "collapse", "left,minus", "Fold", "tree", leads=True),
    Action("tree-expand", "expand", "right,plus", "Unfold", "tree", leads=True),
    Action("tree-parent", "parent", "P,backspace", "Parent", "tree",
           palette="go to the selected session's parent (P)"),
    Action("tree-task", "task", "t", "Task", "tree",
           palette="show the selected session's task (t)"),
    Action("tree-active", "toggle_active", "a", "Active only", "tree",
           palette="show only the trees still at work, or all (a)"),
    Action("tree-log", "show_in_fleet", "l", "Log", "tree",
           palette="show the selected session's log on the Fleet screen (l)"),
    # ---- 3 Tasks
    Action("tasks-filter", "filter", "slash", "Filter", "tasks", palette="filter the board (/)"),
    Action("tasks-clear-filter", "clear_filter", "escape", "Clear filter", "tasks", show=False),
    # ---- 4 Costs
    Action("costs-window", "window", "w", "Window", "costs",
           palette="show the next time window (w)"),
    Action("costs-trend", "trend", "t", "Trend", "costs",
           palette="show the trend per UTC day, week or month (t)"),
    Action("costs-reload", "reload", "R", "Reload", "costs", palette="load the figures again (R)"),
    # ---- 5 Review: its decisions change agents' work like the session keys do
    Action("review-approve", "approve", "a", "Approve/ack", "review", dangerous=True,
           leads=True, palette="approve the approval shown, or acknowledge the alert (a)"),
    Action("review-reject", "reject", "x", "Reject", "review", dangerous=True, leads=True,
           palette="reject the approval shown, with a reason if you like (x)"),
    Action("review-reply", "reply", "i", "Reply", "review", dangerous=True, capability="inject",
           leads=True, palette="answer the session of the item shown (i)"),
    Action("review-skip", "skip", "s", "Skip", "review", leads=True,
           palette="leave this item for later (s)"),
    Action("review-undo", "undo", "u", "Undo", "review", dangerous=True, leads=True,
           palette="take back the last decision before it is sent (u)"),
    # ---- 6 Alerts
    Action("alert-ack", "ack", "a", "Ack", "alerts", dangerous=True, leads=True,
           palette="acknowledge the selected alert (a)"),
    Action("alert-history", "toggle_resolved", "h", "Resolved", "alerts", leads=True,
           palette="show or hide the resolved alerts (h)"),
    # ---- 7 Audit
    Action("audit-filter", "filter", "slash", "Filter", "audit",
           palette="filter the audit log (/)"),
    Action("audit-export", "export", "e", "Export", "audit",
           palette="write what is shown to a file (e)"),
    Action("audit-reload", "reload", "R", "Reload", "audit", palette="load the log again (R)"),
    Action("audit-clear-filter", "clear_filter", "escape", "Clear filter", "audit", show=False),
    # ---- dialogs
    Action("details-close", "close", "escape,q,enter", "Close", "session-details"),
    Action("details-parent", "parent", "P", "Parent", "session-details"),
    Action("details-task", "task", "t", "Task", "session-details"),
    Action("task-details-close", "close", "escape,q", "Close", "task-details"),
    Action("task-session-log", "log", "l", "Log", "task-details"),
    Action("dialog-cancel", "dismiss_none", "escape", "Cancel", "dialog"),
    Action("confirm-yes", "answer", "y,enter", "Yes", "confirm", args=(True,)),
    Action("confirm-no", "answer", "n,escape", "No", "confirm", args=(False,)),
    Action("help-close", "dismiss_none", "escape,q,question_mark", "Close", "help"),
    # ---- lists, the board and the log (the focused one's keys come first)
    Action("table-up", "cursor", "up,k_up", "Up", "table", args=(-1,), show=False),
    Action("table-down", "cursor", "down", "Down", "table", args=(1,), show=False),
    Action("table-page-up", "page", "pageup", "Page up", "table", args=(-1,), show=False),
    Action("table-page-down", "page", "pagedown", "Page down", "table", args=(1,), show=False),
    Action("table-top", "jump", "home", "Top", "table", args=(0,), show=False),
    Action("table-bottom", "jump", "end", "Bottom", "table", args=(-1,), show=False),
    Action("table-open", "select", "enter", "Open", "table", show=False),
    Action("board-left", "column", "left", "Column left", "board", args=(-1,), show=False),
    Action("board-right", "column", "right", "Column right", "board", args=(1,), show=False),
    Action("board-up", "card", "up", "Up", "board", args=(-1,), show=False),
    Action("board-down", "card", "down", "Down", "board", args=(1,), show=False),
    Action("board-page-up", "page", "pageup", "Page up", "board", args=(-1,), show=False),
    Action("board-page-down", "page", "pagedown", "Page down", "board", args=(1,), show=False),
    Action("board-first", "jump", "home", "First", "board", args=(0,), show=False),
    Action("board-last", "jump", "end", "Last", "board", args=(-1,), show=False),
    Action("board-open", "select", "enter", "Open", "board"),
    Action("log-up", "scroll_up", "up", "Up", "log", show=False),
    Action("log-down", "scroll_down", "down", "Down", "log", show=False),
    Action("log-page-up", "page_up", "pageup", "Page up", "log", show=False),
    Action("log-page-down", "page_down", "pagedown", "Page down", "log", show=False),
    Action("log-top", "scroll_home", "home", "Top", "log", show=False),
    Action("log-follow", "follow", "end,f", "Follow", "log"),
)

# `?`'s heading for the keys of a scope that is not a screen (screens are titled by the app)
SCOPE_TITLES = {
    "app": "Everywhere", "sessions": "Sessions", "table": "In the list",
    "board": "On the board", "log": "In the log", "session-details": "Session details",
    "task-details": "Task details", "dialog": "Dialog", "confirm": "Dialog", "help": "Help",
}


def actions(scope: str) -> list[Action]:
    """The actions of a scope, in their declared order."""
    return [a for a in ACTIONS if a.scope == scope]


def actions_on(place: str) -> list[Action]:
    """The actions bound at a place (the app, a screen, a dialog, a list), in declared order."""
    return [a for a in ACTIONS if place in a.places]


def action_named(name: str, place: str = "app") -> Action | None:
    """The action of that name bound at `place`."""
    return _BY_PLACE_AND_NAME.get((place, name))


def bindings_of(place: str) -> list[Binding]:
    """The bindings of a place, in declared order: its class's `BINDINGS`."""
    return [a.binding(place) for a in actions_on(place)]


def leading_ids(place: str) -> tuple[str, ...]:
    """Binding ids the footer shows first at `place`: Help and Quit, then the place's own."""
    return tuple(a.id for a in ACTIONS if a.leads and (a.scope == "app" or place in a.places))


ACTION_BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}
# action → what a session's agent must be able to do for it, wherever it is asked (Review's
# reply is an inject, sent by the same code as the session key's)
CAPABILITY_OF: dict[str, str] = {a.action: a.capability for a in ACTIONS if a.capability}
PLACES: frozenset[str] = frozenset(place for a in ACTIONS for place in a.places)

# (place, action name) → its first declaration there (`sort` and `sort(-1)` are one action)
_BY_PLACE_AND_NAME: dict[tuple[str, str], Action] = {
    (place, a.action): a for a in reversed(ACTIONS) for place in a.places}
