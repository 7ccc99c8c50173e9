"""One backend per database file.

Two backends on one SQLite file each keep their own in-memory state and event ids, so the
second shows stale data as live and collides on ids when it writes. Every store therefore
takes an exclusive lock on `<db>.lock` for as long as it is open, and writes into it who holds
it: `{"pid", "url"}` (the url once the server listens). The lock is an OS file lock
(`flock`), released by the kernel when the process ends however it ends, so it is never
stale. Tools that only add token rows (`agentops token`) do not take it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO

from agentops_tui.server.store.sqlite_schema import DatabaseUnusable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one backend per file is on trust
    fcntl = None  # type: ignore[assignment]


class DatabaseInUse(DatabaseUnusable):
    """Another backend holds the database; the message names its address and pid."""


def lock_path(db: Path) -> Path:
    """Beside the file itself, whatever name it was opened by: a symlink or a relative path
    to the same database must meet the same lock."""
    real = db.resolve()
    return real.with_name(real.name + ".lock")


class BackendLock:
    """Held from `acquire` to `release` (or the process's end)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path = lock_path(db)
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DatabaseInUse saying who has it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DatabaseUnusable(f"cannot open the database {self.db}: {exc}") from None
        file = os.fdopen(fd, "r+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(file)
                file.close()
                raise DatabaseInUse(self._in_use_message(holder)) from None
        self._file = file
        self._write({"pid": os.getpid(), "url": None})

    def announce(self, url: str) -> None:
        """Say where this backend listens, for the message a second one gets."""
        if self._file is not None:
            self._write({"pid": os.getpid(), "url": url})

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.truncate(0)
        self._file.close()  # closing the descriptor drops the flock
        self._file = None

    def _write(self, holder: dict[str, object]) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate(0)
        self._file.write(json.dumps(holder))
        self._file.flush()

    def _in_use_message(self, holder: dict[str, object]) -> str:
        pid = holder.get("pid", "unknown")
        url = holder.get("url")
        if isinstance(url, str) and url:
            return (f"database {self.db} is in use by the agentops backend at {url} (pid {pid});"
                    f" connect to it with `agentops tui --url {url}`, or stop it first")
        return (f"database {self.db} is in use by another agentops backend (pid {pid}, still"
                " starting); wait for it and connect with `agentops tui --url`, or stop it first")


def _read_holder(file: IO[str]) -> dict[str, object]:
    try:
        file.seek(0)
        found = json.loads(file.read() or "{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
