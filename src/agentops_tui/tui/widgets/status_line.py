"""The header line: connection state, what the token may not do, backend, fleet counts, spend
today, open alerts."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from agentops_tui.tui import render

STATE_LABELS = {
    "live": ("● Live", "status-running"),
    "connecting": ("◌ Connecting", "status-waiting"),
    "reconnecting": ("◌ Reconnecting", "status-waiting"),
    "polling": ("◐ Polling", "status-waiting"),
    "offline": ("○ Offline", "status-error"),
}
COUNTED = ("running", "waiting", "paused", "error", "idle", "offline")


def connection_label(state: str, retry_in: float | None) -> str:
    label, _ = STATE_LABELS.get(state, (state, ""))
    if state == "reconnecting" and retry_in is not None:
        return f"{label} in {max(0, round(retry_in))}s"
    return label


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    _shown: Text | None = None
    _facts: tuple[object, ...] = ()
    _drawn_at = 0.0

    def show(
        self,
        *,
        state: str,
        retry_in: float | None,
        backend: str,
        profile: str,
        counts: dict[str, int],
        spend_today: float,
        open_alerts: int,
        read_only: bool,
        screen: str,
        spend_partial: bool = False,
        role_badge: str | None = None,
        detail: str | None = None,
    ) -> None:
        # State, counts and alerts show at once; the spend figure alone moves once a second.
        facts = (state, retry_in, backend, profile, sorted(counts.items()), open_alerts,
                 read_only, screen, role_badge, detail)
        now = time.monotonic()
        if facts == self._facts and now - self._drawn_at < 1.0:
            return
        self._facts = facts
        self._drawn_at = now
        colours = {
            name: self.app.theme_variables.get(name, "") for name in (
                "status-running", "status-waiting", "status-paused", "status-error",
                "status-idle", "status-offline", "warning")
        }
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("agentops ", style="bold")
        _, state_style = STATE_LABELS.get(state, ("", ""))
        text.append(connection_label(state, retry_in),
                    style=f"bold {colours.get(state_style, '')}".strip())
        if detail and state != "live":  # why, for as long as it lasts (a toast goes away)
            text.append(f" — {detail}", style=colours.get(state_style, ""))
        if role_badge and not read_only:  # next to the state: the first thing that is read
            text.append(" ")
            text.append(f" {role_badge} ", style="bold reverse")
        host = backend.split("://", 1)[-1]
        if not (detail and state != "live" and host in detail):  # the reason names it
            text.append(f"  {host}", style="dim")
        if profile:
            text.append(f" ({profile})", style="dim")
        if read_only:
            text.append("  READ-ONLY", style="bold reverse")
        text.append("  │ ")
        for status in COUNTED:
            n = counts.get(status, 0)
            if n or status in ("running", "waiting"):
                style = colours.get(render.status_style(status), "")
                text.append(f"{render.STATUS_GLYPHS[status]}{n} ", style=style)
        text.append(f"│ {render.money(spend_today, spend_partial)} today ")
        if open_alerts:
            text.append(f"│ ⚠ {open_alerts} alert{'s' if open_alerts != 1 else ''} ",
                        style=f"bold {colours['warning']}")
        text.append(f"│ {screen}", style="dim")
        if text != self._shown:  # unchanged headers cost nothing on the wire
            self._shown = text
            self.update(text, layout=False)  # one line, full width: no layout pass
