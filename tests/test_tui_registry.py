"""The registry declares each screen and shared action once; bindings, the palette and the
keymap checks are generated from it."""

from __future__ import annotations

import pytest

from agentops_tui.tui.actions import (
    ACTIONS,
    AGENT_CAPABILITY_OF,
    CAPABILITY_OF,
    DANGEROUS_ACTIONS,
    Action,
    actions,
)
from agentops_tui.tui.app import AgentOpsApp
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.registry import SCREENS, screen_named
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.settings_checks import SettingRefused, check_keymap


def test_ids_keys_and_names_are_declared_once() -> None:
    assert len({a.id for a in ACTIONS}) == len(ACTIONS)
    assert len({s.key for s in SCREENS}) == len(SCREENS)
    assert len({s.name for s in SCREENS}) == len(SCREENS)
    assert [s.key for s in SCREENS] == [str(n) for n in range(1, len(SCREENS) + 1)]


def test_every_screen_is_a_mode_with_its_number_key() -> None:
    assert AgentOpsApp.MODES == {s.name: s.screen for s in SCREENS}
    by_id = {b.id: b for b in AgentOpsApp.BINDINGS if not isinstance(b, tuple)}
    for entry in SCREENS:
        binding = by_id[entry.binding_id]
        assert (binding.key, binding.action, binding.description) == (
            entry.key, f"screen('{entry.name}')", entry.label)
        assert screen_named(entry.name) is entry
    assert screen_named("nowhere") is None


def test_shared_actions_are_bound_where_they_apply() -> None:
    app_ids = {b.id for b in AgentOpsApp.BINDINGS if not isinstance(b, tuple)}
    assert {a.id for a in actions("app")} <= app_ids
    session_ids = {b.id for _, b in Interventions._merged_bindings or ()}
    assert {a.id for a in actions("sessions") if a.bound} <= session_ids
    # what the read-only console hides and what agents must be able to do come from it too
    assert DANGEROUS_ACTIONS == {"mark", "pause", "resume", "inject", "redirect", "kill",
                                 "kill_all", "spawn"}
    assert CAPABILITY_OF["reply"] == "inject"
    assert list(CAPABILITY_OF) == ["pause", "resume", "inject", "reply", "redirect", "kill"]
    # spawn asks it of the selected agent, on the screen that selects one
    assert AGENT_CAPABILITY_OF == {"spawn": "spawn"}
    fleet_ids = {b.id for _, b in FleetScreen._merged_bindings or ()}
    assert {a.id for a in actions("agents")} <= fleet_ids


def test_palette_names_of_the_actions() -> None:
    named = {a.palette_name for a in ACTIONS if a.palette}
    assert {"app: quit", "app: help", "session: pause", "session: kill all", "agent: spawn",
            "view: filter", "view: sort"} <= named


@pytest.mark.parametrize("action", [a for a in ACTIONS if a.bound and a.key],
                         ids=lambda a: a.id)
def test_every_bound_action_can_be_remapped_by_its_id(action: Action) -> None:
    check_keymap({action.id: "f9"})


def test_an_unknown_action_id_is_refused() -> None:
    with pytest.raises(SettingRefused, match="no action 'session-explode'"):
        check_keymap({"session-explode": "x"})
    with pytest.raises(SettingRefused, match="already bound"):
        check_keymap({"session-pause": "k"})
