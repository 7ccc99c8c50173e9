"""A pane's one-line title, updated every repaint tick but redrawn only when its text changes.

A plain `Label.update` re-lays out the screen each time, and at 10 ticks a second over SSH
that rewrites the title lines even when nothing in them moved.
"""

from __future__ import annotations

from textual.widgets import Label


class PaneTitle(Label):
    def __init__(self, text: str, *, id: str | None = None, classes: str = "") -> None:
        # titles quote names that agents chose ("fix [/users] route"): never markup
        super().__init__(text, id=id, classes=f"pane-title {classes}".strip(), markup=False)
        self._text = text

    @property
    def text(self) -> str:
        return self._text

    def show(self, text: str) -> None:
        if text != self._text:
            self._text = text
            # the size is fixed by CSS (one line, full width), so no layout pass is needed
            self.update(text, layout=False)
