"""The console's screens, declared once: number key, mode name, label, class, in key order.

The app's modes and number-key bindings, the palette's `screen:` commands and the order of
`?`'s Screens section come from here; every other key comes from `actions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.screen import Screen

from agentops_tui.tui.actions import ACTIONS, Action, actions, bindings_of
from agentops_tui.tui.screens.alerts import AlertsScreen
from agentops_tui.tui.screens.audit import AuditScreen
from agentops_tui.tui.screens.costs import CostsScreen
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.screens.review import ReviewScreen
from agentops_tui.tui.screens.tasks import TasksScreen
from agentops_tui.tui.screens.tree import TreeScreen

__all__ = ["ACTIONS", "SCREENS", "Action", "ScreenEntry", "actions", "app_bindings",
           "screen_named"]

# the number keys share one footer entry, `1234567 Screens`: each alone took 80 columns' worth
SCREENS_GROUP = Binding.Group("Screens", compact=True)


@dataclass(frozen=True)
class ScreenEntry:
    key: str  # the number key that shows it
    name: str  # the mode's name, as `ShowScreen` and the palette say it
    label: str  # the footer's, `?`'s and the header's word for it
    screen: type[Screen[None]]

    @property
    def binding_id(self) -> str:
        return f"screen-{self.name}"


SCREENS: tuple[ScreenEntry, ...] = (
    ScreenEntry("1", "fleet", "Fleet", FleetScreen),
    ScreenEntry("2", "tree", "Tree", TreeScreen),
    ScreenEntry("3", "tasks", "Tasks", TasksScreen),
    ScreenEntry("4", "costs", "Costs", CostsScreen),
    ScreenEntry("5", "review", "Review", ReviewScreen),
    ScreenEntry("6", "alerts", "Alerts", AlertsScreen),
    ScreenEntry("7", "audit", "Audit", AuditScreen),
)


def screen_named(name: str | None) -> ScreenEntry | None:
    return next((s for s in SCREENS if s.name == name), None)


def app_bindings() -> list[Binding]:
    """Quit and Help, then a number key per screen."""
    return [*bindings_of("app"),
            *(Binding(s.key, f"screen('{s.name}')", s.label, id=s.binding_id,
                      group=SCREENS_GROUP) for s in SCREENS)]
