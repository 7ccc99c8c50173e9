"""SQLite schema (the tables of `schema_tables`, rendered for SQLite) and connection settings.

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
from agentops_tui.server.store.schema_tables import render

__all__ = ["DDL", "DatabaseUnusable", "connect", "migrate", "open_database"]


DDL = render("sqlite")


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
