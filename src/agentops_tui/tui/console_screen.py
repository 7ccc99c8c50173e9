"""The base of the console's screens: `? Help` and `q Quit` lead the footer.

Textual's footer lists the focused widget's and the screen's keys before the app's and cuts
what does not fit on the right, so on a narrow terminal (and with many keys even on a wide
one) the two keys everyone needs were the first to go. Putting them first keeps them visible
at any width; the screens' number keys come last, grouped as one `1234567 Screens`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import ActiveBinding
from textual.screen import Screen

FOOTER_FIRST = ("app-help", "app-quit")


class ConsoleScreen(Screen[Any]):
    # binding ids of this screen's own main keys, shown right after Help and Quit (before
    # the session keys it shares with other screens)
    LEADING: ClassVar[tuple[str, ...]] = ()

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        bindings = super().active_bindings
        order = FOOTER_FIRST + self.LEADING
        first = sorted((key for key, active in bindings.items()
                        if active.binding.id in order),
                       key=lambda key: order.index(bindings[key].binding.id or ""))
        ordered = {key: bindings[key] for key in first}
        ordered.update(bindings)
        return ordered
