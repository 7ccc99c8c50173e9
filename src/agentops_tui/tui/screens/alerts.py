"""6 Alerts: what the backend's rules raised — open, acked and (on request) resolved — and
below them, the notifications delivery log.

Open and acked alerts arrive live with the stream (`fleet.alerts`); resolved ones are history
and are fetched when the operator asks for them. Repeats fold into one row: `n` says how
often it fired (for an agent's roll-up, how many sessions), `seen` when it last did.
`a` acknowledges, `enter` jumps to the subject (a session or agent on the Fleet screen, a
task's sessions). The delivery log is not on the stream: it is read when the screen shows
and every few seconds while it does; its channels come masked from the server.
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
from agentops_tui.reports import Delivery
from agentops_tui.tui import names, render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ShowAgent, ShowSession, ShowTask, navigate
from agentops_tui.tui.interventions import Interventions
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [
    # narrow screens drop the status column ("!" marks the open ones) and when it was first
    # raised, for subject and message
    Column("", 1), Column("sev", 8), Column("status", 8, min_screen=100), Column("rule", 16),
    Column("subject", 0), Column("message", 0), Column("n", 4, "right"),
    Column("first", 9, "right", min_screen=120, slow=True),
    Column("seen", 9, "right", slow=True),
]
DELIVERY_COLUMNS = [
    Column("sent", 9, "right", slow=True), Column("rule", 12), Column("status", 7),
    Column("n", 4, "right"), Column("channel", 22, min_screen=100), Column("message", 0),
]
DELIVERY_REFRESH_SECONDS = 5.0
DELIVERY_ROWS = 50
SEVERITY_ORDER = {"critical": 0, "warning": 1}
STATUS_ORDER = {"open": 0, "acked": 1, "resolved": 2}


class AlertsScreen(Interventions):
    PLACE = "alerts"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.show_resolved = False
        self.resolved: dict[str, Alert] = {}
        self.deliveries: dict[str, Delivery] = {}
        self.delivery_rules = 0
        self.delivery_error: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Alerts", id="alerts-title")
        yield VirtualTable(COLUMNS, self._cells, id="alerts",
                           empty="no open alerts — rules are quiet")
        yield PaneTitle("Notifications", id="deliveries-title")
        yield VirtualTable(DELIVERY_COLUMNS, self._delivery_cells, id="deliveries",
                           empty="nothing sent yet")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#alerts", VirtualTable).focus()
        self.update_state(None)
        self._load_deliveries()
        self.set_interval(DELIVERY_REFRESH_SECONDS, self._refresh_deliveries)

    def on_screen_resume(self) -> None:
        self.update_state(None)
        self._load_deliveries()

    def _refresh_deliveries(self) -> None:
        if self.is_current:
            self._load_deliveries()

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
        if alert.status == "resolved" and alert.resolved_reason:
            message += f" — resolved: {alert.resolved_reason}"
        status_style = {"open": "status-error", "acked": "status-paused"}.get(
            alert.status, "status-ended")
        now = self.console.clock()
        return [
            ("!" if alert.status == "open" else " ", sev_style),
            (alert.severity, sev_style),
            (alert.status, status_style),
            (alert.rule.replace("_", " "), ""),
            (subject, "dim"),
            (message, ""),
            (f"×{alert.count}" if alert.count > 1 else "", "status-waiting"),
            (render.ago(alert.first_seen, now), "dim"),
            (render.ago(alert.last_seen, now), "dim"),
        ]

    def _delivery_cells(self, key: str) -> list[render.Cell]:
        d = self.deliveries.get(key)
        if d is None:
            return []
        failed = d.status != "sent"
        text = d.title
        if failed and d.error:
            text += f" — {d.error}"
        return [
            (render.ago(d.ts, self.console.clock()), "dim"),
            (d.rule, ""),
            (d.status, "status-error" if failed else "status-running"),
            (str(d.count), ""),
            (d.channel, "dim"),  # masked by the server: never the secret
            (text, ""),
        ]

    def update_state(self, changes: Changes | None) -> None:
        if changes is not None and not changes.alerts:
            self.query_one("#alerts", VirtualTable).refresh_rows()
            return
        alerts = list(self.console.fleet.alerts.values())
        if self.show_resolved:
            alerts += [a for a in self.resolved.values() if a.id not in self.console.fleet.alerts]
        alerts.sort(key=lambda a: (STATUS_ORDER.get(a.status, 3),
                                   SEVERITY_ORDER.get(a.severity, 2), -a.last_seen))
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
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        self.resolved = {a.id: a for a in alerts}
        self.update_state(None)

    @work(group="alerts-deliveries", exclusive=True)
    async def _load_deliveries(self) -> None:
        try:
            page = await self.console.connection.api.notifications(limit=DELIVERY_ROWS)
        except (ApiError, BackendUnreachable) as exc:
            self.delivery_error = str(exc)
        else:
            self.delivery_error = None
            self.deliveries = {str(d.id): d for d in page.notifications}
            self.delivery_rules = len(page.rules)
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        self._show_deliveries()

    def _show_deliveries(self) -> None:
        table = self.query_one("#deliveries", VirtualTable)
        table.set_rows(list(self.deliveries))
        failed = sum(d.status != "sent" for d in self.deliveries.values())
        if self.delivery_error:
            title = f"Notifications — unavailable: {self.delivery_error}"
        elif not self.delivery_rules and not self.deliveries:
            title = "Notifications — no rules: `agentops notify add NAME URL` sends alerts out"
        else:
            rules = f"{self.delivery_rules} rule{'s' if self.delivery_rules != 1 else ''}"
            title = (f"Notifications — {rules}, last {len(self.deliveries)} deliveries,"
                     f" {failed} failed")
        self.query_one("#deliveries-title", PaneTitle).show(title)

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
