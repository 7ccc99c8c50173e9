"""What `?` lists: every key that works on the screen shown, each once, grouped.

Groups: the screen's own keys (with the keys of the focused list or board), the keys that
work everywhere, then the screens in their number order. Keys bound to one action are shown
together (`←/-  Fold`); Textual's own `ctrl+q` is left out where `q` quits already, and so are
the terminal conveniences (copy, focus previous) that are not the console's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.binding import ActiveBinding, Binding

Row = tuple[str, str]
Section = tuple[str, list[Row]]

SCREEN_ACTION = "screen"
# Textual's bindings that are not this console's to explain
NOT_LISTED = frozenset({"copy_text", "focus_previous", "help_quit", "command_palette",
                        "scroll_left", "scroll_right", "page_left", "page_right"})
TEXTUAL_DESCRIPTIONS = frozenset({"Focus Next", "Focus Previous"})


def _allowed(active: ActiveBinding, action: str) -> bool:
    return active.node.check_action(action, ()) is not False


def help_sections(bindings: Iterable[ActiveBinding], app_node: object,
                  key_display: Callable[[Binding], str], screen_order: list[str],
                  here: str = "Here") -> list[Section]:
    """Sections of (keys, what they do) from a screen's active bindings."""
    local: dict[str, tuple[list[str], str]] = {}
    everywhere: dict[str, tuple[list[str], str]] = {}
    screens: dict[str, tuple[list[str], str]] = {}
    for active in bindings:
        binding = active.binding
        action = binding.action.split("(")[0].rsplit(".", 1)[-1]
        if (not binding.description or action in NOT_LISTED
                or binding.description in TEXTUAL_DESCRIPTIONS or not _allowed(active, action)):
            continue
        if action == SCREEN_ACTION:
            target = screens
        elif active.node is app_node:
            target = everywhere
        else:
            target = local
        keys, _ = target.setdefault(binding.action, ([], binding.description))
        shown = key_display(binding)
        if "_" not in shown and shown not in keys:  # no keypad aliases such as k_up
            keys.append(shown)
    quit_keys = everywhere.get("quit")
    if quit_keys is not None and len(quit_keys[0]) > 1:  # `q` quits: no need for ^q too
        quit_keys[0][:] = [k for k in quit_keys[0] if not k.startswith("^")]
    everywhere_rows = [("/".join(k), d) for k, d in everywhere.values()]
    everywhere_rows.append((":", "Command palette"))
    order = {name: i for i, name in enumerate(screen_order)}
    screen_rows = sorted(((k[0], d) for k, d in screens.values()),
                         key=lambda row: order.get(row[1], len(order)))
    sections: list[Section] = [
        (here, [("/".join(k), d) for k, d in local.values()]),
        ("Everywhere", sorted(everywhere_rows, key=lambda row: row[1])),
        ("Screens", screen_rows),
    ]
    return [(title, rows) for title, rows in sections if rows]


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
