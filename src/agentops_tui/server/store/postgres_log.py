"""The log on PostgreSQL: how a group commit takes its ids and appends its rows.

Each group commit locks the `log_head` counter row (`SELECT … FOR UPDATE`) as it begins, so
group commits of every process sharing the database run their appends one after another:
id order is commit order, with no gaps (a sequence would hand out ids that commit out of
order, and a reader following the log would step over the slower writer's rows). Rows
another process appended since this one last looked are folded in first (with the
reactions that keep derived state, such as the alert feeds), then the group
takes the next ids, appends its rows with COPY, moves the counter and `pg_notify`s the new
head, all in one transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.postgres_connection import PgConnection
from agentops_tui.server.store.write_context import LoggedEvent, LogRow

if TYPE_CHECKING:
    from agentops_tui.server.store.write_context import WriteContext
    from agentops_tui.server.store.writer import Writer

NOTIFY_CHANNEL = "agentops_log"
_COPY = ("COPY events (id, workspace, type, ts, session_id, event_key, data)"
         " FROM STDIN (FORMAT BINARY)")
_COPY_TYPES = ["int8", "text", "text", "float8", "text", "text", "text"]


class PostgresLog:
    """Writer-thread only."""

    def __init__(self) -> None:
        self._head = 0  # the counter as this group found it

    def begin(self, writer: Writer, ctx: WriteContext) -> None:
        conn = ctx.conn
        conn.execute("BEGIN")
        row = conn.execute("SELECT head FROM log_head WHERE id = 1 FOR UPDATE").fetchone()
        head = int(row[0])
        if head > writer.committed_id:  # appended by another process: folded first
            for event in _logged_after(conn, writer.committed_id, head):
                ctx.refold(event)
                writer.follow(ctx, event)
                ctx.events.append(event)
            writer.next_event_id = head + 1
        self._head = head

    def append(self, conn: Connection, rows: list[LogRow]) -> None:
        assert isinstance(conn, PgConnection)
        with conn.raw.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(row)

    def end(self, conn: Connection, newest: int) -> None:
        if newest > self._head:
            conn.execute(
                "WITH moved AS (UPDATE log_head SET head = ? WHERE id = 1)"
                " SELECT pg_notify(?, ?)", (newest, NOTIFY_CHANNEL, str(newest)))
    def stored_through(self, conn: Connection, *, lock: bool) -> int | None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'state_through'"
                           + (" FOR UPDATE" if lock else "")).fetchone()
        return None if row is None else int(row[0])

    def logged_keys(self, conn: Connection, workspace: str, keys: list[str]) -> set[str]:
        # one unique-index probe per key, whatever the planner's statistics say (a fresh log
        # has none, and it would scan every keyed row for a batch's keys instead)
        rows = conn.execute(
            "SELECT k.key FROM unnest(?::text[]) AS k(key) CROSS JOIN LATERAL"
            " (SELECT 1 FROM events e WHERE e.workspace = ? AND e.event_key = k.key LIMIT 1)"
            " AS hit", (keys, workspace)).fetchall()
        return {r[0] for r in rows}


def _logged_after(conn: Connection, after: int, through: int) -> list[LoggedEvent]:
    rows: list[Any] = conn.execute(
        "SELECT id, workspace, type, ts, data FROM events WHERE id > ? AND id <= ?"
        " ORDER BY id", (after, through)).fetchall()
    return [LoggedEvent(i, kind, ts, ws, json.loads(raw), raw) for i, ws, kind, ts, raw in rows]


def log_head(conn: Connection) -> int:
    row = conn.execute("SELECT head FROM log_head WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])
