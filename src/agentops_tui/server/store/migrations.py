"""Schema versions, shared by both backends.

`SCHEMA_VERSION` is the version this program writes. A database records its own in
`meta.schema_version`; opening one upgrades it (`sqlite_schema.migrate`,
`postgres_schema.migrate`, or `agentops db upgrade` ahead of a deploy): first the steps from
its version to this one, then the current schema's `CREATE ... IF NOT EXISTS` statements,
which add what is new and leave the rest. A database newer than this program is refused
before anything is written: an older program would misread what it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = 3

# backend → version → what takes a database from the version before to it: SQL statements
# (separated by `;`) or a function of the connection (ALTERs of existing tables; new tables
# and indexes come with the schema itself). Each schema module registers its own.
Step = str | Callable[[Any], None]
STEPS: dict[str, dict[int, Step]] = {"sqlite": {}, "postgresql": {}}


def run_step(conn: Any, step: Step) -> None:
    if callable(step):
        step(conn)
        return
    for statement in step.split(";"):
        if statement.strip():
            conn.execute(statement)


class DatabaseUnusable(Exception):
    """The database cannot be opened or used; the message names it and says why."""


class NewerSchema(DatabaseUnusable):
    """The database was written by a newer agentops."""


def refuse_newer(found: int | None) -> None:
    if found is not None and found > SCHEMA_VERSION:
        raise NewerSchema(
            f"database schema {found} is newer than this agentops ({SCHEMA_VERSION}); upgrade"
            " agentops (pip install -U agentops-tui) to use it")
