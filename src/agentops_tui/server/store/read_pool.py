"""Where reads run: a few named worker threads, each with a read-only connection of its own.

Reads never run on the event loop (a slow page would stall every stream and request) and a
connection never crosses threads: each worker opens its own the first time it reads and keeps
it until the pool closes (or loses it: a PostgreSQL server that restarted). Callers pass a
function of that connection and await its result; a read the database could not answer for
want of the database itself raises StoreUnavailable (a 503), and the thread connects again
at its next read.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.writer import StoreUnavailable

T = TypeVar("T")

READ_THREADS = 4
THREAD_NAME = "agentops-read"


class StoreClosed(StoreUnavailable):
    """The store is closed (the server is stopping): nothing more is read or written."""


class ReadPool:
    def __init__(self, open_connection: Callable[[], Connection], *,
                 threads: int = READ_THREADS) -> None:
        self._open = open_connection
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=THREAD_NAME)
        self._local = threading.local()
        self._lock = threading.Lock()  # guards `_opened` and `_closed`
        self._opened: list[Connection] = []
        self._closed = False

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """`fn(connection)` on a worker thread, with that thread's own connection."""
        if self._closed:
            raise StoreClosed("the store is closed")
        try:
            future = self._executor.submit(self._call, fn)
        except RuntimeError:  # shut down between the check and the submit
            raise StoreClosed("the store is closed") from None
        return await asyncio.wrap_future(future)

    def _call(self, fn: Callable[[Connection], T]) -> T:
        if self._closed:  # queued before the close, started after it
            raise StoreClosed("the store is closed")
        for attempt in (1, 2):
            try:
                return fn(self._connection())
            except DRIVER_ERRORS.outages as exc:
                if not isinstance(exc, DRIVER_ERRORS.database):
                    raise  # MemoryError, OSError: not the database's
                # a connection the server dropped while it sat idle (a restart that is
                # over now): a read is safe to run again, once, on a new one
                if not self._forget_connection() or attempt == 2:
                    raise StoreUnavailable(f"the database could not answer: {exc}") from None
        raise AssertionError("unreachable")

    def _forget_connection(self) -> bool:
        """Drop this thread's connection if it is broken; whether it was."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or not getattr(conn, "broken", False):
            return False
        self._local.conn = None
        with self._lock:
            if conn in self._opened:
                self._opened.remove(conn)
        with contextlib.suppress(*DRIVER_ERRORS.database):
            conn.close()
        return True

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(conn, "broken", False):
            self._forget_connection()
            conn = None
        if conn is None:
            with self._lock:
                conn = self._open()
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Refuse new reads (queued ones too), wait for those running, close every connection."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
