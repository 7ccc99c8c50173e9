"""Alert rows: written with the events that announce them, read newest first.

The `alerts` table keeps every alert (open, acked, resolved) as its last event said it;
`count` and `last_seen` are columns too, for queries that sort or filter on them.
"""

from __future__ import annotations

from typing import Any

from agentops_tui.models import Alert
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import placeholders, upsert
from agentops_tui.server.store.write_context import WriteContext

SAVE_SQL = upsert(
    "alerts",
    ("workspace", "id", "rule", "subject_type", "subject_id", "severity", "status",
     "raised_at", "data", "count", "last_seen"),
    ("workspace", "id"),
)


def save(conn: Connection, workspace: str, alert: Alert) -> None:
    conn.execute(
        SAVE_SQL,
        (workspace, alert.id, alert.rule, alert.subject_type, alert.subject_id,
         alert.severity, alert.status, alert.raised_at, alert.model_dump_json(),
         alert.count, alert.last_seen),
    )


def emit(ctx: WriteContext, workspace: str, kind: str, alert: Alert) -> None:
    session_id = alert.subject_id if alert.subject_type == "session" else None
    ctx.emit(workspace, kind, alert.model_dump(), session_id=session_id)
    save(ctx.conn, workspace, alert)


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
