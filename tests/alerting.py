"""Helpers for alert tests: a settable clock, a server driven by it, polling, an agent loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agentops_tui.server.alerts.config import AlertSettings, parse_alert_settings

from conftest import LiveServer, start_server
from waiting import wait_for

ALERT_EVENTS = "alert.raised,alert.updated,alert.resolved,alert.acked"


class Clock:
    """The evaluator's notion of now; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@contextmanager
def alert_server(
    tmp_path: Path, clock: Clock, table: dict[str, Any] | None = None, **settings: Any
) -> Iterator[LiveServer]:
    """A live server whose evaluator runs every 50 ms on `clock`, `table` as `[alerts]`."""
    parsed = parse_alert_settings({"interval_seconds": 0.05, **(table or {})}, "test")
    alerts = AlertSettings.model_validate({**parsed.model_dump(), "clock": clock})
    srv = start_server(tmp_path / "alerts.db", heartbeat_seconds=1.0, alerts=alerts, **settings)
    try:
        yield srv
    finally:
        srv.server.stop()


def passes(c: httpx.Client, count: int = 3) -> None:
    """Let the evaluator run `count` more passes (so "nothing happened" means something)."""
    start = c.get("/api/v1/alerts/engine").json()["evaluations"]
    wait_for(lambda: c.get("/api/v1/alerts/engine").json()["evaluations"] >= start + count,
             what=f"{count} evaluation passes")


def alerts(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = c.get("/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]  # type: ignore[no-any-return]


def open_alert(c: httpx.Client, rule: str, subject_id: str, severity: str | None = None,
               ) -> dict[str, Any]:
    """Wait for the open (or acked) alert of `rule` on `subject_id`, at `severity` if given."""

    def find() -> dict[str, Any] | None:
        for a in alerts(c, status="open,acked", rule=rule, subject_id=subject_id):
            if severity is None or a["severity"] == severity:
                return a
        return None

    return wait_for(find, what=f"{severity or 'an'} {rule} alert on {subject_id}")  # type: ignore[no-any-return]


def resolved(c: httpx.Client, alert_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((a for a in alerts(c, status="resolved") if a["id"] == alert_id), None)

    return wait_for(find, what=f"alert {alert_id} to resolve")  # type: ignore[no-any-return]


def alert_events(c: httpx.Client) -> list[tuple[str, str, str, str]]:
    """(type, rule, subject, severity) of every alert event so far."""
    events = c.get("/api/v1/events", params={"after": 0, "types": ALERT_EVENTS,
                                              "limit": 1000}).json()["events"]
    return [(e["type"], e["data"]["rule"], e["data"]["subject_id"], e["data"]["severity"])
            for e in events]


class AgentLoop:
    """A real agent's command loop: long-polls its commands and acknowledges each one."""

    def __init__(self, srv: LiveServer, agent_id: str) -> None:
        self.client = srv.client()
        self.agent_id = agent_id
        self.received: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AgentLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = self.client.get(f"/api/v1/agents/{self.agent_id}/commands",
                                    params={"wait": 0.5})
            except httpx.HTTPError:
                return
            if r.status_code != 200:
                time.sleep(0.05)
                continue
            for command in r.json()["commands"]:
                self.received.append(command)
                self.client.post(f"/api/v1/commands/{command['id']}/ack", json={"ok": True})
