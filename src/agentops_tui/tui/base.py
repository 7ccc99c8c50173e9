"""What every console screen stands on: the typed view of the app, and the messages that ask
it to navigate.

Screens never import the app. They see it through `Console`, a Protocol of what they read
(the fleet, the connection, the role) and ask (the last command of a session, a session's
task); to move the operator elsewhere they post a navigation message (`ShowScreen`,
`ShowSession`, `ShowAgent`, `ShowTask`) which the app handles.

Each screen names its `PLACE` in the key registry (`tui.actions`): its bindings are that
place's, and what the registry says of an action (it changes agents, the capability it needs)
decides whether the screen offers it. `ConsoleScreen` also orders the footer: Textual lists
the focused widget's and the screen's keys before the app's and cuts what does not fit on the
right, so on a narrow terminal the two keys everyone needs were the first to go. Putting
`? Help` and `q Quit` first (then the keys the registry says lead on this screen) keeps them
visible at any width; the screens' number keys come last, grouped as one `1234567 Screens`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, Protocol, cast

from textual.binding import ActiveBinding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen, Screen

from agentops_tui.client.connection import Connection
from agentops_tui.client.stream import ConnectionStatus
from agentops_tui.core import roles
from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.models import Command
from agentops_tui.tui.actions import Action, action_named, leading_ids


class Console(Protocol):
    """The app as the screens see it."""

    connection: Connection
    read_only: bool
    clock: Callable[[], float]

    @property
    def fleet(self) -> Fleet: ...

    @property
    def role(self) -> str | None: ...

    @property
    def role_known(self) -> bool: ...

    @property
    def may_decide(self) -> bool: ...

    def last_command(self, session_id: str) -> Command | None: ...

    def task_for(self, session_id: str | None) -> str | None: ...

    def set_theme(self, name: str) -> None: ...


def console_of(node: DOMNode) -> Console:
    """The console app a mounted node belongs to."""
    return cast(Console, node.app)


# ---- navigation, asked of the app ------------------------------------------------------------

class Navigate(Message):
    """Base of the requests to show something elsewhere; the app handles them."""


class ShowScreen(Navigate):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ShowSession(Navigate):
    """Select a session on the Fleet screen, or in the Tree."""

    def __init__(self, session_id: str, where: Literal["fleet", "tree"] = "fleet") -> None:
        super().__init__()
        self.session_id = session_id
        self.where = where


class ShowAgent(Navigate):
    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id


class ShowTask(Navigate):
    """The task's card on the board; one no longer on it opens its sessions instead."""

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id


def navigate(node: DOMNode, request: Navigate) -> None:
    """Ask the app to navigate. Posted to the app itself: the asking screen may be a dialog
    that is closing and would not pass the message on."""
    node.app.post_message(request)


# ---- screens ---------------------------------------------------------------------------------

class ConsoleScreen(Screen[None]):
    PLACE: ClassVar[str] = ""  # its name in the key registry; its BINDINGS are that place's

    @property
    def console(self) -> Console:
        return console_of(self)

    def spec(self, action: str) -> Action | None:
        """What the registry says of an action bound on this screen."""
        return action_named(action, self.PLACE)

    def dangerous(self, action: str) -> bool:
        """An action that changes agents: a read-only console and a viewer do not offer it."""
        spec = self.spec(action)
        return spec is not None and spec.dangerous

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.dangerous(action):
            return True
        console = self.console
        if console.read_only or not console.role_known:
            return False  # not yet known who the token is: offered once the server says
        return roles.allows(console.role, action)  # hidden like the read-only console's

    # What the app hands the screen shown; each screen overrides those it needs.
    def update_state(self, changes: Changes | None) -> None:
        """Repaint what `changes` touched (None: everything, e.g. after the role changed)."""

    def selection_agents_changed(self, changed_agents: set[str]) -> None:
        """The agents of these ids changed (what the selection may be offered can too)."""

    def connection_changed(self, status: ConnectionStatus) -> None:
        """The connection's state, shown in the header, changed or was re-shown."""

    def unavailable_note(self) -> str | None:
        """Why some of this screen's keys are not offered now, for `?`; None if all are."""
        return None

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        bindings = super().active_bindings
        order = leading_ids(self.PLACE)
        first = sorted((key for key, active in bindings.items()
                        if active.binding.id in order),
                       key=lambda key: order.index(bindings[key].binding.id or ""))
        ordered = {key: bindings[key] for key in first}
        ordered.update(bindings)
        return ordered


class ConsoleModal(ModalScreen[None]):
    """A dialog over a console screen that reads the fleet."""

    PLACE: ClassVar[str] = ""  # its name in the key registry; its BINDINGS are that place's

    @property
    def console(self) -> Console:
        return console_of(self)


def place_of(screen: Screen[object]) -> str:
    """A screen's or dialog's name in the key registry ("" for one the registry does not
    name, e.g. Textual's own)."""
    return screen.PLACE if isinstance(screen, ConsoleScreen | ConsoleModal) else ""
