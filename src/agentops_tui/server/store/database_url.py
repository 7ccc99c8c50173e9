"""Where a store lives, as the user names it: `--db` and `AGENTOPS_DB`.

A plain path or `sqlite:///absolute/path` is a SQLite file; `postgresql://…` (or
`postgres://…`) is a PostgreSQL database, passed to libpq as given. Anything else that looks
like a URL is refused, naming the schemes there are, rather than taken for a relative file
name (`foo://x` would otherwise become the folder `foo:` with a database `x` in it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV = "AGENTOPS_DB"
SCHEMES = ("sqlite", "postgresql", "postgres")
USAGE = "a file path, sqlite:///absolute/path or postgresql://user@host/database"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class UnsupportedDatabase(ValueError):
    """The value names no database this program can use; the message says what would."""


@dataclass(frozen=True)
class DatabaseUrl:
    kind: str  # "sqlite" or "postgresql"
    path: Path | None = None  # the SQLite file
    dsn: str | None = None  # the PostgreSQL connection string, as given

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def sqlite_path(self) -> Path:
        if self.path is None:
            raise UnsupportedDatabase(f"{self.shown()} is not a SQLite database")
        return self.path

    def shown(self) -> str:
        """For messages and logs: the file, or the URL with any password masked."""
        if self.path is not None:
            return str(self.path)
        assert self.dsn is not None
        parts = urlsplit(self.dsn)
        if parts.password is None:
            return self.dsn
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def parse(value: str | Path) -> DatabaseUrl:
    """What `--db` names. Raises UnsupportedDatabase for a scheme we do not serve."""
    if isinstance(value, Path):
        return DatabaseUrl("sqlite", path=value)
    text = value.strip()
    if not text:
        raise UnsupportedDatabase(f"no database given; give {USAGE}")
    found = _SCHEME.match(text)
    if found is None:
        return DatabaseUrl("sqlite", path=Path(text).expanduser())
    scheme = found.group(1).lower()
    if scheme in ("postgresql", "postgres"):
        return DatabaseUrl("postgresql", dsn=text)
    if scheme == "sqlite":
        rest = text[found.end():]
        if not rest.startswith("/") or rest.startswith("//"):
            raise UnsupportedDatabase(
                f"{text!r}: a sqlite URL names an absolute path, three slashes then the"
                f" path (sqlite:///home/me/agentops.db); give a relative path as a plain path")
        return DatabaseUrl("sqlite", path=Path(rest))
    raise UnsupportedDatabase(
        f"{text!r}: unsupported database scheme {scheme!r}; give {USAGE}")


def resolve(given: str | None, default: Path) -> DatabaseUrl:
    """`--db` if given, else `AGENTOPS_DB`, else the default file."""
    if given:
        return parse(given)
    from_env = os.environ.get(ENV)
    if from_env:
        try:
            return parse(from_env)
        except UnsupportedDatabase as exc:
            raise UnsupportedDatabase(f"{ENV}: {exc}") from None
    return DatabaseUrl("sqlite", path=default)
