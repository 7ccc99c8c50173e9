"""The `:` command palette: one provider with namespaced commands (`session: pause`, …)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from agentops_tui.tui.app import AgentOpsApp

Command = tuple[str, str, Callable[[], object]]


class AgentOpsCommands(Provider):
    def _commands(self) -> list[Command]:
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        out: list[Command] = []
        for key, (name, _) in app.SCREENS_BY_KEY.items():
            out.append((f"screen: {name}", f"switch to the {name} screen ({key})",
                        partial(app.switch_mode, name)))
        for theme in sorted(app.available_themes):
            out.append((f"theme: {theme}", "use this theme (saved on exit)",
                        partial(app.set_theme, theme)))
        # the screen the palette was opened over decides what it offers: not in read-only
        # mode, and not what the selected sessions' agents cannot obey
        check = getattr(self.screen, "check_action", None)
        if not app.read_only and check is not None:
            for action, text in (
                ("pause", "pause the selected or marked sessions"),
                ("resume", "resume the selected or marked sessions"),
                ("inject", "send a message to the selected or marked sessions"),
                ("redirect", "stop the current step of the selected or marked sessions and "
                             "give them a new instruction (R)"),
                ("kill", "kill the selected or marked sessions (asks first)"),
                ("kill_all", "kill every active session (type KILL ALL)"),
            ):
                if hasattr(self.screen, f"action_{action}") and check(action, ()):
                    out.append((f"session: {action.replace('_', ' ')}", text,
                                partial(app.run_screen_action, action)))
        out.append(("view: filter", "filter the roster (/)",
                    partial(app.run_screen_action, "filter")))
        out.append(("view: sort", "sort the roster by the next column (s)",
                    partial(app.run_screen_action, "sort", 1)))
        out.append(("app: help", "show every key (?)", app.action_help))
        out.append(("app: quit", "leave the console (q)", app.exit))
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
