"""What the console says, outside Review, when work for a human arrives.

One notice of a kind at a time: approvals that arrive while "Needs you" is still on screen
are counted into the next one instead of stacking identical toasts over the log. Pure (no
app), so it is tested on its own; the app asks for what is due on every tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agentops_tui.core.fleet import Changes, Fleet

NOTICE_SECONDS = 6.0  # how long a notice shows, and the least time between two of a kind


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    message: str
    severity: Literal["information", "warning", "error"]  # as Textual's notify takes it


class NewWorkNotices:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._announced: set[str] = set()  # approvals already counted (or in the snapshot)
        self._approvals = 0  # arrived, not yet told
        self._breaches = False
        self._quiet_until = {"approvals": 0.0, "sla": 0.0}

    def saw(self, fleet: Fleet, changes: Changes, *, reviewing: bool, first: bool) -> None:
        """Changes applied since the last tick. `first`: they came with the first snapshot
        (nothing is new yet); `reviewing`: the operator is on Review, which has its badge."""
        fresh = [a for a in changes.approvals
                 if a not in self._announced and (ap := fleet.approvals.get(a)) is not None
                 and ap.status == "pending"]
        self._announced.update(fresh)
        if reviewing:
            self._approvals = 0
            self._breaches = False
            return
        if not first:
            self._approvals += len(fresh)
        if "sla.breached" in changes.other:
            self._breaches = True

    def due(self, *, acting: bool = True) -> list[Notice]:
        """`acting`: the token may decide approvals (a viewer's may not: not "you")."""
        now = self.clock()
        out: list[Notice] = []
        if self._approvals and now >= self._quiet_until["approvals"]:
            out.append(Notice("Needs you" if acting else "Waiting for an operator",
                              f"{self._approvals} new approval"
                              f"{'s' if self._approvals != 1 else ''} — press 5 to review",
                              "information"))
            self._approvals = 0
            self._quiet_until["approvals"] = now + NOTICE_SECONDS
        if self._breaches and now >= self._quiet_until["sla"]:
            out.append(Notice("Deadline missed", "SLA breached on a task — press 5 to review",
                              "warning"))
            self._breaches = False
            self._quiet_until["sla"] = now + NOTICE_SECONDS
        return out
