"""The Alerts screen on a real server: grouped alerts show how often they fired and when last,
and the notifications delivery log shows under them, channels masked, failures with why."""

from __future__ import annotations

from pathlib import Path

from agentops_tui.client.connection import Connection
from agentops_tui.server.notify.rules import NotifyRule
from agentops_tui.tui.app import create_app
from agentops_tui.tui.screens.alerts import AlertsScreen
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from alerting import Clock, alert_server, open_alert
from factories import agent, started, usage
from notify_receiver import Receiver, closed_port
from tui_support import until
from waiting import wait_for

SECRET = "hunter2-s3cret"


async def test_alerts_screen_shows_counts_last_seen_and_the_delivery_log(
        tmp_path: Path) -> None:
    clock = Clock()
    receiver = Receiver()
    rules = (
        NotifyRule(name="ops", url=receiver.url(path=f"hook/{SECRET}", credentials=f"u:{SECRET}"),
                   on=("alert",), cooldown_seconds=0),
        NotifyRule(name="pager", url=f"json://u:{SECRET}@127.0.0.1:{closed_port()}/{SECRET}",
                   on=("alert",), cooldown_seconds=0),
    )
    try:
        with alert_server(tmp_path, clock, notify=rules, notify_retry_seconds=0.05) as srv, \
                srv.client() as c:
            c.post("/api/v1/ingest", json={"events": [agent(), *(  # $2.10 in three sessions
                e for i in range(3) for e in (started(f"s{i}", ts=clock.t),
                                              usage(f"s{i}", inp=700_000, out=0, ts=clock.t)))
            ]}).raise_for_status()
            rollup = open_alert(c, "runaway_cost", "ag-1")
            wait_for(lambda: len(c.get("/api/v1/notifications").json()["notifications"]) >= 2,
                     what="a delivery on each channel")

            app = create_app(Connection(srv.url, srv.token), clock=lambda: clock.t + 30)
            async with app.run_test(size=(120, 40)) as pilot:
                await until(pilot, lambda: rollup["id"] in app.fleet.alerts,
                            what="the alert in the console")
                await pilot.press("6")
                screen = app.screen
                assert isinstance(screen, AlertsScreen)
                table = screen.query_one("#alerts", VirtualTable)
                await until(pilot, lambda: rollup["id"] in table.keys, what="the alert row")
                cells = [text for text, _style in table._cells(rollup["id"])]
                assert cells[6] == "×3" and cells[8] == "30s ago"  # n, last seen
                assert "3 sessions fired" in cells[5]

                log = screen.query_one("#deliveries", VirtualTable)
                await until(pilot, lambda: len(log.keys) >= 2, what="the delivery log")
                rows = {log._cells(k)[1][0]: [t for t, _ in log._cells(k)] for k in log.keys}
                assert rows["ops"][2] == "sent" and rows["pager"][2] == "failed"
                said = rows["pager"][5]
                assert said.startswith("agentops: Warning alert raised: agent name-ag-1")
                assert " — A Connection error" in said  # and why it failed
                title = screen.query_one("#deliveries-title", PaneTitle).text
                assert title.startswith("Notifications — 2 rules")
                shown = " ".join([title, *(t for row in rows.values() for t in row)])
                assert SECRET not in shown
                assert rows["ops"][4] == f"json://…@127.0.0.1:{receiver.port}/…"
    finally:
        receiver.close()
