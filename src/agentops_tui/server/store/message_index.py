"""Message rows committed in the log but not yet in the messages table.

A session's messages are stored in session order, so its feed reads as one range. That
order costs writes: every commit dirties the last page of each session that got a message,
and with messages in every group commit that was half of an ingest commit's time. The rows
are derived from `session.message` events, which are durable in the log from the commit
that acknowledges them, so they reach their table with the rest of the state checkpoint
(`checkpoint`), at most a second later. Reads add the rows not copied yet; after a crash
the store folds the rest from the log when it opens.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import upsert

# (workspace, session_id, seq, role, content, ts): the messages table's columns
MessageRow = tuple[str, str, int, str, str, float]

INSERT_SQL = upsert("messages", ("workspace", "session_id", "seq", "role", "content", "ts"),
                    ("workspace", "session_id", "seq"))
# Databases written before the whole state was checkpointed kept only this marker: every
# other table was current at each commit, messages up to this id.
LEGACY_THROUGH_KEY = "messages_through"


def row_of(workspace: str, ts: float, data: dict[str, object]) -> MessageRow:
    """The messages row of one logged `session.message` event."""
    return (workspace, str(data["session_id"]), int(data["seq"]),  # type: ignore[call-overload]
            str(data["role"]), str(data["content"]), ts)


class MessageIndex:
    """A fold of the checkpoint (`checkpoint.Fold`): the rows of `session.message` events.
    The writer thread adds and writes them; request threads read the waiting rows of one
    session (under the index's own lock, never the writer's): those pending and those of
    the checkpoint in flight, which are not in the table either until it commits."""

    def __init__(self) -> None:
        self._group: list[MessageRow] = []
        self._pending: list[MessageRow] = []
        self._by_session: dict[tuple[str, str], list[MessageRow]] = {}
        self._flight: list[MessageRow] = []
        self._flight_by_session: dict[tuple[str, str], list[MessageRow]] = {}
        # how many of the pending rows each committed group added, oldest first (`release`)
        self._segments: list[int] = []
        self._flight_segments: list[int] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending) + len(self._flight)

    def handlers(self) -> dict[str, Callable[[Any, Any], None]]:
        return {"session.message": self._message}

    def _message(self, ctx: Any, event: Any) -> None:
        self._group.append(row_of(event.workspace, event.ts, event.data))

    def group_committed(self) -> None:
        """The group committed: its rows wait here (readable) until the checkpoint."""
        rows, self._group = self._group, []
        self._segments.append(len(rows))  # one per committed group, empty or not
        if not rows:
            return
        with self._lock:
            self._pending.extend(rows)
            for row in rows:
                self._by_session.setdefault((row[0], row[1]), []).append(row)

    def take(self) -> Callable[[Connection], None] | None:
        """Every waiting row goes in flight (still readable here until it landed)."""
        with self._lock:
            rows, self._flight, self._pending = self._pending, self._pending, []
            self._flight_segments, self._segments = self._segments, []
            self._flight_by_session, self._by_session = self._by_session, {}
        if not rows:
            return None

        def write(conn: Connection) -> None:
            conn.executemany(INSERT_SQL, rows)

        return write

    def committed(self) -> None:
        """Readers merge by seq: a row both here and in the table is shown once."""

    def landed(self) -> None:
        """The checkpoint committed: the rows in flight are in the table."""
        with self._lock:
            self._flight = []
            self._flight_by_session = {}
            self._flight_segments = []

    def restore(self) -> None:
        """The checkpoint failed: its rows wait again, before those that came since."""
        with self._lock:
            self._pending = self._flight + self._pending
            for key, rows in self._by_session.items():
                self._flight_by_session.setdefault(key, []).extend(rows)
            self._by_session = self._flight_by_session
            self._flight = []
            self._flight_by_session = {}
            self._segments = self._flight_segments + self._segments
            self._flight_segments = []

    def drop(self) -> None:
        self._group = []
        with self._lock:
            self._pending = []
            self._by_session = {}
            self._segments = []

    def release(self, segments: int) -> None:
        """Another replica's checkpoint holds the oldest `segments` committed groups: their
        rows are in the table and stop waiting here (none in flight)."""
        with self._lock:
            count = sum(self._segments[:segments])
            self._segments = self._segments[segments:]
            self._pending = self._pending[count:]
            by_session: dict[tuple[str, str], list[MessageRow]] = {}
            for row in self._pending:
                by_session.setdefault((row[0], row[1]), []).append(row)
            self._by_session = by_session

    def pending_for(self, workspace: str, session_id: str) -> list[MessageRow]:
        """This session's rows not yet in the table, oldest first."""
        key = (workspace, session_id)
        with self._lock:
            return [*self._flight_by_session.get(key, ()), *self._by_session.get(key, ())]


def copy_legacy(conn: Connection, newest: int) -> None:
    """A database from before the state checkpoint: copy the message rows its log has past
    `messages_through` (inside the caller's transaction) and drop that marker."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (LEGACY_THROUGH_KEY,)).fetchone()
    if row is None:
        return
    rows = [
        row_of(workspace, ts, json.loads(data))
        for workspace, ts, data in conn.execute(
            "SELECT workspace, ts, data FROM events WHERE id > ? AND id <= ?"
            " AND type = 'session.message' ORDER BY id", (int(row[0]), newest))
    ]
    if rows:
        conn.executemany(INSERT_SQL, rows)
    conn.execute("DELETE FROM meta WHERE key = ?", (LEGACY_THROUGH_KEY,))
