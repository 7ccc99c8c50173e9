"""6 Alerts: what the backend's rules raised — open, acked and (on request) resolved.

Open and acked alerts arrive live with the stream (`fleet.alerts`); resolved ones are history
and are fetched when the operator asks for them. `a` acknowledges, `enter` jumps to the
subject (a session or agent on the Fleet screen, a task's sessions).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core import roles
from agentops_tui.core.fleet import Changes
from agentops_tui.models import Alert
from agentops_tui.tui import names, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ShowAgent, ShowSession, ShowTask, navigate
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [
    # narrow screens drop the status column ("!" marks the open ones) for subject and message
    Column("", 1), Column("sev", 8), Column("status", 8, min_screen=100), Column("rule", 16),
    Column("subject", 0), Column("message", 0), Column("raised", 10, "right"),
]
SEVERITY_ORDER = {"critical": 0, "warning": 1}
STATUS_ORDER = {"open": 0, "acked": 1, "resolved": 2}


class AlertsScreen(Interventions):
    PLACE = "alerts"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.show_resolved = False
        self.resolved: dict[str, Alert] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Alerts", id="alerts-title")
        yield VirtualTable(COLUMNS, self._cells, id="alerts",
                           empty="no open alerts — rules are quiet")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#alerts", VirtualTable).focus()
        self.update_state(None)

    def on_screen_resume(self) -> None:
        self.update_state(None)

    def _alert(self, alert_id: str) -> Alert | None:
        return self.console.fleet.alerts.get(alert_id) or self.resolved.get(alert_id)

    def _cells(self, alert_id: str) -> list[render.Cell]:
        alert = self._alert(alert_id)
        if alert is None:
            return []
        sev_style = "status-error" if alert.severity == "critical" else "status-waiting"
        subject = names.subject(self.console.fleet, alert.subject_type, alert.subject_id)
        message = alert.message
        for said in (subject, f"{alert.subject_type} {alert.subject_id}"):
            if message.startswith(said):  # the subject column says it already
                message = message[len(said):].lstrip(" :")
                break
        status_style = {"open": "status-error", "acked": "status-paused"}.get(
            alert.status, "status-ended")
        return [
            ("!" if alert.status == "open" else " ", sev_style),
            (alert.severity, sev_style),
            (alert.status, status_style),
            (alert.rule.replace("_", " "), ""),
            (subject, "dim"),
            (message, ""),
            (render.ago(alert.raised_at, self.console.clock()), "dim"),
        ]

    def update_state(self, changes: Changes | None) -> None:
        if changes is not None and not changes.alerts:
            self.query_one("#alerts", VirtualTable).refresh_rows()
            return
        alerts = list(self.console.fleet.alerts.values())
        if self.show_resolved:
            alerts += [a for a in self.resolved.values() if a.id not in self.console.fleet.alerts]
        alerts.sort(key=lambda a: (STATUS_ORDER.get(a.status, 3),
                                   SEVERITY_ORDER.get(a.severity, 2), -a.raised_at))
        self.query_one("#alerts", VirtualTable).set_rows([a.id for a in alerts])
        open_ = sum(a.status == "open" for a in alerts)
        history = " + resolved (h hides)" if self.show_resolved else " — h shows resolved"
        ack = "" if self.console.read_only or not roles.allows(self.console.role, "ack") \
            else "a ack, "
        self.query_one("#alerts-title", PaneTitle).show(
            f"Alerts — {open_} open, {len(alerts) - open_} other{history}"
            f" — {ack}enter go to subject")

    @property
    def current(self) -> Alert | None:
        key = self.query_one("#alerts", VirtualTable).current_key
        return self._alert(key) if key else None

    def target_sessions(self) -> list[str]:
        alert = self.current
        if alert is not None and alert.subject_type == "session":
            return [alert.subject_id]
        return []

    def action_ack(self) -> None:
        alert = self.current
        if alert is None:
            return
        if alert.status != "open":
            self.notify(f"This alert is already {alert.status}", severity="warning")
            return
        self._ack(alert.id)

    @work(group="alerts", exclusive=True)
    async def _ack(self, alert_id: str) -> None:
        try:
            await self.console.connection.api.ack_alert(alert_id)
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Ack refused", severity="error")
            return
        self.notify("Alert acknowledged")

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        if self.show_resolved:
            self._load_resolved()
        self.update_state(None)

    @work(group="alerts-history", exclusive=True)
    async def _load_resolved(self) -> None:
        try:
            alerts = await self.console.connection.api.alerts(status="resolved")
        except (ApiError, BackendUnreachable) as exc:
            self.notify(str(exc), title="Could not load resolved alerts", severity="error")
            return
        self.resolved = {a.id: a for a in alerts}
        self.update_state(None)

    @on(VirtualTable.Selected, "#alerts")
    def _jump(self, event: VirtualTable.Selected) -> None:
        alert = self._alert(event.key)
        if alert is None:
            return
        if alert.subject_type == "session":
            navigate(self, ShowSession(alert.subject_id))
        elif alert.subject_type == "agent":
            navigate(self, ShowAgent(alert.subject_id))
        elif alert.subject_type == "task":
            navigate(self, ShowTask(alert.subject_id))
        else:
            fleet = self.console.fleet
            self.notify(f"{names.subject(fleet, alert.subject_type, alert.subject_id)}: "
                        "nothing to jump to")
