"""How the writer tells a failure of the store from a failure of what one job wrote."""

from __future__ import annotations

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.write_context import Rejected, StoreUnavailable


def rollback(conn: Connection) -> None:
    """End the open transaction, if there is one, keeping nothing of it."""
    try:
        conn.execute("ROLLBACK")
    except DRIVER_ERRORS.database:  # none was open, or the connection is gone with it
        pass


def is_outage(exc: BaseException) -> bool:
    """A failure of the store itself rather than of what a job wrote: every job would fail
    alike (and a store that could not fold its log again after a rollback)."""
    return isinstance(exc, (*DRIVER_ERRORS.outages, StoreUnavailable))


def answer(exc: BaseException) -> Exception:
    """What the request whose job failed at commit is told."""
    if isinstance(exc, DRIVER_ERRORS.unstorable):
        return Rejected(422, "unstorable",
                        f"the store refused a value of this request: {exc}",
                        {"reason": type(exc).__name__})
    return StoreUnavailable(f"the store could not commit: {exc}")
