"""Ingest: validate a batch, enrich it (redaction, cost, message numbers), log and apply it.

A batch is all or nothing: the first invalid event rejects it, naming its index and field.
`event_key` makes a retried event a no-op, so an agent can resend a batch it did not see
acknowledged without double counting. Events travel as the structs of `wire`: decoded in
one pass when they can be, validated by the public models when they cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json

from agentops_tui.core.fleet import Fleet, ordered_capabilities
from agentops_tui.models import Capability, IngestAccepted, IngestBatch, default_capabilities
from agentops_tui.pricing import Cost
from agentops_tui.server.ingest.wire import (
    AgentRegistered,
    ApprovalRequested,
    SessionEnded,
    SessionMessage,
    SessionStarted,
    SessionStatusChanged,
    SessionToolCall,
    SessionUsage,
    WireBatch,
    WireEvent,
    decode_fast,
    event_data,
)
from agentops_tui.server.redact import redact, redact_optional
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import Rejected, WriteContext
from agentops_tui.wire_values import ID_PATTERN, ID_RULE

MAX_EVENTS = 1000
MAX_BYTES = 1024 * 1024

_batch_adapter: TypeAdapter[IngestBatch] = TypeAdapter(IngestBatch)

# Returns a `Cost` (which says whether the model has a price) or a bare amount.
CostFn = Callable[[SessionUsage], "float | Cost"]
# Current models of sessions the batch does not start (looked up only when needed).
SessionModelsFn = Callable[[set[str]], dict[str, "str | None"]]


def format_loc(loc: tuple[Any, ...]) -> str:
    """('events', 3, 'session.usage', 'input_tokens') -> 'events[3].input_tokens'."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i >= 2 and loc[0] == "events" and isinstance(loc[1], int) and i == 2 and "." in part:
            continue  # the union tag pydantic adds, e.g. 'session.usage'
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_batch(body: bytes) -> WireBatch:
    """Decode and validate a request body; raise `Rejected` naming what is wrong."""
    # the common case: one pass over the bytes into structs, no dicts built first
    fast = decode_fast(body)
    if fast is not None:
        return fast
    # the models decide the rest: camelCase keys, unknown keys, `5.0` for 5, or an error
    try:
        return WireBatch.from_models(_batch_adapter.validate_json(body).events)
    except ValidationError:
        pass
    # something is wrong: decode step by step, so the answer names the right problem
    raw = decode_json(body)
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        raise Rejected(422, "invalid_request", 'body must be an object {"events": [...]}')
    if len(raw["events"]) > MAX_EVENTS:
        raise Rejected(
            413, "too_many_events", f"a batch holds at most {MAX_EVENTS} events",
            {"events": len(raw["events"]), "max": MAX_EVENTS},
        )
    try:
        return WireBatch.from_models(_batch_adapter.validate_python(raw).events)
    except ValidationError as exc:
        raise rejection(exc, "invalid_event") from None


def decode_json(body: bytes) -> Any:
    """A request body as Python values, or 400. The same strict decoder as `validate_json`:
    nesting is bounded (no recursion error) and a lone surrogate is refused, not stored."""
    try:
        return from_json(body)
    except ValueError as exc:
        raise Rejected(400, "malformed_json", f"request body is not valid JSON: {exc}") from None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "string_pattern_mismatch" and (
            error.get("ctx", {}).get("pattern") == ID_PATTERN):
        return f"not a usable id: {ID_RULE}"
    return error["msg"]


