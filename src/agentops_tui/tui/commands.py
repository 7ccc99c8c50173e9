"""The `:` command palette: one provider with namespaced commands (`session: pause`, …),
generated from the registry of screens and actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from agentops_tui.tui.actions import action_named, actions
from agentops_tui.tui.registry import SCREENS

if TYPE_CHECKING:
    from agentops_tui.tui.app import AgentOpsApp

Command = tuple[str, str, Callable[[], object]]


class AgentOpsCommands(Provider):
    def _commands(self) -> list[Command]:
        app = cast("AgentOpsApp", self.app)
        out: list[Command] = []
        for entry in SCREENS:
            out.append((f"screen: {entry.name}", f"switch to the {entry.name} screen "
                        f"({entry.key})", partial(app.switch_mode, entry.name)))
        for theme in sorted(app.available_themes):
            out.append((f"theme: {theme}", "use this theme (saved on exit)",
                        partial(app.set_theme, theme)))
        # the screen the palette was opened over decides what it offers: not in read-only
        # mode, and not what the selected sessions' agents cannot obey
        screen = self.screen
        if not app.read_only:
            for action in (*actions("sessions"), *actions("agents")):
                if action.palette and hasattr(screen, f"action_{action.action}") \
                        and screen.check_action(action.action, ()):
                    out.append((action.palette_name, action.palette,
                                partial(app.run_screen_action, action.action)))
        for action in actions("view"):
            out.append((action.palette_name, action.palette,
                        partial(app.run_screen_action, action.action, *action.args)))
        for name, callback in (("help", app.action_help), ("quit", app.exit)):
            action = action_named(name)
            out.append((action.palette_name, action.palette, callback))
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

