"""The delivery log: one `notifications` row per message sent (or given up on), written by
a writer job together with its audit entry, and read by `GET /api/v1/notifications`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentops_tui.reports import Delivery
from agentops_tui.server import audit
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.write_context import WriteContext

ACTOR = "system:notify"




@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery came to, before it has a row id."""

    workspace: str
    rule: str
    channel: str
    kinds: tuple[str, ...]
    count: int
    title: str
    status: str
    attempts: int
    error: str | None
    first_event_id: int | None
    last_event_id: int | None

    def record(self, ctx: WriteContext) -> None:
        """The writer job: the log row and its audit entry, in one transaction."""
        ctx.conn.execute(
            "INSERT INTO notifications (ts, workspace, rule, channel, kinds, count, title,"
            " status, attempts, error, first_event_id, last_event_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ctx.now, self.workspace, self.rule, self.channel, json.dumps(list(self.kinds)),
             self.count, self.title, self.status, self.attempts, self.error,
             self.first_event_id, self.last_event_id),
        )
        payload: dict[str, Any] = {"channel": self.channel, "kinds": list(self.kinds),
                                   "count": self.count, "attempts": self.attempts}
        result = self.status if self.error is None else f"{self.status}: {self.error}"
        audit.record(ctx.conn, audit.Actor(ACTOR, self.workspace), f"notify.{self.status}",
                     self.rule, payload, result, ctx.now)


_COLUMNS = ("id, ts, workspace, rule, channel, kinds, count, title, status, attempts, error,"
            " first_event_id, last_event_id")


def query(conn: Connection, workspace: str, *, before: int | None = None,
          rule: str | None = None, status: str | None = None,
          limit: int = 100) -> list[Delivery]:
    """The workspace's deliveries, newest first; `before` (an id) pages back."""
    sql = f"SELECT {_COLUMNS} FROM notifications WHERE workspace = ?"
    args: list[Any] = [workspace]
    if before is not None:
        sql += " AND id < ?"
        args.append(before)
    if rule is not None:
        sql += " AND rule = ?"
        args.append(rule)
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    names = [c.strip() for c in _COLUMNS.split(",")]
    deliveries = []
    for row in conn.execute(sql, args).fetchall():
        item = dict(zip(names, row, strict=True))
        item["kinds"] = json.loads(item["kinds"])
        deliveries.append(Delivery.model_validate(item))
    return deliveries
