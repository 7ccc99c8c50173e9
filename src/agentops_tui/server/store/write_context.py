"""What a write job sees (`WriteContext`) and what it appends to the log (`LoggedEvent`).

A job is a function of a `WriteContext`. It must validate first (raising `Rejected`, with no
side effects) and only then change state through `ctx.emit`, which applies the event to the
in-memory `Fleet`, runs the folds (pure derivations of the log: rollups) and then the
reactions (observers that may emit further events or write their own tables), and queues
the log row. The group's dirty rows, message rows and fold sums join the state checkpoint
once the group has committed (`checkpoint`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from pydantic_core import to_jsonable_python

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.models import Session

if TYPE_CHECKING:
    from agentops_tui.server.store.writer import Writer


class Rejected(Exception):
    """A job refused its input; nothing it was given is written."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class StoreUnavailable(Exception):
    """The write failed for a reason that is not the client's (disk full, I/O error)."""


@dataclass(slots=True)
class LoggedEvent:
    """An event as the writer appended it, for observers, commit listeners and the fan-out.

    A plain slotted class rather than the wire model `Event`: building a pydantic model for
    every event cost about 2 us, a tenth of the ingest budget. `data_json` is `data` as the
    compact JSON stored in the log, so the stream frames it without encoding it again.
    """

    id: int
    type: str
    ts: float
    workspace: str
    data: dict[str, Any]
    data_json: str


def _plain(value: Any) -> Any:
    """What msgspec cannot encode itself (a model a reaction put in `data`), as pydantic
    would write it."""
    return to_jsonable_python(value)


_encode = msgspec.json.Encoder(enc_hook=_plain).encode

LogRow = tuple[int, str, str, float, str | None, str | None, str]


_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def refuse_nul(encoded: str, *columns: str | None) -> None:
    """PostgreSQL stores no NUL character in text, and the derived tables hold an event's
    strings as text: an event carrying one fails its job, and so its request alone (a 422,
    `failures.answer`), rather than a state checkpoint later. `encoded` is the event's JSON,
    where a NUL is the escape `\\u0000` (an escaped backslash before `u0000` is text)."""
    if "\\u0000" in encoded and _NUL_ESCAPE.search(encoded):
        raise ValueError("text holds a NUL character (\\u0000), which the database cannot"
                         " store")
    for column in columns:
        if column is not None and "\x00" in column:
            raise ValueError("text holds a NUL character, which the database cannot store")


class WriteContext:
    """What a job sees: the connection (inside the open transaction) and the fleets."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self.conn = writer.conn
        self.now = time.time()
        self.events: list[LoggedEvent] = []
        self._rows: list[LogRow] = []
        # what this group's events touched, per workspace: those rows join the checkpoint
        self.touched: dict[str, Changes] = {}
        # event keys logged by this group, per workspace: not in the table until the flush
        self._keys: dict[str, set[str]] = {}

    def fleet(self, workspace: str) -> Fleet:
        return self._writer.fleet(workspace)

    def fleets(self) -> dict[str, Fleet]:
        """Every workspace's state loaded so far."""
        return self._writer.fleets

    def session(self, workspace: str, session_id: str) -> Session | None:
        """A session from memory, or paged back in from its table (ended long ago).

        A session leaves memory only once its row is checkpointed (`Store.prune`), and a
        fleet is loaded only from checkpointed tables plus the log after them, so a row read
        here is current."""
        fleet = self.fleet(workspace)
        session = fleet.sessions.get(session_id)
        if session is None:
            row = self.conn.execute(
                "SELECT data FROM sessions WHERE workspace = ? AND id = ?", (workspace, session_id)
            ).fetchone()
            if row is not None:
                session = Session.model_validate_json(row[0])
                fleet.put_session(session)
        return session

    def logged_before(self, workspace: str, keys: list[str]) -> set[str]:
        """Which of `keys` earlier groups logged in the workspace (a retried batch)."""
        return self._writer.log.logged_keys(self.conn, workspace, keys)

    def logged_keys(self, workspace: str) -> set[str]:
        """Event keys this group has logged so far (a later job must treat them as taken)."""
        return self._keys.get(workspace) or set()

    def _changes(self, workspace: str) -> Changes:
        touched = self.touched.get(workspace)
        if touched is None:
            touched = self.touched[workspace] = Changes()
        return touched

    def emit(
        self,
        workspace: str,
        type_: str,
        data: dict[str, Any],
        *,
        ts: float | None = None,
        session_id: str | None = None,
        event_key: str | None = None,
    ) -> LoggedEvent:
        """Append one event to the log and apply it to current state."""
        writer = self._writer
        event_id = writer.next_event_id
        writer.next_event_id += 1
        when = ts if ts is not None else self.now
        fleet = writer.fleets.get(workspace)
        if fleet is None:
            fleet = writer.fleet(workspace)
        touched = self.touched.get(workspace)  # not `or`: that would ask `Changes.__bool__`
        if touched is None:
            touched = self._changes(workspace)
        fleet.apply(event_id, type_, when, data, touched)
        # encoded once, by msgspec (0.23 µs against pydantic-core's 0.43), for the log row
        # and the stream frame; folds and observers read `data` and never change it
        encoded = _encode(data).decode()
        if writer.refuse_nul:  # memory is folded again from the log when the job fails
            refuse_nul(encoded, workspace, type_, event_key)
        event = LoggedEvent(event_id, type_, when, workspace, data, encoded)
        self.events.append(event)
        folds = writer.fold_handlers.get(type_)
        if folds is None:
            folds = writer.resolve_folds(type_)
        for fold in folds:  # before the reactions, so the log's order is the folds' order
            fold(self, event)
        reactions = writer.reaction_handlers.get(type_)
        if reactions is None:
            reactions = writer.resolve_reactions(type_)
        for react in reactions:
            react(self, event)
        for observe in writer.observers:
            observe(self, event)
        sid = session_id if session_id is not None else data.get("session_id")
        if event_key is not None:
            keys = self._keys.get(workspace)
            if keys is None:
                keys = self._keys[workspace] = set()
            keys.add(event_key)
        self._rows.append((event_id, workspace, type_, when, sid, event_key, encoded))
        return event

    def refold(self, event: LoggedEvent) -> None:
        """Fold one event read back from the log (on open, after a rollback): the fleet and
        the folds, never the reactions, whose events and rows the log and tables hold."""
        data = event.data
        fleet = self.fleet(event.workspace)
        sid = data.get("session_id")
        if isinstance(sid, str) and sid not in fleet.sessions:
            self.session(event.workspace, sid)  # as the job that emitted it paged it in
        fleet.apply(event.id, event.type, event.ts, data, self._changes(event.workspace))
        folds = self._writer.fold_handlers.get(event.type)
        if folds is None:
            folds = self._writer.resolve_folds(event.type)
        for fold in folds:
            fold(self, event)

    def flush(self) -> None:
        """Write the log rows."""
        if self._rows:
            self._writer.log.append(self.conn, self._rows)
