"""Schema versions, shared by both backends.

`SCHEMA_VERSION` is the version this program writes. A database records its own in
`meta.schema_version`; opening one upgrades it (`sqlite_schema.migrate`,
`postgres_schema.migrate`, or `agentops db upgrade` ahead of a deploy): first the steps from
its version to this one, then the current schema's `CREATE ... IF NOT EXISTS` statements,
which add what is new and leave the rest. A database newer than this program is refused
before anything is written: an older program would misread what it does not know.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

# backend → version → the statements that take a database from the version before to it
# (ALTERs of existing tables; new tables and indexes come with the schema itself).
STEPS: dict[str, dict[int, str]] = {"sqlite": {}, "postgresql": {}}


class DatabaseUnusable(Exception):
    """The database cannot be opened or used; the message names it and says why."""


class NewerSchema(DatabaseUnusable):
    """The database was written by a newer agentops."""


def refuse_newer(found: int | None) -> None:
    if found is not None and found > SCHEMA_VERSION:
        raise NewerSchema(
            f"database schema {found} is newer than this agentops ({SCHEMA_VERSION}); upgrade"
            " agentops (pip install -U agentops-tui) to use it")
