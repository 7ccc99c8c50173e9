"""SQLite schema and connection settings.

Durability choice: WAL with `synchronous=FULL`. Every commit fsyncs the WAL, so a batch the
server acknowledged survives a SIGKILL *and* a power loss or kernel panic (as far as the disk
honours fsync). `NORMAL` would survive a process crash but could lose the last commits on
power loss; group commit makes one fsync cover many requests, so FULL costs little throughput
and we do not have to explain to an operator why an acknowledged event vanished.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from agentops_tui.server.store.migrations import (
    STEPS,
    DatabaseUnusable,
    refuse_newer,
    run_step,
)

__all__ = ["DDL", "DatabaseUnusable", "connect", "migrate", "open_database"]


DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    session_id TEXT,
    event_key TEXT,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (workspace, event_key)
    WHERE event_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS agents (
    workspace TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    last_seen REAL NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    workspace TEXT NOT NULL, id TEXT NOT NULL, agent_id TEXT NOT NULL,
    parent_session_id TEXT, task_id TEXT, status TEXT NOT NULL, model TEXT,
    started_at REAL NOT NULL, last_activity REAL NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (workspace, started_at, id);
CREATE INDEX IF NOT EXISTS sessions_active ON sessions (workspace, status);
-- an agent's sessions: its messages across them (seed 002's /agents/{id}/messages joins
-- these ids to messages) and `GET /sessions?agent_id=`, newest first
CREATE INDEX IF NOT EXISTS sessions_agent ON sessions (workspace, agent_id, started_at, id);
CREATE TABLE IF NOT EXISTS messages (
    workspace TEXT NOT NULL, session_id TEXT NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (workspace, session_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS approvals (
    workspace TEXT NOT NULL, id TEXT NOT NULL, session_id TEXT NOT NULL,
    status TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commands (
    workspace TEXT NOT NULL, id TEXT NOT NULL, session_id TEXT NOT NULL,
    agent_id TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
    workspace TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, workspace TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, payload TEXT, result TEXT NOT NULL, address TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (workspace, ts);
-- costs and metrics: rollups folded from the log by the state checkpoint (store/rollup_fold.py)
CREATE TABLE IF NOT EXISTS cost_rollup (
    workspace TEXT NOT NULL, minute INTEGER NOT NULL, agent_id TEXT NOT NULL,
    task_id TEXT NOT NULL, model TEXT NOT NULL, cost_e10 INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    usage_events INTEGER NOT NULL, unpriced_events INTEGER NOT NULL,
    PRIMARY KEY (workspace, minute, agent_id, task_id, model)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cost_rollup_agent ON cost_rollup (workspace, agent_id, minute);
CREATE INDEX IF NOT EXISTS cost_rollup_task ON cost_rollup (workspace, task_id, minute);
CREATE TABLE IF NOT EXISTS cost_sessions (
    workspace TEXT NOT NULL, session_id TEXT NOT NULL, model TEXT NOT NULL,
    agent_id TEXT NOT NULL, task_id TEXT NOT NULL, last_ts REAL NOT NULL,
    PRIMARY KEY (workspace, session_id, model)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cost_sessions_ts ON cost_sessions (workspace, last_ts);
CREATE TABLE IF NOT EXISTS tool_rollup (
    workspace TEXT NOT NULL, minute INTEGER NOT NULL, tool TEXT NOT NULL,
    agent_id TEXT NOT NULL, calls INTEGER NOT NULL, errors INTEGER NOT NULL,
    timed_calls INTEGER NOT NULL, duration_ms REAL NOT NULL,
    PRIMARY KEY (workspace, minute, tool, agent_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_runs (
    workspace TEXT NOT NULL, session_id TEXT NOT NULL, agent_id TEXT NOT NULL,
    task_id TEXT, status TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL NOT NULL,
    duration REAL NOT NULL,
    PRIMARY KEY (workspace, session_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS session_runs_agent ON session_runs (workspace, agent_id, ended_at);
CREATE INDEX IF NOT EXISTS session_runs_ended ON session_runs (workspace, ended_at);
CREATE TABLE IF NOT EXISTS alerts (
    workspace TEXT NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL,
    subject_type TEXT NOT NULL, subject_id TEXT NOT NULL, severity TEXT NOT NULL,
    status TEXT NOT NULL, raised_at REAL NOT NULL, data TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1, last_seen REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (workspace, status, raised_at);
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (workspace, raised_at);
-- work queues: task rows are written by the job that changes them (not at flush), so a
-- dequeue later in the same group commit already sees the task as taken
CREATE TABLE IF NOT EXISTS work_queues (
    workspace TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, team_id TEXT,
    created_at REAL NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    workspace TEXT NOT NULL, id TEXT NOT NULL, queue_id TEXT NOT NULL, status TEXT NOT NULL,
    priority INTEGER NOT NULL, deadline REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    assignee TEXT, breached INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_pick ON tasks (workspace, queue_id, status, priority);
CREATE INDEX IF NOT EXISTS tasks_updated ON tasks (workspace, updated_at);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (status, deadline) WHERE breached = 0;
CREATE INDEX IF NOT EXISTS sessions_task ON sessions (workspace, task_id)
    WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_parent ON sessions (workspace, parent_session_id)
    WHERE parent_session_id IS NOT NULL;
-- OTLP: every span seen and the session it belongs to (`owner`; NULL while its parent chain
-- is incomplete, then `pending` holds its events), so split exports build one tree
CREATE TABLE IF NOT EXISTS otlp_spans (
    workspace TEXT NOT NULL, trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
    parent_id TEXT NOT NULL, kind TEXT NOT NULL, agent_id TEXT, session_id TEXT, owner TEXT,
    service TEXT NOT NULL, pending TEXT, end_ts REAL NOT NULL, seen_at REAL NOT NULL,
    PRIMARY KEY (workspace, trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS otlp_spans_pending ON otlp_spans (workspace, end_ts)
    WHERE owner IS NULL;
CREATE INDEX IF NOT EXISTS otlp_spans_seen ON otlp_spans (seen_at);
-- Claude Code hooks: tool calls announced by PreToolUse, awaiting their PostToolUse
CREATE TABLE IF NOT EXISTS claude_tool_starts (
    workspace TEXT NOT NULL, session_id TEXT NOT NULL, tool_key TEXT NOT NULL,
    tool TEXT NOT NULL, started_at REAL NOT NULL,
    PRIMARY KEY (workspace, session_id, tool_key)
) WITHOUT ROWID;
-- Claude Code hooks held by the console (a pause, a permission awaiting its decision): what
-- the held event needs to be answered when the wait ends
CREATE TABLE IF NOT EXISTS claude_waits (
    workspace TEXT NOT NULL, id TEXT NOT NULL, session_id TEXT NOT NULL,
    kind TEXT NOT NULL, held TEXT NOT NULL, approval_id TEXT, created_at REAL NOT NULL,
    PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claude_waits_session ON claude_waits (workspace, session_id);
-- a redirect's instruction, given again when the session next tries to stop
CREATE TABLE IF NOT EXISTS claude_followups (
    workspace TEXT NOT NULL, session_id TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (workspace, session_id)
) WITHOUT ROWID;
-- the notifications delivery log: one row per message sent to a channel (or given up on);
-- `channel` is the masked URL, never the secret
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, workspace TEXT NOT NULL,
    rule TEXT NOT NULL, channel TEXT NOT NULL, kinds TEXT NOT NULL, count INTEGER NOT NULL,
    title TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT,
    first_event_id INTEGER, last_event_id INTEGER
);
CREATE INDEX IF NOT EXISTS notifications_workspace ON notifications (workspace, id);
"""


