"""What `?` lists: every key that works on the screen shown, each once, grouped by where the
key registry (`tui.actions`) declares it.

Groups: the screen's own keys, the session keys it shares, the keys of the focused list,
board or log, the keys that work everywhere, then the screens in their number order. Keys
bound to one action are shown together (`←/-  Fold`). Only what the registry declares is
listed: Textual's own bindings (`ctrl+q`, copy, focus previous) are not the console's to
explain, and `q` quits already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.binding import ActiveBinding, Binding

from agentops_tui.tui.actions import ACTION_BY_ID

Row = tuple[str, str]
Section = tuple[str, list[Row]]

SCREENS_SCOPE = "screens"
SCREENS_TITLE = "Screens"
PALETTE_ROW = (":", "Command palette")


def help_sections(bindings: Iterable[ActiveBinding], key_display: Callable[[Binding], str],
                  here: str, title_of: Callable[[str], str],
                  screens: dict[str, str]) -> list[Section]:
    """Sections of (keys, what they do) from a screen's active bindings. `here` is the shown
    screen's scope; `screens` maps each number key's binding id to its screen's label, in
    number order."""
    groups: dict[str, dict[str, tuple[list[str], str]]] = {}
    for active in bindings:
        binding = active.binding
        spec = ACTION_BY_ID.get(binding.id or "")
        if spec is not None:
            if active.node.check_action(spec.action, spec.args) is False:
                continue  # not offered here now (read-only, the role, the agents)
            scope, description = spec.scope, spec.description
        elif binding.id in screens:
            scope, description = SCREENS_SCOPE, screens[binding.id]
        else:
            continue
        keys, _ = groups.setdefault(scope, {}).setdefault(binding.id or "", ([], description))
        shown = key_display(binding)
        if "_" not in shown and shown not in keys:  # no keypad aliases such as k_up
            keys.append(shown)
    order = [here, "sessions"] + [s for s in groups if s not in (here, "sessions", "app",
                                                                   SCREENS_SCOPE)]
    sections: list[Section] = [(title_of(scope), _rows(groups[scope]))
                               for scope in order if scope in groups]
    everywhere = _rows(groups.get("app", {})) + [PALETTE_ROW]
    sections.append((title_of("app"), sorted(everywhere, key=lambda row: row[1])))
    ranks = {binding_id: i for i, binding_id in enumerate(screens)}
    numbered = sorted(groups.get(SCREENS_SCOPE, {}).items(), key=lambda item: ranks[item[0]])
    sections.append((SCREENS_TITLE, [("/".join(keys), d) for _, (keys, d) in numbered]))
    return [(title, rows) for title, rows in sections if rows]


def _rows(group: dict[str, tuple[list[str], str]]) -> list[Row]:
    return [("/".join(keys), description) for keys, description in group.values()]


def help_text(sections: list[Section], escape: Callable[[str], str],
              fit: Callable[[str, int], str], width_of: Callable[[str], int]) -> str:
    """The sections as markup: a bold heading, then aligned keys and what they do."""
    width = max((width_of(k) for _, rows in sections for k, _ in rows), default=4)
    blocks: list[str] = []
    for title, rows in sections:
        lines = [f"[b u]{escape(title)}[/b u]"]
        lines += [f"  [b]{escape(fit(k, width))}[/b]  {escape(d)}" for k, d in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
