"""Placing spans in the tree, durably, so out-of-order and split exports still link up.

Every span seen is kept in `otlp_spans` (trace id, span id, parent id, kind) together with its
`owner`: the session of the nearest enclosing agent span ("" when there is none above it,
NULL while that is not yet known). OpenTelemetry exports a span when it *ends*, so children
routinely arrive before their parents, often in an earlier request:

- An agent span becomes its session at once. When its parent chain is not known yet it
  starts as a root session; once the chain resolves to an enclosing agent, the session is
  re-announced with its `parent_session_id`.
- An llm or tool span whose chain reaches a missing span waits in the table with its events
  (`pending`). Each export loads the pending spans of its traces and resolves whatever the
  new spans connect; their events are then ingested with the same keys as if on time.
- A span with no agent span above it (the chain ends at a root) is counted in one session
  per trace, `otel-<trace id>`, whose agent is the service (`service.name`).
- A span whose parent has not arrived within `GRACE_SECONDS` of its end time is treated as
  a root: it stops waiting, so usage is never lost to a parent exported elsewhere.

It all runs inside the writer's transaction, so concurrent exports see each other in order,
and every event carries an `event_key` made of trace and span id: a re-sent export is a no-op.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentops_tui.models import IngestAccepted, IngestEvent
from agentops_tui.server.ingest.otlp.mapping import AGENT, PROMPT_KEY, SpanDraft, id_from
from agentops_tui.server.ingest.rest import CostFn, IngestJob, enrich
from agentops_tui.server.ingest.wire import WireBatch
from agentops_tui.server.store.dialect import placeholders, upsert
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import Rejected, WriteContext

GRACE_SECONDS = 3600.0
KEEP_SECONDS = 7 * 86400.0  # resolved spans are forgotten after this long
PRUNE_EVERY = 500  # exports

_events_adapter: TypeAdapter[list[IngestEvent]] = TypeAdapter(list[IngestEvent])
_exports = itertools.count(1)
_SPAN_COLUMNS = ("trace_id", "span_id", "parent_id", "kind", "agent_id", "session_id", "owner",
                 "service", "pending", "end_ts", "seen_at")
_COLUMNS = ", ".join(_SPAN_COLUMNS)
_SAVE_SQL = upsert("otlp_spans", ("workspace", *_SPAN_COLUMNS),
                   ("workspace", "trace_id", "span_id"))


@dataclass
class _Row:
    trace_id: str
    span_id: str
    parent_id: str
    kind: str
    agent_id: str | None
    session_id: str | None
    owner: str | None
    service: str
    pending: list[dict[str, Any]] | None
    end_ts: float
    seen_at: float
    dirty: bool = False
    resolved_now: bool = False

    def below(self) -> str | None:
        """The session a child of this span belongs to, if known."""
        return self.session_id if self.kind == AGENT else self.owner


@dataclass
class OtlpJob:
    store: Store
    workspace: str
    drafts: list[SpanDraft]
    cost: CostFn

    def __call__(self, ctx: WriteContext) -> IngestAccepted:
        rows = self._load(ctx)
        fresh: list[_Row] = []
        for d in self.drafts:
            s = d.span
            old = rows.get((s.trace_id, s.span_id))
            row = _Row(
                s.trace_id, s.span_id, s.parent_id, d.kind, d.agent_id, d.session_id,
                old.owner if old is not None else None, d.service,
                None if d.kind == AGENT else d.events, s.end or ctx.now, ctx.now, dirty=True,
            )
            if row.owner is not None:
                row.pending = None
            rows[(s.trace_id, s.span_id)] = row
            fresh.append(row)
        cutoff = ctx.now - GRACE_SECONDS
        for row in list(rows.values()):
            if row.owner is None:
                _resolve(row, rows, cutoff)
        try:  # validated before the writer ran (see `routes/otlp.py`); a guard, no more
            events = _events_adapter.validate_python(self._events(ctx, rows))
        except ValidationError as exc:  # nothing is written yet: refuse only this export
            raise Rejected(422, "unmappable_spans", f"spans could not be mapped: {exc}") from None
        batch = WireBatch.from_models(events)

        def session_models(ids: set[str]) -> dict[str, str | None]:
            found = {i: ctx.session(self.workspace, i) for i in ids}
            return {i: s.model for i, s in found.items() if s is not None}

        enrich(batch, self.cost, session_models)
        accepted = IngestJob(self.store, self.workspace, batch)(ctx)
        self._save(ctx, [r for r in rows.values() if r.dirty])
        return accepted

    # ---- the table -------------------------------------------------------------------------

    def _load(self, ctx: WriteContext) -> dict[tuple[str, str], _Row]:
        ws = self.workspace
        wanted: dict[str, set[str]] = {}
        for d in self.drafts:
            ids = wanted.setdefault(d.span.trace_id, set())
            ids.add(d.span.span_id)
            if d.span.parent_id:
                ids.add(d.span.parent_id)
        rows: dict[tuple[str, str], _Row] = {}
        expired = ctx.conn.execute(
            f"SELECT {_COLUMNS} FROM otlp_spans WHERE workspace = ? AND owner IS NULL"
            " AND end_ts < ? LIMIT 1000",
            (ws, ctx.now - GRACE_SECONDS),
        ).fetchall()
        for raw in expired:
            wanted.setdefault(raw[0], set())
        found: list[Any] = []
        for trace, ids in wanted.items():
            found += ctx.conn.execute(
                f"SELECT {_COLUMNS} FROM otlp_spans WHERE workspace = ? AND trace_id = ?"
                " AND owner IS NULL", (ws, trace),
            ).fetchall()
            listed = sorted(ids)
            for i in range(0, len(listed), 500):
                chunk = listed[i : i + 500]
                found += ctx.conn.execute(
                    f"SELECT {_COLUMNS} FROM otlp_spans WHERE workspace = ? AND trace_id = ?"
                    f" AND span_id IN ({placeholders(len(chunk))})", (ws, trace, *chunk),
                ).fetchall()
        for raw in found:
            rows[(raw[0], raw[1])] = _Row(
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                json.loads(raw[8]) if raw[8] else None, raw[9], raw[10],
            )
        return rows

    def _save(self, ctx: WriteContext, rows: list[_Row]) -> None:
        ws = self.workspace
        ctx.conn.executemany(
            _SAVE_SQL,
            [
                (ws, r.trace_id, r.span_id, r.parent_id, r.kind, r.agent_id, r.session_id,
                 r.owner, r.service, json.dumps(r.pending) if r.pending else None, r.end_ts,
                 r.seen_at)
                for r in rows
            ],
        )
        if next(_exports) % PRUNE_EVERY == 0:
            ctx.conn.execute(
                "DELETE FROM otlp_spans WHERE seen_at < ? AND owner IS NOT NULL",
                (ctx.now - KEEP_SECONDS,),
            )

    # ---- events --------------------------------------------------------------------------

    def _events(
        self, ctx: WriteContext, rows: dict[tuple[str, str], _Row]
    ) -> list[dict[str, Any]]:
        opening: list[dict[str, Any]] = []
        middle: list[dict[str, Any]] = []
        closing: list[dict[str, Any]] = []
        traces: dict[str, tuple[str, float]] = {}  # trace -> (service, first ts)
        drafted = {(d.span.trace_id, d.span.span_id): d for d in self.drafts}
        for d in self.drafts:
            if d.kind != AGENT:
                continue
            row = rows[(d.span.trace_id, d.span.span_id)]
            for event in d.opening:
                if event["type"] == "session.started" and row.owner:
                    event = {**event, "parent_session_id": row.owner}
                opening.append(event)
            closing.extend(d.closing)
        for (trace, span), row in rows.items():
            if not row.resolved_now:
                continue
            if row.kind == AGENT:
                if row.owner and (trace, span) not in drafted:
                    opening.append({
                        "type": "session.started", "session_id": row.session_id,
                        "agent_id": row.agent_id, "parent_session_id": row.owner,
                        "event_key": f"otlp:{trace}:{span}:link",
                    })
                continue
            target = row.owner or _trace_session(trace)
            for event in row.pending or ():
                event = {**event, "session_id": target}
                if event.get("event_key") == PROMPT_KEY:  # one prompt per session
                    event["event_key"] = f"otlp:{target}:prompt"
                middle.append(event)
                if not row.owner:
                    first = traces.get(trace, (row.service, row.end_ts))[1]
                    traces[trace] = (row.service, min(first, event.get("ts") or row.end_ts))
            row.pending = None
        for trace, (service, first) in traces.items():
            agent_id = id_from(service) if service else "otel"
            # framework opentelemetry: no capabilities (it can be watched, not acted on)
            sid = _trace_session(trace)
            opening += [
                {"type": "agent.registered", "agent_id": agent_id, "name": agent_id,
                 "kind": "service", "framework": "opentelemetry", "ts": first,
                 "event_key": f"otlp:{trace}:trace:agent"},
                {"type": "session.started", "session_id": sid, "agent_id": agent_id,
                 "title": f"trace {trace}", "ts": first, "event_key": f"otlp:{trace}:trace:start"},
            ]
            closing.append({"type": "session.ended", "session_id": sid, "ts": first,
                            "event_key": f"otlp:{trace}:trace:end"})
        middle.sort(key=lambda e: e.get("ts") or 0.0)
        return opening + middle + closing


def _trace_session(trace_id: str) -> str:
    return f"otel-{trace_id}"


def _resolve(row: _Row, rows: dict[tuple[str, str], _Row], cutoff: float) -> None:
    """Walk up from `row` to the first span whose children's session is known; set the
    owner of every unresolved span on the way (nothing, when the chain breaks)."""
    chain = [row]
    seen = {id(row)}
    cur = row
    while True:
        if not cur.parent_id:
            base = ""
            break
        parent = rows.get((cur.trace_id, cur.parent_id))
        if parent is None:
            if cur.end_ts < cutoff:
                base = ""  # waited long enough: a root
                break
            return
        known = parent.below()
        if known is not None:
            base = known
            break
        if id(parent) in seen:  # a cycle: wait for the grace period to end it
            if row.end_ts >= cutoff:
                return
            base = ""
            break
        seen.add(id(parent))
        chain.append(parent)
        cur = parent
    for node in reversed(chain):
        node.owner = base
        node.dirty = node.resolved_now = True
        below = node.below()
        base = below if below is not None else base
