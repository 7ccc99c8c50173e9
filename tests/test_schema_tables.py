"""The store's one schema definition (`schema_tables`) against the databases it makes: a fresh
SQLite file and a fresh PostgreSQL database have exactly the tables, column types, keys and
indexes the definition names, so neither backend's rendering can drift from it."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

from agentops_tui.server.store.backends import open_connection
from agentops_tui.server.store.schema_tables import SCHEMA, TYPES, Index, Table
from tests.postgres_cluster import Cluster

TABLES = [item for item in SCHEMA if isinstance(item, Table)]
INDEXES = [item for item in SCHEMA if isinstance(item, Index)]


def test_the_definition_names_each_table_index_and_column_once() -> None:
    names = [item.name for item in SCHEMA]
    assert len(names) == len(set(names))
    tables = {table.name: table for table in TABLES}
    for table in TABLES:
        columns = [column.name for column in table.columns]
        assert len(columns) == len(set(columns)), table.name
        assert set(table.key) <= set(columns), table.name
        assert all(column.type in TYPES for column in table.columns), table.name
    for index in INDEXES:
        assert set(index.columns) <= {c.name for c in tables[index.table].columns}, index.name


def test_a_fresh_sqlite_database_is_the_definition(tmp_path: Path) -> None:
    open_connection(tmp_path / "fresh.db").close()
    with contextlib.closing(sqlite3.connect(tmp_path / "fresh.db")) as db:
        listed = {name: wr for name, wr in db.execute(
            "SELECT name, wr FROM pragma_table_list WHERE schema = 'main'"
            " AND name NOT LIKE 'sqlite_%'")}
        assert listed == {table.name: int(table.without_rowid) for table in TABLES}
        for table in TABLES:
            info = db.execute(f"PRAGMA table_info({table.name})").fetchall()
            assert [(name, kind, dflt) for _, name, kind, _, dflt, _ in info] == [
                (c.name, TYPES[c.type]["sqlite"], c.default) for c in table.columns]
            key = {name: position for _, name, _, _, _, position in info if position}
            assert sorted(key, key=key.__getitem__) == list(table.key), table.name
            nullable = {name for _, name, _, notnull, _, _ in info if not notnull}
            # a single-column key is declared without NOT NULL, as it always was
            inline_key = set(table.key) if len(table.key) == 1 else set()
            assert nullable - inline_key == {c.name for c in table.columns if c.null}
            unique = {cols[0] for cols in _sqlite_unique_column_sets(db, table.name)
                      if len(cols) == 1 and (cols[0],) != table.key}
            assert unique == {c.name for c in table.columns if c.unique}, table.name
        indexes = {row[0]: row[1:] for row in db.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"
            " AND sql IS NOT NULL")}
        assert set(indexes) == {index.name for index in INDEXES}
        for index in INDEXES:
            on, sql = indexes[index.name]
            columns = [row[2] for row in db.execute(f"PRAGMA index_info({index.name})")]
            assert (on, columns) == (index.table, list(index.columns))
            assert sql.startswith("CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX")
            where = None if " WHERE " not in sql else sql.split(" WHERE ", 1)[1]
            assert where == index.where, index.name
        generated = [t.name for t in TABLES for c in t.columns if c.never_reused]
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'"
                          ).fetchone() == (1 if generated else 0,)


def _sqlite_unique_column_sets(db: sqlite3.Connection, table: str) -> list[tuple[str, ...]]:
    return [tuple(row[2] for row in db.execute(f"PRAGMA index_info('{name}')"))
            for _, name, unique, origin, _ in db.execute(f"PRAGMA index_list({table})")
            if unique and origin == "u"]


def test_a_fresh_postgres_database_is_the_definition(postgres: Cluster) -> None:
    conn = open_connection(postgres.new_database())
    try:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " ORDER BY table_name, ordinal_position").fetchall()
        keys = conn.execute(
            "SELECT c.table_name, c.constraint_type, k.column_name"
            " FROM information_schema.table_constraints c"
            " JOIN information_schema.key_column_usage k USING (constraint_schema,"
            " constraint_name) WHERE c.table_schema = 'public'"
            " AND c.constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
            " ORDER BY c.table_name, c.constraint_name, k.ordinal_position").fetchall()
        index_rows = conn.execute(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            ).fetchall()
    finally:
        conn.close()
    columns: dict[str, list[tuple[object, ...]]] = {}
    for table_name, *column in rows:
        columns.setdefault(table_name, []).append(tuple(column))
    columns.pop("log_head")  # PostgreSQL's own: the log's counter (postgres_schema)
    assert set(columns) == {table.name for table in TABLES}
    for table in TABLES:
        assert columns[table.name] == [
            (c.name, TYPES[c.type]["postgresql"].lower(),
             "YES" if c.null else "NO", c.default, "YES" if c.generated else "NO")
            for c in table.columns], table.name
        key = [column for name, kind, column in keys if name == table.name
               and kind == "PRIMARY KEY"]
        assert key == list(table.key), table.name
        unique = {column for name, kind, column in keys if name == table.name
                  and kind == "UNIQUE"}
        assert unique == {c.name for c in table.columns if c.unique}, table.name
    made = {name: (on, definition) for name, on, definition in index_rows}
    # the key's and unique columns' own indexes, named as PostgreSQL names them
    constraints = {f"{t.name}_pkey" for t in TABLES} | {"log_head_pkey"} | {
        f"{t.name}_{c.name}_key" for t in TABLES for c in t.columns if c.unique}
    assert set(made) == {index.name for index in INDEXES} | constraints
    for index in INDEXES:
        on, definition = made[index.name]
        shape = re.fullmatch(r"CREATE (UNIQUE )?INDEX \S+ ON public\.(\w+) USING btree"
                             r" \(([^)]*)\)( WHERE .*)?", definition)
        assert shape is not None, definition
        unique, table_name, listed, where = shape.groups()
        assert (bool(unique), table_name, listed.split(", ")) == (
            index.unique, index.table, list(index.columns)), index.name
        assert (where is not None) == (index.where is not None
                                       and index.partial_on_postgresql), index.name
