"""Checks for values a person types into the console's settings: theme names and key bindings.

Both need the console's own definitions (its themes, its screens' bindings), so this module
lives with the console; `config` imports it only when a value is set, `launch` when a
console starts. A refusal names what is wrong and what would be accepted.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.keys import _normalize_key_list
from textual.theme import BUILTIN_THEMES

from agentops_tui import paths

# The everyday names of the four built-in themes (the README uses them).
THEME_ALIASES = {
    "dark": "agentops-dark",
    "light": "agentops-light",
    "high contrast": "agentops-high-contrast",
    "monochrome": "agentops-mono",
    "mono": "agentops-mono",
}


class SettingRefused(ValueError):
    """A theme or key binding the console cannot use; the message says why."""


def own_theme_names() -> list[str]:
    """agentops' themes: the four built in, then the bundled and the user's theme files."""
    from agentops_tui.tui.themes import load_themes

    themes, _ = load_themes(paths.bundled_themes_dir(), paths.user_themes_dir())
    return [theme.name for theme in themes]


def resolve_theme(name: str) -> str:
    """The real name of the theme `name` means (`dark` is `agentops-dark`)."""
    own = own_theme_names()
    if name in own or name in BUILTIN_THEMES:
        return name
    words = " ".join(name.lower().replace("-", " ").replace("_", " ").split())
    alias = THEME_ALIASES.get(words) or THEME_ALIASES.get(words.removeprefix("agentops "))
    if alias in own:
        return alias
    raise SettingRefused(
        f"no theme named {name!r}; themes: {', '.join(own)} (also dark, light, high contrast "
        "and monochrome for the first four, and Textual's own, e.g. nord, gruvbox)")


def _subclasses(cls: type[DOMNode]) -> Iterator[type[DOMNode]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _console_binding_scopes() -> tuple[BindingsMap, dict[str, BindingsMap]]:
    """The app's bindings, and those of every screen and widget of the console by class."""
    import agentops_tui.tui as console
    from agentops_tui.tui.app import AgentOpsApp

    for module in pkgutil.walk_packages(console.__path__, f"{console.__name__}."):
        importlib.import_module(module.name)  # every screen and widget class is defined
    scopes: dict[str, BindingsMap] = {}
    for cls in set(_subclasses(DOMNode)):
        merged = cls._merged_bindings
        if cls.__module__.startswith(console.__name__) and merged is not None:
            scopes[cls.__name__] = merged
    app_bindings = scopes.pop(AgentOpsApp.__name__)
    return app_bindings, scopes


def check_keymap(keymap: dict[str, str]) -> None:
    """Refuse an unknown binding id, or keys that would hide another binding."""
    app_bindings, scopes = _console_binding_scopes()
    known = {b.id for m in (app_bindings, *scopes.values()) for _, b in m if b.id}
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            raise SettingRefused(f"no action {binding_id!r}; actions: {', '.join(sorted(known))}")
        if not [k for k in keys.split(",") if k.strip()]:
            raise SettingRefused("give a key, e.g. P or ctrl+p")
    remapped = {bid: _normalize_key_list(keys).split(",") for bid, keys in keymap.items()}
    # A screen's keys are looked up before the app's: each screen is checked with the app's.
    for name, bindings in sorted(scopes.items()):
        where = f"on the {name.removesuffix('Screen')} screen" if name.endswith("Screen") \
            else f"in {name}"
        _check_scope([b for _, b in app_bindings] + [b for _, b in bindings], remapped, where)
    _check_scope([b for _, b in app_bindings], remapped, "everywhere")


def _check_scope(bindings: list[Binding], remapped: dict[str, list[str]], where: str) -> None:
    holders: dict[str, dict[str, Binding]] = {}  # key → what it would do → the binding
    for binding in bindings:
        keys = remapped.get(binding.id or "", [binding.key])
        for key in keys:
            holders.setdefault(key, {})[binding.id or binding.action] = binding
    for key, held in holders.items():
        moved = [name for name in held if name in remapped]
        if len(held) > 1 and moved:
            other = next(b for name, b in held.items() if name != moved[0])
            what = other.id or other.description or other.action
            raise SettingRefused(
                f"{key!r} is already bound to {what!r} {where}; choose another key, "
                f"or move {what!r} first")
