"""The smallest Textual app: what the start-up benchmark compares `agentops demo` against.

    python -m agentops_tui.tui.baseline
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label

READY = "baseline-ready"


class Baseline(App[None]):
    def compose(self) -> ComposeResult:
        yield Label(READY)


if __name__ == "__main__":
    Baseline().run()
