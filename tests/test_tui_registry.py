"""The registry declares each screen and every key once; bindings, the footer's order, the
palette, `?` and the keymap checks are generated from it, and no console class binds a key
of its own."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from typing import ClassVar

import pytest
from textual.binding import Binding, BindingType
from textual.dom import DOMNode

import agentops_tui.tui as console
from agentops_tui.core import roles
from agentops_tui.tui.actions import (
    ACTION_BY_ID,
    ACTIONS,
    CAPABILITY_OF,
    PLACES,
    Action,
    action_named,
    actions,
    bindings_of,
    leading_ids,
)
from agentops_tui.tui.app import AgentOpsApp
from agentops_tui.tui.base import ConsoleModal, ConsoleScreen
from agentops_tui.tui.registry import SCREENS, screen_named
from agentops_tui.tui.screens.alerts import AlertsScreen
from agentops_tui.tui.screens.review import ReviewScreen
from agentops_tui.tui.settings_checks import SettingRefused, check_keymap


def _console_classes() -> Iterator[type[DOMNode]]:
    """Every Textual class the console defines (screens, dialogs, widgets, the app)."""
    for module in pkgutil.walk_packages(console.__path__, f"{console.__name__}."):
        importlib.import_module(module.name)
    seen: set[type[DOMNode]] = set()
    todo = list(DOMNode.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo += cls.__subclasses__()
        if cls.__module__.startswith(f"{console.__name__}."):
            yield cls


def _place_of_bindings(own: Iterable[BindingType]) -> str | None:
    """The registry place whose bindings these are exactly, or None."""
    return next((place for place in sorted(PLACES) if list(own) == bindings_of(place)), None)


def bound_outside_the_registry(classes: Iterable[type[DOMNode]]) -> list[str]:
    """Console classes whose keys are not exactly what the registry declares: a screen's or
    dialog's those of its `PLACE`, any other class's those of some place."""
    wrong: list[str] = []
    for cls in classes:
        if cls is AgentOpsApp:
            continue
        if issubclass(cls, ConsoleScreen | ConsoleModal) and cls.PLACE:
            if list(cls.BINDINGS) != bindings_of(cls.PLACE):
                wrong.append(f"{cls.__name__}: keys not declared at {cls.PLACE!r}")
        elif "BINDINGS" in cls.__dict__ and _place_of_bindings(cls.BINDINGS) is None:
            wrong.append(f"{cls.__name__}: keys not declared anywhere")
    return wrong


def test_ids_keys_and_names_are_declared_once() -> None:
    assert len({a.id for a in ACTIONS}) == len(ACTIONS)
    assert len({s.key for s in SCREENS}) == len(SCREENS)
    assert len({s.name for s in SCREENS}) == len(SCREENS)
    assert [s.key for s in SCREENS] == [str(n) for n in range(1, len(SCREENS) + 1)]


def test_every_screen_is_a_mode_with_its_number_key() -> None:
    assert AgentOpsApp.MODES == {s.name: s.screen for s in SCREENS}
    by_id = {b.id: b for b in AgentOpsApp.BINDINGS if isinstance(b, Binding)}
    for entry in SCREENS:
        binding = by_id[entry.binding_id]
        assert (binding.key, binding.action, binding.description) == (
            entry.key, f"screen('{entry.name}')", entry.label)
        assert screen_named(entry.name) is entry
        assert issubclass(entry.screen, ConsoleScreen) and entry.screen.PLACE == entry.name
    assert screen_named("nowhere") is None


def test_no_console_class_binds_a_key_outside_the_registry() -> None:
    classes = list(_console_classes())
    assert bound_outside_the_registry(classes) == []
    # and every place the registry names is some class's (or the app's) keys
    places = {_place_of_bindings(c.__dict__["BINDINGS"]) for c in classes
              if "BINDINGS" in c.__dict__ and c is not AgentOpsApp}
    assert places | {"app"} == PLACES
    app_ids = {b.id for b in AgentOpsApp.BINDINGS if isinstance(b, Binding)}
    assert app_ids == {a.id for a in actions("app")} | {s.binding_id for s in SCREENS}


def test_a_screen_with_a_key_of_its_own_is_caught() -> None:
    class Sneaky(ReviewScreen):
        BINDINGS: ClassVar[list[BindingType]] = [
            *bindings_of("review"), Binding("z", "approve", "Approve all", id="review-all")]

    class Relabelled(AlertsScreen):
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding(b.key, b.action, "Acknowledge", id=b.id) for b in bindings_of("alerts")]

    class Misplaced(AlertsScreen):
        PLACE = "review"

    class Unregistered(DOMNode):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("z", "zap", "Zap")]

    assert bound_outside_the_registry([Sneaky, Relabelled, Misplaced, Unregistered]) == [
        "Sneaky: keys not declared at 'review'",
        "Relabelled: keys not declared at 'alerts'",
        "Misplaced: keys not declared at 'review'",
        "Unregistered: keys not declared anywhere",
    ]


def test_screen_keys_carry_their_gating() -> None:
    tree = {a.description: a for a in actions("tree")}
    assert (tree["Fold"].key, tree["Unfold"].key) == ("left,minus", "right,plus")
    review = {a.action: a for a in actions("review")}
    assert {n for n, a in review.items() if a.dangerous} == {"approve", "reject", "reply", "undo"}
    assert review["reply"].capability == "inject" and not review["skip"].dangerous
    assert CAPABILITY_OF == {"pause": "pause", "resume": "resume", "inject": "inject",
                             "redirect": "redirect", "kill": "kill", "reply": "inject"}
    ack = action_named("ack", "alerts")
    assert ack is not None and ack.dangerous and ack.places == ("alerts",)
    # every key that changes agents is one the token's role is checked for
    assert {a.action for a in ACTIONS if a.dangerous} <= set(roles.NEEDED_ROLE)
    # the board has no marks, and Review's `i` answers its item rather than injecting
    assert action_named("mark", "tasks") is None and action_named("inject", "review") is None
    assert action_named("reply", "review") is ACTION_BY_ID["review-reply"]
    # the footer leads with Help and Quit, then the screen's own main keys
    assert leading_ids("review")[:4] == ("app-help", "app-quit", "review-approve",
                                         "review-reject")
    assert leading_ids("audit") == ("app-help", "app-quit")


def test_palette_names_of_the_actions() -> None:
    named = {a.palette_name for a in ACTIONS if a.palette}
    assert {"app: quit", "app: help", "session: pause", "session: kill all", "fleet: filter",
            "fleet: sort", "review: approve/ack", "review: reject", "alerts: ack"} <= named


@pytest.mark.parametrize("action", [a for a in ACTIONS if a.key], ids=lambda a: a.id)
def test_every_action_can_be_remapped_by_its_id(action: Action) -> None:
    check_keymap({action.id: "f9"})


def test_an_unknown_action_id_is_refused() -> None:
    with pytest.raises(SettingRefused, match="no action 'session-explode'"):
        check_keymap({"session-explode": "x"})
    with pytest.raises(SettingRefused, match="already bound"):
        check_keymap({"session-pause": "k"})
    with pytest.raises(SettingRefused, match="'a' is already bound to 'review-approve'"):
        check_keymap({"review-skip": "a"})
