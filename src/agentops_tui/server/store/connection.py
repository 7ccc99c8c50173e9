"""What the rest of the server may assume about a database connection, whatever the backend.

Domain modules (audit, costs, queues, alerts, ...) write functions of a `Connection`; the store
calls them on its own threads with a connection of its backend. Only the few methods below
are relied on, so a psycopg connection fits as well as an `sqlite3.Connection`. SQL text uses
`?` placeholders; a backend whose driver wants another style translates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    """The result of one statement: rows one at a time, all at once, or how many changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection, as the writer's jobs and the store's readers hand it to domain code."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def close(self) -> None: ...
