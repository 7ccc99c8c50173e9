"""`agentops db copy`: move an installation from a SQLite file to another database.

Every table is copied in primary-key order, a batch at a time; each batch commits together
with `copy_progress` in the target's `meta` (the table and the last key copied), so a copy
interrupted anywhere continues where it stopped when run again and never copies a row
twice. The target must be empty (or hold an unfinished copy of the same file), and a store
refuses to open it until the copy has finished. Both databases are locked as a running
backend locks them: copy from a stopped server. At the end the row counts of every table
are compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentops_tui.server.store.backends import open_backend, open_connection
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.database_url import DatabaseUrl, UnsupportedDatabase
from agentops_tui.server.store.dialect import BEGIN_WRITE, SET_META, placeholders
from agentops_tui.server.store.failures import rollback

PROGRESS_KEY = "copy_progress"
# meta rows that belong to the target itself, never copied over it
_OWN_META = {"schema_version", PROGRESS_KEY}
BATCH_ROWS = 5000


class CopyRefused(Exception):
    """The copy cannot start; the message says why."""


@dataclass
class CopyReport:
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # table → (from, to)
    replaced_nul: int = 0  # text values whose NUL characters became U+FFFD
    resumed: bool = False

    @property
    def verified(self) -> bool:
        return all(a == b for a, b in self.counts.values())


@dataclass
class _Table:
    name: str
    columns: list[str]
    key: list[str]


def _tables(source: Connection) -> list[_Table]:
    names = [r[0] for r in source.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name").fetchall()]
    tables = []
    for name in names:
        info = source.execute(f"PRAGMA table_info({name})").fetchall()
        columns = [r[1] for r in info]
        key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        tables.append(_Table(name, columns, key or ["rowid"]))
    return [t for t in tables if t.name != "meta"]


def copy_database(
    source_url: DatabaseUrl, target_url: DatabaseUrl, *,
    batch_rows: int = BATCH_ROWS, progress: Callable[[str], None] = print,
) -> CopyReport:
    if source_url.is_postgres:
        raise UnsupportedDatabase("db copy reads from a SQLite file (--from sqlite:///path)")
    source_path = str(source_url.sqlite_path().resolve())
    if source_url == target_url or (not target_url.is_postgres
                                    and str(target_url.sqlite_path().resolve()) == source_path):
        raise CopyRefused("--from and --to name the same database")
    if not source_url.sqlite_path().exists():
        raise CopyRefused(f"there is no database {source_path}")
    # locked as a backend would: nothing may write either while rows move
    source_lock = open_backend(source_url).lock
    target_lock = open_backend(target_url).lock
    source_lock.acquire()
    try:
        # a PostgreSQL target: no replica may be connected, leading or not
        getattr(target_lock, "acquire_alone", target_lock.acquire)()
        try:
            return _copy(source_url, target_url, source_path, batch_rows, progress)
        finally:
            target_lock.release()
    finally:
        source_lock.release()


def _copy(source_url: DatabaseUrl, target_url: DatabaseUrl, source_path: str,
          batch_rows: int, progress: Callable[[str], None]) -> CopyReport:
    source = open_connection(source_url)
    target = open_connection(target_url)
    report = CopyReport()
    try:
        tables = _tables(source)
        state = _start(target, tables, source_path)
        report.resumed = bool(state.get("done") or state.get("after"))
        if report.resumed:
            progress(f"resuming the copy from {source_path}")
        for table in tables:
            if table.name in state["done"]:
                continue
            report.replaced_nul += _copy_table(source, target, table, state, batch_rows,
                                               progress, target_url.is_postgres)
        _finish(source, target, target_url.is_postgres)
        for table in [*tables, _Table("meta", [], [])]:
            count_from = int(source.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
            count_to = int(target.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
            if table.name == "meta":  # the target keeps its own schema version
                count_from -= int(source.execute(
                    "SELECT count(*) FROM meta WHERE key = 'schema_version'").fetchone()[0])
                count_to -= 1
            report.counts[table.name] = (count_from, count_to)
    finally:
        source.close()
        target.close()
    return report


def _start(target: Connection, tables: list[_Table], source_path: str) -> dict[str, Any]:
    row = target.execute("SELECT value FROM meta WHERE key = ?", (PROGRESS_KEY,)).fetchone()
    if row is not None:
        state: dict[str, Any] = json.loads(row[0])
        if state.get("source") != source_path:
            raise CopyRefused(f"the target holds an unfinished copy of {state.get('source')},"
                              f" not of {source_path}; finish that one first")
        return state
    for table in tables:
        if target.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None:
            raise CopyRefused(f"the target already holds data (table {table.name}); db copy"
                              " moves an installation into an empty database")
    state = {"source": source_path, "done": [], "table": None, "after": None}
    _save(target, state)
    return state


def _save(target: Connection, state: dict[str, Any]) -> None:
    target.execute(BEGIN_WRITE)
    target.execute(SET_META, (PROGRESS_KEY, json.dumps(state)))
    target.execute("COMMIT")


def _copy_table(source: Connection, target: Connection, table: _Table, state: dict[str, Any],
                batch_rows: int, progress: Callable[[str], None], postgres: bool) -> int:
    columns = ", ".join(table.columns)
    keys = ", ".join(table.key)
    insert = (f"INSERT INTO {table.name} ({columns})"
              f" VALUES ({placeholders(len(table.columns))})")
    key_at = [table.columns.index(k) for k in table.key]
    after = state["after"] if state["table"] == table.name else None
    copied = int(state.get("copied", 0)) if state["table"] == table.name else 0
    replaced = 0
    while True:
        where = f" WHERE ({keys}) > ({placeholders(len(table.key))})" if after else ""
        rows = source.execute(
            f"SELECT {columns} FROM {table.name}{where} ORDER BY {keys} LIMIT ?",
            (*(after or ()), batch_rows)).fetchall()
        if postgres:
            rows, changed = _storable(rows)
            replaced += changed
        target.execute(BEGIN_WRITE)
        try:
            if rows:
                target.executemany(insert, rows)
                after = [rows[-1][i] for i in key_at]
            copied += len(rows)
            done = len(rows) < batch_rows
            state.update(table=None if done else table.name, after=None if done else after,
                         copied=0 if done else copied)
            if done:
                state["done"].append(table.name)
            target.execute(SET_META, (PROGRESS_KEY, json.dumps(state)))
            target.execute("COMMIT")
        except BaseException:
            rollback(target)
            raise
        progress(f"copied {table.name}: {copied} rows")
        if done:
            return replaced


def _storable(rows: list[Any]) -> tuple[list[Any], int]:
    """PostgreSQL stores no NUL in text (SQLite does): such characters become U+FFFD."""
    changed = 0
    out = []
    for row in rows:
        if any(isinstance(v, str) and "\x00" in v for v in row):
            changed += sum(1 for v in row if isinstance(v, str) and "\x00" in v)
            row = tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
        out.append(row)
    return out, changed


def _finish(source: Connection, target: Connection, postgres: bool) -> None:
    """The markers (`state_through`, `pruned_through`, ...), the log's counter and the
    identity columns' next values, and the end of the copy, in one transaction."""
    meta = [(k, v) for k, v in source.execute("SELECT key, value FROM meta").fetchall()
            if k not in _OWN_META]
    target.execute(BEGIN_WRITE)
    try:
        for key, value in meta:
            target.execute(SET_META, (key, value))
        if postgres:
            pruned = next((int(v) for k, v in meta if k == "pruned_through"), 0)
            target.execute("UPDATE log_head SET head = greatest("
                           "(SELECT coalesce(max(id), 0) FROM events), ?) WHERE id = 1",
                           (pruned,))
            for table in ("audit", "notifications"):
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce(max(id), 0) + 1, false) FROM {table}")
        target.execute("DELETE FROM meta WHERE key = ?", (PROGRESS_KEY,))
        target.execute("COMMIT")
    except BaseException:
        rollback(target)
        raise
