"""PostgreSQL schema and its upgrades. The tables and indexes are the store's one definition
(`schema_tables`, which maps its portable types to PostgreSQL's: 8-byte `DOUBLE PRECISION`
and `BIGINT`, identity columns, `NUMERIC` for the rollups' sums); what only PostgreSQL has is
here. The log's `data` stays text: a `jsonb` column halves insert speed and nothing queries
inside it.

`log_head` is the log's counter: one row, locked by each group commit, which takes its ids
from it and bumps it in the same transaction (`postgres_log`), so id order is commit order
with no gaps, however many writers share the database. `total()` is defined as an
aggregate so the server's SQL reads the same on both backends.
"""

from __future__ import annotations

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.migrations import STEPS, refuse_newer, run_step
from agentops_tui.server.store.schema_tables import render

# Taken (for the transaction) by whoever creates or upgrades the schema: two processes
# starting at once must not both create it.
MIGRATION_LOCK = 7_346_201_901

DDL = render("postgresql") + """
CREATE TABLE IF NOT EXISTS log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), head BIGINT NOT NULL
);
INSERT INTO log_head (id, head) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE AGGREGATE total(DOUBLE PRECISION) (
    SFUNC = float8pl, STYPE = DOUBLE PRECISION, INITCOND = '0'
);
"""


# Schema 1 → 2: alerts count their repeats and when they were last seen.
STEPS["postgresql"][2] = (
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS count BIGINT NOT NULL DEFAULT 1;"
    " ALTER TABLE alerts ADD COLUMN IF NOT EXISTS last_seen DOUBLE PRECISION NOT NULL"
    " DEFAULT 0; UPDATE alerts SET last_seen = raised_at WHERE last_seen = 0")
# Schema 2 → 3: `sessions_agent`, an index of each agent's sessions. New indexes come with
# the DDL, which runs after the steps in the same transaction.
STEPS["postgresql"][3] = ""


def schema_version(conn: Connection) -> int | None:
    """The version the database records; None for one with no schema yet."""
    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def migrate(conn: Connection) -> tuple[int | None, int]:
    """Create or upgrade the schema in one transaction. Returns (version found, version now).
    Raises DatabaseUnusable, changing nothing, for a schema newer than this program's."""
    from agentops_tui.server.store.migrations import SCHEMA_VERSION

    conn.execute("BEGIN")
    try:
        conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        found = schema_version(conn)
        refuse_newer(found)
        if found is not None:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                run_step(conn, STEPS["postgresql"][version])
        conn.execute(DDL)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found, SCHEMA_VERSION
