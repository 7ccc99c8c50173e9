"""The alert engine: evaluate the rules, raise/escalate/resolve alerts on edges, act, ack.

Evaluation runs as a writer job (every `interval_seconds`), so an alert, the events that
announce it, its row and any pause it orders commit together. Transitions only:

- a subject starts firing: `alert.raised` (status open);
- it reaches a higher severity: `alert.updated` on the same alert (re-opened if it was acked);
- it stops firing: `alert.resolved`. It may fire again later as a new alert.

A falling value does not lower the severity of an open alert (it resolves when clear).
With `action = "pause"`, the moment an alert becomes critical its subject's running sessions
are paused through the control plane, audited as the `system` actor. A session the operator
resumes afterwards is not paused again by the same alert.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from agentops_tui.models import Alert
from agentops_tui.server import audit
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.alerts.feeds import AlertFeeds
from agentops_tui.server.alerts.rules import CHECKS, Evaluation, Reading
from agentops_tui.server.auth import SYSTEM
from agentops_tui.server.control import commands
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import placeholders, upsert
from agentops_tui.server.store.writer import Rejected, WriteContext, Writer

log = logging.getLogger("agentops.alerts")

SEVERITY_RANK = {"warning": 1, "critical": 2}
PAUSABLE = frozenset({"running", "waiting"})


def _fmt(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:.2f}"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "minutes":
        return f"{value:g} min"
    return f"{value:g}"


SAVE_SQL = upsert(
    "alerts",
    ("workspace", "id", "rule", "subject_type", "subject_id", "severity", "status",
     "raised_at", "data"),
    ("workspace", "id"),
)


def save(conn: Connection, workspace: str, alert: Alert) -> None:
    conn.execute(
        SAVE_SQL,
        (workspace, alert.id, alert.rule, alert.subject_type, alert.subject_id,
         alert.severity, alert.status, alert.raised_at, alert.model_dump_json()),
    )


def _emit(ctx: WriteContext, workspace: str, kind: str, alert: Alert) -> None:
    session_id = alert.subject_id if alert.subject_type == "session" else None
    ctx.emit(workspace, kind, alert.model_dump(), session_id=session_id)
    save(ctx.conn, workspace, alert)


class AlertEngine:
    def __init__(self, settings: AlertSettings, command_expiry_seconds: float = 30.0) -> None:
        self.settings = settings
        self.feeds = AlertFeeds(settings)
        self.command_expiry_seconds = command_expiry_seconds
        self.evaluations = 0
        self.last_evaluation: float | None = None
        self._discovered = False

    def install(self, writer: Writer) -> None:
        """Register the feeds' observer (standalone; `analytics.install` shares one)."""
        self.feeds.install(writer)

    # ---- evaluation (a writer job) ------------------------------------------------------

    def evaluate(self, ctx: WriteContext) -> int:
        """One pass over every loaded workspace; returns the number of transitions."""
        if not self._discovered:
            self._discover(ctx)
        now = self.settings.clock()
        changed = 0
        for workspace in list(ctx.fleets()):
            changed += self._evaluate_workspace(ctx, workspace, now)
        self.evaluations += 1
        self.last_evaluation = now
        return changed

    def _discover(self, ctx: WriteContext) -> None:
        """Load the workspaces that have something to watch, so a restart misses nothing."""
        rows = ctx.conn.execute(
            "SELECT workspace FROM sessions WHERE status IN ('running','waiting','paused')"
            " UNION SELECT workspace FROM alerts WHERE status IN ('open','acked')"
        ).fetchall()
        for (workspace,) in rows:
            ctx.fleet(workspace)
        self._discovered = True

    def _evaluate_workspace(self, ctx: WriteContext, workspace: str, now: float) -> int:
        feeds = self.feeds.feeds(ctx, workspace)
        fleet = feeds.fleet
        open_alerts: dict[tuple[str, str, str], Alert] = {
            (a.rule, a.subject_type, a.subject_id): a for a in list(fleet.alerts.values())
        }
        open_subjects: dict[tuple[str, str], set[str]] = {}
        for rule, subject_type, subject_id in open_alerts:
            open_subjects.setdefault((rule, subject_type), set()).add(subject_id)
        ev = Evaluation(ctx, workspace, feeds, self.feeds, self.settings, now, open_subjects)
        changed = 0
        for check in CHECKS:
            try:
                readings = check.read(ev)
            except Exception:  # a broken rule must not take ingest down with it
                log.exception("alert rule %s/%s failed", check.rule, check.subject_type)
                for key in [k for k in open_alerts if k[:2] == (check.rule, check.subject_type)]:
                    del open_alerts[key]  # unknown is not clear: leave its alerts as they are
                continue
            for subject_id, reading in readings.items():
                key = (check.rule, check.subject_type, subject_id)
                alert = open_alerts.pop(key, None)
                action = check.action(self.settings)
                if alert is None:
                    self._raise(ctx, workspace, check.rule, check.subject_type, subject_id,
                                reading, action, now)
                    changed += 1
                elif SEVERITY_RANK[reading.severity] > SEVERITY_RANK[alert.severity]:
                    self._escalate(ctx, workspace, alert, reading, action, now)
                    changed += 1
        for alert in open_alerts.values():  # nothing fires for them any more
            resolved = alert.model_copy(
                update={"status": "resolved", "resolved_at": now, "updated_at": now}
            )
            _emit(ctx, workspace, "alert.resolved", resolved)
            changed += 1
        return changed

    def _raise(self, ctx: WriteContext, workspace: str, rule: str, subject_type: str,
               subject_id: str, reading: Reading, action: str, now: float) -> None:
        targets = self._targets(ctx, workspace, subject_type, subject_id, reading, action)
        alert = Alert(
            id="alr_" + secrets.token_hex(8),
            rule=rule,
            severity=reading.severity,
            subject_type=subject_type,
            subject_id=subject_id,
            message=self._message(reading, targets),
            value=reading.value,
            threshold=reading.threshold,
            raised_at=now,
            updated_at=now,
        )
        _emit(ctx, workspace, "alert.raised", alert)
        self._pause(ctx, workspace, alert, targets)

    def _escalate(self, ctx: WriteContext, workspace: str, alert: Alert, reading: Reading,
                  action: str, now: float) -> None:
        targets = self._targets(ctx, workspace, alert.subject_type, alert.subject_id,
                                reading, action)
        updated = alert.model_copy(update={
            "severity": reading.severity, "value": reading.value,
            "threshold": reading.threshold, "message": self._message(reading, targets),
            "updated_at": now, "status": "open", "acked_by": None, "acked_at": None,
        })
        _emit(ctx, workspace, "alert.updated", updated)
        self._pause(ctx, workspace, updated, targets)

    @staticmethod
    def _message(reading: Reading, targets: list[str]) -> str:
        text = f"{reading.message} ({reading.severity} at {_fmt(reading.threshold, reading.unit)})"
        if targets:
            text += f"; pausing {len(targets)} session{'s' if len(targets) > 1 else ''}"
        return text

    # ---- acting ---------------------------------------------------------------------------

    @staticmethod
    def _targets(ctx: WriteContext, workspace: str, subject_type: str, subject_id: str,
                 reading: Reading, action: str) -> list[str]:
        """The sessions a critical alert with `action = "pause"` pauses."""
        if action != "pause" or reading.severity != "critical":
            return []
        fleet = ctx.fleet(workspace)
        if subject_type == "session":
            candidates: set[str] = {subject_id}
        elif subject_type == "agent":
            candidates = set(fleet.active_by_agent.get(subject_id, ()))
        elif subject_type == "task":
            candidates = set(fleet.sessions_by_task.get(subject_id, ()))
        else:
            candidates = {s for ids in fleet.active_by_agent.values() for s in ids}
        targets = []
        for sid in sorted(candidates):
            session = fleet.sessions.get(sid)
            if session is None or session.status not in PAUSABLE:
                continue
            pending = fleet.pending_command_by_session.get(sid)
            if pending is not None and fleet.commands[pending].action == "pause":
                continue
            targets.append(sid)
        return targets

    def _pause(self, ctx: WriteContext, workspace: str, alert: Alert, targets: list[str]) -> None:
        actor = audit.Actor(name=SYSTEM, workspace=workspace)
        payload: dict[str, Any] = {"reason": alert.message, "alert_id": alert.id}
        for sid in targets:
            try:
                commands.issue_command(ctx, workspace, sid, "pause", payload, actor,
                                      expiry_seconds=self.command_expiry_seconds)
            except Rejected as exc:  # changed under us; the audit log of the rule says why
                audit.record(ctx.conn, actor, "session.pause", sid, payload,
                             f"rejected: {exc.message}", ctx.now)

    # ---- operator acknowledgement -----------------------------------------------------------

    def ack(self, ctx: WriteContext, workspace: str, alert_id: str, actor: audit.Actor) -> Alert:
        fleet = ctx.fleet(workspace)
        alert = fleet.alerts.get(alert_id)
        if alert is None:
            row = ctx.conn.execute(
                "SELECT data FROM alerts WHERE workspace = ? AND id = ?", (workspace, alert_id)
            ).fetchone()
            if row is None:
                raise Rejected(404, "not_found", f"no alert {alert_id!r}")
            alert = Alert.model_validate_json(row[0])
        if alert.status == "resolved":
            raise Rejected(409, "conflict", f"alert {alert_id!r} is already resolved",
                           {"status": alert.status})
        if alert.status == "acked":
            raise Rejected(409, "conflict",
                           f"alert {alert_id!r} is already acked by {alert.acked_by}",
                           {"status": alert.status, "acked_by": alert.acked_by})
        now = self.settings.clock()
        acked = alert.model_copy(
            update={"status": "acked", "acked_by": actor.name, "acked_at": now, "updated_at": now}
        )
        _emit(ctx, workspace, "alert.acked", acked)
        audit.record(ctx.conn, actor, "alert.ack", alert_id, None, "accepted", ctx.now)
        return acked


def query(conn: Connection, workspace: str, statuses: list[str], rule: str | None,
          subject_type: str | None, subject_id: str | None, limit: int) -> list[Alert]:
    """Alerts newest first."""
    sql = "SELECT data FROM alerts WHERE workspace = ?"
    params: list[Any] = [workspace]
    if statuses:
        sql += f" AND status IN ({placeholders(len(statuses))})"
        params.extend(statuses)
    for column, value in (("rule", rule), ("subject_type", subject_type),
                          ("subject_id", subject_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY raised_at DESC, id DESC LIMIT ?"
    params.append(limit)
    return [Alert.model_validate_json(r[0]) for r in conn.execute(sql, params)]


async def evaluate_forever(server: Any) -> None:
    """Background loop: one evaluation pass per interval, as a writer job."""
    engine: AlertEngine | None = server.alert_engine
    if engine is None:
        return
    while True:
        await asyncio.sleep(engine.settings.interval_seconds)
        try:
            await server.store.write(engine.evaluate)
        except Exception:  # the store logs a failed commit; try again next tick
            log.warning("alert evaluation failed", exc_info=True)
