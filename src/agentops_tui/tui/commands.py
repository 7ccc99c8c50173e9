"""The `:` command palette: one provider with namespaced commands (`session: pause`,
`review: approve/ack`, …), generated from the registry of screens and actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from agentops_tui.tui.actions import actions, actions_on
from agentops_tui.tui.base import console_of, place_of
from agentops_tui.tui.registry import SCREENS

Command = tuple[str, str, Callable[[], object]]


class AgentOpsCommands(Provider):
    def _commands(self) -> list[Command]:
        app = self.app
        screen = self.screen  # the screen the palette was opened over
        out: list[Command] = []
        for entry in SCREENS:
            out.append((f"screen: {entry.name}", f"switch to the {entry.name} screen "
                        f"({entry.key})", partial(app.switch_mode, entry.name)))
        set_theme = console_of(screen).set_theme
        for theme in sorted(app.available_themes):
            out.append((f"theme: {theme}", "use this theme (saved on exit)",
                        partial(set_theme, theme)))
        # what that screen offers now: not what changes agents on a read-only console or
        # for a viewer, nor what the selected sessions' agents cannot obey
        for action in actions_on(place_of(screen)):
            if action.palette and screen.check_action(action.action, action.args) is not False:
                out.append((action.palette_name, action.palette,
                            partial(screen.run_action, action.call)))
        for action in actions("app"):
            out.append((action.palette_name, action.palette, partial(app.run_action, action.call)))
        return out

    async def discover(self) -> Hits:
        for name, text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=text)
