"""The alert engine: evaluate the rules, raise/escalate/refresh/resolve alerts, act, ack.

Evaluation runs as a writer job (every `interval_seconds`), so an alert, the events that
announce it, its row and any pause it orders commit together. One alert per rule and subject
(grouping.py says what folds together):

- a subject starts firing: `alert.raised` (status open) — a new alert, or the same alert
  again (`count` + 1) when it cleared less than `repeat_window_minutes` ago;
- it reaches a higher severity: `alert.updated` on the same alert (re-opened if it was acked);
- it keeps firing: `alert.refreshed` at most every `refresh_minutes`, with `last_seen`,
  `last_value` and, for a roll-up, the sessions that joined (notifications ignore it);
- it stops firing, or its subject ended: `alert.resolved`, with `resolved_reason`.

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

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import Alert
from agentops_tui.server import audit
from agentops_tui.server.alerts import actions, grouping
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.alerts.feeds import AlertFeeds
from agentops_tui.server.alerts.grouping import (
    SEVERITY_RANK,
    Firing,
    Grouper,
    Key,
    RollupReading,
)
from agentops_tui.server.alerts.records import emit as _emit
from agentops_tui.server.alerts.rules import CHECKS, Evaluation, Reading, _agent_label
from agentops_tui.server.alerts.units import threshold_text
from agentops_tui.server.control import approvals
from agentops_tui.server.store.writer import Rejected, WriteContext, Writer

log = logging.getLogger("agentops.alerts")

CLEARED = "the condition cleared"


def _fmt(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:.2f}"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "minutes":
        return f"{value:g} min"
    return threshold_text(value, unit)


def _held(reading: Reading, alert: Alert | None) -> Reading:
    """A falling value does not lower an open alert's severity: the reading at the alert's
    level, so grouping weighs the alert as the operator sees it."""
    if alert is None or SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[reading.severity]:
        return reading
    return Reading(alert.severity, reading.value, reading.threshold, reading.message,
                   reading.unit)


class AlertEngine:
    def __init__(self, settings: AlertSettings, command_expiry_seconds: float = 30.0) -> None:
        self.settings = settings
        self.feeds = AlertFeeds(settings)
        self.grouper = Grouper(settings)
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
        self.grouper.trim(now)
        self.evaluations += 1
        self.last_evaluation = now
        return changed

    def _discover(self, ctx: WriteContext) -> None:
        """Load the workspaces that have something to watch, so a restart misses nothing;
        approvals whose session ended while nothing watched expire now."""
        rows = ctx.conn.execute(
            "SELECT workspace FROM sessions WHERE status IN ('running','waiting','paused')"
            " UNION SELECT workspace FROM alerts WHERE status IN ('open','acked')"
            " UNION SELECT workspace FROM approvals WHERE status = 'pending'"
        ).fetchall()
        for (workspace,) in rows:
            approvals.expire_orphans(ctx, workspace)
        self._discovered = True

    def _evaluate_workspace(self, ctx: WriteContext, workspace: str, now: float) -> int:
        feeds = self.feeds.feeds(ctx, workspace)
        fleet = feeds.fleet
        changed = 0
        for alert in list(fleet.alerts.values()):  # subjects that ended take their alerts
            why = grouping.ended(fleet, alert.subject_type, alert.subject_id)
            if why is not None:
                self._resolve(ctx, workspace, alert, now, why, ended=True)
                changed += 1
        open_alerts = {grouping.key_of(a): a for a in list(fleet.alerts.values())}
        open_subjects: dict[tuple[str, str], set[str]] = {}
        for k in open_alerts:
            if not k.rollup:
                open_subjects.setdefault((k.rule, k.subject_type), set()).add(k.subject_id)
        ev = Evaluation(ctx, workspace, feeds, self.feeds, self.settings, now, open_subjects)
        # why an alert that no longer fires on its own resolves, when another speaks for it
        absorbed: dict[Key, str] = {}
        for check in CHECKS:
            try:
                readings = check.read(ev)
            except Exception:  # a broken rule must not take ingest down with it
                log.exception("alert rule %s/%s failed", check.rule, check.subject_type)
                for k in [k for k in open_alerts if (k.rule, k.subject_type) == (
                        check.rule, check.subject_type) or (k.rule == check.rule and k.rollup
                                                           and check.subject_type == "session")]:
                    del open_alerts[k]  # unknown is not clear: leave its alerts as they are
                continue
            readings = {s: r for s, r in readings.items()
                        if grouping.ended(fleet, check.subject_type, s) is None}
            action = check.action(self.settings)
            firings = [Firing(Key(check.rule, check.subject_type, s), r, action)
                       for s, r in readings.items()]
            if check.subject_type == "session":
                firings = self._group(workspace, check.rule, readings, fleet, now, action,
                                      open_alerts, absorbed)
            for firing in firings:
                changed += self._fire(ctx, workspace, open_alerts.pop(firing.key, None),
                                      firing, now, absorbed)
        for k, alert in open_alerts.items():  # nothing fires for them any more
            self._resolve(ctx, workspace, alert, now, absorbed.get(k, CLEARED))
            changed += 1
        return changed

    def _fire(self, ctx: WriteContext, workspace: str, alert: Alert | None, firing: Firing,
              now: float, absorbed: dict[Key, str]) -> int:
        """Raise, re-open, escalate or refresh the alert of one firing identity."""
        key, reading, rolled = firing.key, firing.reading, firing.rollup
        if alert is None:
            previous = self.grouper.cleared(workspace, key, now)
            alert = self._raise(ctx, workspace, firing, now, previous)
            changed = 1
        elif SEVERITY_RANK[reading.severity] > SEVERITY_RANK[alert.severity]:
            alert = self._escalate(ctx, workspace, alert, firing, now)
            changed = 1
        else:
            alert, changed = self._refresh(ctx, workspace, alert, firing, now)
        if rolled is not None:
            for sid in rolled.recent:
                absorbed[Key(key.rule, "session", sid)] = \
                    f"rolled up into the agent's alert {alert.id}"
        return changed

    def _group(self, workspace: str, rule: str, readings: dict[str, Reading], fleet: Fleet,
               now: float, action: str, open_alerts: dict[Key, Alert],
               absorbed: dict[Key, str]) -> list[Firing]:
        """A per-session rule's firings after roll-up and cover by the agent's own alert."""
        agent_alerts = {a.subject_id: a for a in fleet.alerts.values()
                        if a.rule == rule and a.subject_type == "agent" and not a.rollup}
        rolled_agents = {k.subject_id for k in open_alerts if k.rollup and k.rule == rule}
        readings = {sid: _held(r, open_alerts.get(Key(rule, "session", sid)))
                    for sid, r in readings.items()}
        split = self.grouper.roll_up(
            workspace, rule, readings, fleet, now, rolled_agents,
            {agent_id: SEVERITY_RANK[a.severity] for agent_id, a in agent_alerts.items()})
        for sid in split.covered:
            agent_alert = agent_alerts[fleet.sessions[sid].agent_id]
            absorbed[Key(rule, "session", sid)] = f"covered by the agent's alert {agent_alert.id}"
        for agent_id, agent_alert in agent_alerts.items():  # a roll-up it makes redundant
            if agent_id not in split.rolled:
                absorbed[Key(rule, "agent", agent_id, True)] = \
                    f"covered by the agent's alert {agent_alert.id}"
        return [Firing(Key(rule, "session", s), r, action) for s, r in split.single.items()] + [
            Firing(Key(rule, "agent", agent_id, True), r.reading, action, r)
            for agent_id, r in split.rolled.items()]

    def _rollup_fields(self, ctx: WriteContext, workspace: str, key: Key,
                       alert: Alert | None, rolled: RollupReading) -> dict[str, Any]:
        listed, new = grouping.merged_sessions(alert, rolled.recent)
        label = _agent_label(ctx.fleet(workspace), key.subject_id)
        text = grouping.rollup_message(label, rolled,
                                       self.settings.grouping.rollup_window_minutes)
        return {"sessions": listed, "count": (alert.count if alert else 0) + new,
                "rollup": True, "message": text}
    def _raise(self, ctx: WriteContext, workspace: str, firing: Firing, now: float,
               previous: Alert | None) -> Alert:
        """A new alert, or the one that cleared a moment ago raised again (a repeat)."""
        key, reading = firing.key, firing.reading
        targets = actions.targets(ctx, workspace, firing)
        fields: dict[str, Any] = {
            "severity": reading.severity, "value": reading.value,
            "threshold": reading.threshold, "status": "open", "raised_at": now,
            "updated_at": now, "last_seen": now, "last_value": reading.value,
        }
        text = reading.message
        if firing.rollup is not None:
            fields |= self._rollup_fields(ctx, workspace, key, previous, firing.rollup)
            text = fields.pop("message")
        fields["message"] = self._message(reading, targets, text)
        if previous is not None:
            fields.setdefault("count", previous.count + 1)
            alert = previous.model_copy(update={
                **fields, "resolved_at": None, "resolved_reason": None, "acked_by": None,
                "acked_at": None})
        else:
            alert = Alert(id="alr_" + secrets.token_hex(8), rule=key.rule,
                          subject_type=key.subject_type, subject_id=key.subject_id,
                          first_seen=now, **fields)
        _emit(ctx, workspace, "alert.raised", alert)
        actions.pause(ctx, workspace, alert, targets, self.command_expiry_seconds)
        return alert

    def _escalate(self, ctx: WriteContext, workspace: str, alert: Alert, firing: Firing,
                  now: float) -> Alert:
        reading = firing.reading
        targets = actions.targets(ctx, workspace, firing)
        fields: dict[str, Any] = {
            "severity": reading.severity, "value": reading.value,
            "threshold": reading.threshold, "updated_at": now, "status": "open",
            "acked_by": None, "acked_at": None, "last_seen": now,
            "last_value": reading.value,
        }
        text = reading.message
        if firing.rollup is not None:
            fields |= self._rollup_fields(ctx, workspace, firing.key, alert, firing.rollup)
            text = fields.pop("message")
        fields["message"] = self._message(reading, targets, text)
        updated = alert.model_copy(update=fields)
        _emit(ctx, workspace, "alert.updated", updated)
        actions.pause(ctx, workspace, updated, targets,
                      self.command_expiry_seconds)
        return updated

    def _refresh(self, ctx: WriteContext, workspace: str, alert: Alert, firing: Firing,
                 now: float) -> tuple[Alert, int]:
        """Still firing: say so now and then (`last_seen`), and at once when a roll-up
        gains a session."""
        fields: dict[str, Any] = {}
        if firing.rollup is not None:
            fields = self._rollup_fields(ctx, workspace, firing.key, alert, firing.rollup)
            if fields["count"] == alert.count:
                fields = {}
            else:  # the severity words stay those of the level it reached
                fields["message"] = self._message(
                    Reading(alert.severity, alert.value, alert.threshold, fields["message"],
                            firing.reading.unit), [], fields["message"])
        due = now - alert.last_seen >= self.settings.seconds(
            self.settings.grouping.refresh_minutes)
        if not fields and not due:
            return alert, 0
        updated = alert.model_copy(update={**fields, "last_seen": now, "updated_at": now,
                                           "last_value": firing.reading.value})
        _emit(ctx, workspace, "alert.refreshed", updated)
        return updated, 0

    def _resolve(self, ctx: WriteContext, workspace: str, alert: Alert, now: float,
                 why: str, ended: bool = False) -> None:
        resolved = alert.model_copy(update={"status": "resolved", "resolved_at": now,
                                            "updated_at": now, "resolved_reason": why})
        _emit(ctx, workspace, "alert.resolved", resolved)
        if ended:  # nobody will act on it again
            self.grouper.forget(workspace, grouping.key_of(resolved))
        else:  # cleared, or another alert speaks for it: firing again re-opens it
            self.grouper.remember_cleared(workspace, resolved)

    @staticmethod
    def _message(reading: Reading, targets: list[str], text: str) -> str:
        text = f"{text} ({reading.severity} at {_fmt(reading.threshold, reading.unit)})"
        if targets:
            text += f"; pausing {len(targets)} session{'s' if len(targets) > 1 else ''}"
        return text

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