def connect(
    path: Path | str, *, synchronous: str = "FULL", readonly: bool = False
) -> sqlite3.Connection:
    """Open a connection with the project's pragmas. Autocommit mode: we BEGIN explicitly."""
    if readonly:
        uri = f"file:{Path(path).as_posix()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        _create_private(Path(path))
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA cache_size = -32000")
    return conn


def _create_private(path: Path) -> None:
    """Create a missing database file readable by its owner only: it holds prompts, outputs
    and token hashes. SQLite gives the -wal and -shm files the database file's permissions."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The version the database records; None for one with no schema yet."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    row = conn.execute(
        "SELECT value FROM meta WHERE key = 'schema_version'"
    ).fetchone() if has_meta else None
    return None if row is None else int(row[0])


def migrate(conn: sqlite3.Connection) -> tuple[int | None, int]:
    """Create or upgrade the schema. Returns (version found, version now). A newer schema is
    refused (DatabaseUnusable) before anything is changed."""
    from agentops_tui.server.store.migrations import SCHEMA_VERSION

    found = schema_version(conn)
    refuse_newer(found)
    if found is not None and found < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                run_step(conn, STEPS["sqlite"][version])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                         (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    conn.executescript(DDL)
    if found is None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    return found, SCHEMA_VERSION


def _add_alert_grouping(conn: sqlite3.Connection) -> None:
    """Schema 1 → 2: alerts count their repeats and when they were last seen."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(alerts)")}
    if not columns:  # no alerts table yet: the DDL makes it whole
        return
    if "count" not in columns:
        conn.execute("ALTER TABLE alerts ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
    if "last_seen" not in columns:
        conn.execute("ALTER TABLE alerts ADD COLUMN last_seen REAL NOT NULL DEFAULT 0")
        conn.execute("UPDATE alerts SET last_seen = raised_at")


STEPS["sqlite"][2] = _add_alert_grouping
# Schema 2 → 3: `sessions_agent`, an index of each agent's sessions. New indexes come with
# the DDL, which runs after the steps on every open, so the step itself has nothing to do.
STEPS["sqlite"][3] = ""


def open_database(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if need be) and migrate the database at `path`.

    Raises DatabaseUnusable, naming the file, where it cannot be: a folder that cannot be
    made, a file that is not a database, no permission, a newer schema.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path, synchronous=synchronous)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnusable(f"cannot open the database {path}: {exc}") from None
    try:
        migrate(conn)
    except DatabaseUnusable as exc:
        conn.close()
        raise DatabaseUnusable(f"{path}: {exc}") from None
    except sqlite3.Error as exc:
        conn.close()
        raise DatabaseUnusable(f"cannot use the database {path}: {exc}") from None
    return conn
