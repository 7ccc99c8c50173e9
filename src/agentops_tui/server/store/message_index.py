"""The messages table, copied from the log at most once a second.

A session's messages are stored in session order, so its feed reads as one range. That
order costs writes: every commit dirties the last page of each session that got a message,
and with messages in every group commit that was half of an ingest commit's time. The rows
are derived from `session.message` events, which are durable in the log from the commit
that acknowledges them, so the writer copies them into the table at most once a second and
records in `meta` how far it got (`messages_through`). Reads add the rows not copied yet;
after a crash the store copies the rest from the log when it opens.
"""

from __future__ import annotations

import json
import sqlite3
import threading

# (workspace, session_id, seq, role, content, ts): the messages table's columns
MessageRow = tuple[str, str, int, str, str, float]

INSERT_SQL = (
    "INSERT OR REPLACE INTO messages (workspace, session_id, seq, role, content, ts)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
THROUGH_KEY = "messages_through"
COPY_INTERVAL_SECONDS = 1.0


class MessageIndex:
    """Message rows committed in the log but not yet in the messages table.

    The writer thread adds and copies rows; request threads read them for one session. Every
    `session.message` event with an id up to `through` has its row in the table.
    """

    def __init__(self, through: int, interval: float = COPY_INTERVAL_SECONDS) -> None:
        self.through = through
        self.interval = interval
        self._pending: list[MessageRow] = []
        self._by_session: dict[tuple[str, str], list[MessageRow]] = {}
        self._since: float | None = None  # when the oldest pending row was committed
        self._lock = threading.Lock()

    def wait_seconds(self, now: float) -> float | None:
        """How long until the pending rows are due (None: nothing is pending)."""
        if self._since is None:
            return None
        return max(0.0, self._since + self.interval - now)

    def due(self, now: float) -> bool:
        wait = self.wait_seconds(now)
        return wait is not None and wait <= 0.0

    def write(self, conn: sqlite3.Connection, rows: list[MessageRow], through: int) -> None:
        """Inside the writer's open transaction: copy the pending rows and `rows`."""
        copied = self._pending + rows
        if copied:
            conn.executemany(INSERT_SQL, copied)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (THROUGH_KEY, str(through))
        )

    def written(self, through: int) -> None:
        """The transaction that ran `write` committed."""
        with self._lock:
            self._pending = []
            self._by_session = {}
            self._since = None
            self.through = through

    def committed(self, rows: list[MessageRow], now: float) -> None:
        """A group committed these rows' events without copying them: they wait here."""
        if not rows:
            return
        with self._lock:
            self._pending.extend(rows)
            for row in rows:
                self._by_session.setdefault((row[0], row[1]), []).append(row)
            if self._since is None:
                self._since = now

    def postpone(self, now: float) -> None:
        """Copying failed: the rows wait one more interval rather than retrying at once."""
        if self._since is not None:
            self._since = now

    def pending_for(self, workspace: str, session_id: str) -> list[MessageRow]:
        """This session's rows not yet in the table, oldest first."""
        with self._lock:
            return list(self._by_session.get((workspace, session_id), ()))


def open_index(conn: sqlite3.Connection) -> MessageIndex:
    """On opening the store: copy any messages the log has and the table lacks (a crash).

    A database without the marker had every message copied in the same commit as its event,
    so it starts from the newest event.
    """
    newest = int(conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0)
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (THROUGH_KEY,)).fetchone()
    through = newest if row is None else int(row[0])
    rows: list[MessageRow] = []
    for workspace, ts, data in conn.execute(
        "SELECT workspace, ts, data FROM events WHERE id > ? AND type = 'session.message'"
        " ORDER BY id", (through,)
    ):
        m = json.loads(data)
        rows.append((workspace, m["session_id"], int(m["seq"]), m["role"], m["content"], ts))
    index = MessageIndex(through)
    if row is None or newest > through:
        conn.execute("BEGIN IMMEDIATE")
        try:
            index.write(conn, rows, newest)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        index.written(newest)
    return index