def rejection(exc: ValidationError, code: str) -> Rejected:
    """A 422 naming the first bad field, with every problem in `details`."""
    errors = [
        {"field": format_loc(tuple(e["loc"])), "message": _message(e)}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    first = errors[0]
    return Rejected(422, code, f"{first['field']}: {first['message']}", errors)


def enrich(
    batch: WireBatch, cost: CostFn, session_models: SessionModelsFn | None = None
) -> None:
    """Redact secrets and fill in costs, before anything reaches the store or the wire.

    Every free-text field is redacted (ids are not: they name things, and a changed id
    would break the references between events).
    """
    _fill_usage_models(batch, session_models)
    for event in batch.events:
        if isinstance(event, SessionMessage):
            event.content = redact(event.content)
        elif isinstance(event, SessionToolCall):
            event.tool = redact(event.tool)
            event.output = redact_optional(event.output)
        elif isinstance(event, SessionStatusChanged):
            event.detail = redact_optional(event.detail)
        elif isinstance(event, SessionEnded):
            event.error = redact_optional(event.error)
        elif isinstance(event, ApprovalRequested):
            event.summary = redact(event.summary)
            event.detail = redact_optional(event.detail)
        elif isinstance(event, SessionStarted):
            event.title = redact_optional(event.title)
            event.model = redact_optional(event.model)
        elif isinstance(event, AgentRegistered):
            event.name = redact_optional(event.name)
            event.kind = redact(event.kind)
            event.framework = redact(event.framework)
            event.model = redact_optional(event.model)
            event.description = redact_optional(event.description)
            event.avatar = redact_optional(event.avatar)
        elif isinstance(event, SessionUsage):
            event.model = redact_optional(event.model)
            if event.cost_usd is not None:
                event.priced = True  # priced by the agent
                continue
            result = cost(event)
            if isinstance(result, Cost):
                event.cost_usd, event.priced = result.usd, result.known
            else:
                event.cost_usd = result


def _fill_usage_models(batch: WireBatch, session_models: SessionModelsFn | None) -> None:
    """A usage report without a model is priced (and rolled up) as its session's model."""
    agent_models: dict[str, str | None] = {}
    models: dict[str, str | None] = {}
    missing: list[SessionUsage] = []
    for event in batch.events:
        if isinstance(event, AgentRegistered):
            agent_models[event.agent_id] = event.model
        elif isinstance(event, SessionStarted):
            models[event.session_id] = event.model or agent_models.get(event.agent_id)
        elif isinstance(event, SessionUsage) and not event.model and event.cost_usd is None:
            missing.append(event)
    if not missing:
        return
    unknown = {e.session_id for e in missing if e.session_id not in models}
    if unknown and session_models is not None:
        models.update(session_models(unknown))
    for event in missing:
        event.model = models.get(event.session_id)


def _capabilities(fleet: Fleet, event: AgentRegistered) -> list[Capability]:
    """What the log records an agent obeys: what it declares; when it declares nothing,
    what it declared before, or, for a new agent, what its framework's channel offers
    (pause, resume, inject and kill for REST and SDK agents)."""
    if event.capabilities is not None:
        return ordered_capabilities(event.capabilities)
    known = fleet.agents.get(event.agent_id)
    if known is not None:
        return list(known.capabilities)
    return default_capabilities(event.framework)


@dataclass
class IngestJob:
    """The writer-side half of ingest; runs inside a group commit."""

    store: Store
    workspace: str
    batch: WireBatch

    def __call__(self, ctx: WriteContext) -> IngestAccepted:
        events = self.batch.events
        ws = self.workspace
        keys = [e.event_key for e in events if e.event_key]
        # keys an earlier job of this group logged count too: their rows are not written yet
        logged = ctx.logged_keys(ws)
        seen: set[str] = {k for k in keys if k in logged}
        if keys:
            seen.update(ctx.logged_before(ws, keys))
        fresh = []
        duplicates = 0
        for event in events:
            if event.event_key:
                if event.event_key in seen:
                    duplicates += 1
                    continue
                seen.add(event.event_key)
            fresh.append(event)
        self._check_references(ctx, fresh)
        first = last = None
        fleet = ctx.fleet(ws)
        for event in fresh:
            data = event_data(event)
            if isinstance(event, SessionMessage):
                session = fleet.sessions[event.session_id]
                data["seq"] = session.messages + 1
            elif isinstance(event, AgentRegistered):
                data["capabilities"] = _capabilities(fleet, event)
            elif isinstance(event, SessionStarted) and event.parent_session_id and not (
                    event.task_id):
                # a subagent works on its parent's task; say so in the log, where costs
                # per task and the task's session list will look for it
                parent = ctx.session(ws, event.parent_session_id)
                if parent is not None and parent.task_id:
                    data["task_id"] = parent.task_id
            emitted = ctx.emit(ws, event.type, data, ts=event.ts, event_key=event.event_key)
            first = first or emitted.id
            last = emitted.id
        return IngestAccepted(
            accepted=len(fresh), duplicates=duplicates, first_event_id=first, last_event_id=last
        )

    def _check_references(self, ctx: WriteContext, events: list[WireEvent]) -> None:
        """Every session an event names must exist already or start earlier in the batch."""
        started: set[str] = set()
        approvals: set[str] = set()
        fleet = ctx.fleet(self.workspace)
        in_memory = fleet.sessions  # most are; `ctx.session` also looks in the store
        for index, event in enumerate(events):
            if isinstance(event, SessionStarted):
                started.add(event.session_id)
                continue
            sid = getattr(event, "session_id", None)
            if sid is None or sid in started or sid in in_memory:
                pass
            elif ctx.session(self.workspace, sid) is None:
                raise Rejected(
                    422, "unknown_session",
                    f"events[{index}].session_id: unknown session {sid!r}"
                    " (send session.started first)",
                    [{"index": index, "field": "session_id", "message": "unknown session"}],
                )
            if isinstance(event, ApprovalRequested):
                if event.approval_id in approvals or event.approval_id in fleet.approvals:
                    raise Rejected(
                        409, "duplicate_approval",
                        f"events[{index}].approval_id: approval {event.approval_id!r} exists",
                        [{"index": index, "field": "approval_id", "message": "already exists"}],
                    )
                approvals.add(event.approval_id)
