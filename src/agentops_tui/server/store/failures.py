"""How the writer tells a failure of the store from a failure of what one job wrote."""

from __future__ import annotations

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.sqlite_dialect import OUTAGES, UNSTORABLE, DatabaseError
from agentops_tui.server.store.write_context import Rejected, StoreUnavailable


def rollback(conn: Connection) -> None:
    """End the open transaction, if there is one, keeping nothing of it."""
    try:
        conn.execute("ROLLBACK")
    except DatabaseError:  # none was open
        pass


# Failures of the store itself rather than of what a job wrote: every job would fail alike
# (and a store that could not fold its log again after a rollback).
_OUTAGES = (*OUTAGES, StoreUnavailable)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, _OUTAGES)


def answer(exc: BaseException) -> Exception:
    """What the request whose job failed at commit is told."""
    if isinstance(exc, UNSTORABLE):
        return Rejected(422, "unstorable",
                        f"the store refused a value of this request: {exc}",
                        {"reason": type(exc).__name__})
    return StoreUnavailable(f"the store could not commit: {exc}")
