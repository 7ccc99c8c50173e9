"""Ingest events as the server handles them: msgspec structs, decoded in one pass.

`agentops_tui.models` stays the public schema (the OpenAPI document, the error messages).
These structs mirror it field for field with the same limits, and decode a typical batch
about six times faster than the pydantic models validate it. They are deliberately
narrower: snake_case keys only, no unknown keys, no `5.0` for an integer, no ISO
8601 time. Whatever they do not take, `decode_fast` hands back as None and the caller
validates with the pydantic models, so what is accepted, and how a refusal reads, is
exactly what the models say; a parity test checks that whatever the structs accept the
models accept, with equal values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from agentops_tui import models
from agentops_tui.wire_values import (
    EPOCH_2100,
    ID_PATTERN,
    MAX_COST_USD,
    MAX_DURATION_MS,
    MAX_TOKENS,
)

# Python's `$` also matches before a final newline; the models' (Rust) regex does not.
_ID_RE = re.compile(ID_PATTERN.removesuffix("$") + r"\Z")

# the id rule is checked after decoding (`_ids_usable`): a regex per id in the decoder
# would cost more than the rest of the decoding
Id = Annotated[str, Meta(min_length=1, max_length=200)]
Key = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=65_536)]
Count = Annotated[int, Meta(ge=0, le=MAX_TOKENS)]
Money = Annotated[float, Meta(ge=0, le=MAX_COST_USD)]
DurationMs = Annotated[float, Meta(ge=0, le=MAX_DURATION_MS)]
# epoch seconds only: an ISO 8601 time is for the models to parse
EventTime = Annotated[float, Meta(ge=0, le=EPOCH_2100)]
Label = Annotated[str, Meta(max_length=100)]
Name = Annotated[str, Meta(max_length=200)]
ToolName = Annotated[str, Meta(min_length=1, max_length=200)]
Title = Annotated[str, Meta(max_length=1000)]
Summary = Annotated[str, Meta(min_length=1, max_length=2000)]
Detail = Annotated[str, Meta(max_length=4000)]


class _Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    type: ClassVar[str]
    ts: EventTime | None = None
    event_key: Key | None = None


class AgentRegistered(_Event, tag="agent.registered", kw_only=True):
    type: ClassVar[str] = "agent.registered"
    agent_id: Id
    name: Name | None = None
    kind: Label = "agent"
    framework: Label = "custom"
    model: Name | None = None
    capabilities: Annotated[list[models.Capability], Meta(max_length=16)] | None = None
    description: Detail | None = None
    avatar: Annotated[str, Meta(max_length=2000)] | None = None


class AgentHeartbeat(_Event, tag="agent.heartbeat", kw_only=True):
    type: ClassVar[str] = "agent.heartbeat"
    agent_id: Id
    status: models.AgentStatus | None = None


class SessionStarted(_Event, tag="session.started", kw_only=True):
    type: ClassVar[str] = "session.started"
    session_id: Id
    agent_id: Id
    parent_session_id: Id | None = None
    task_id: Id | None = None
    model: Name | None = None
    title: Title | None = None


class SessionMessage(_Event, tag="session.message", kw_only=True):
    type: ClassVar[str] = "session.message"
    session_id: Id
    role: models.Role = "assistant"
    content: Text
    seq: Count | None = None


class SessionToolCall(_Event, tag="session.tool_call", kw_only=True):
    type: ClassVar[str] = "session.tool_call"
    session_id: Id
    tool: ToolName
    status: Literal["ok", "error"] = "ok"
    duration_ms: DurationMs | None = None
    output: Text | None = None


class SessionUsage(_Event, tag="session.usage", kw_only=True):
    type: ClassVar[str] = "session.usage"
    session_id: Id
    model: Name | None = None
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    cost_usd: Money | None = None
    priced: bool | None = None
    latency_ms: DurationMs | None = None


class SessionStatusChanged(_Event, tag="session.status", kw_only=True):
    type: ClassVar[str] = "session.status"
    session_id: Id
    status: models.ReportedStatus
    detail: Detail | None = None
    progress: Annotated[float, Meta(ge=0, le=1)] | None = None


class SessionEnded(_Event, tag="session.ended", kw_only=True):
    type: ClassVar[str] = "session.ended"
    session_id: Id
    status: models.EndStatus = "completed"
    error: Text | None = None


class ApprovalRequested(_Event, tag="approval.requested", kw_only=True):
    type: ClassVar[str] = "approval.requested"
    approval_id: Id
    session_id: Id
    summary: Summary
    detail: Text | None = None


WireEvent = (
    AgentRegistered
    | AgentHeartbeat
    | SessionStarted
    | SessionMessage
    | SessionToolCall
    | SessionUsage
    | SessionStatusChanged
    | SessionEnded
    | ApprovalRequested
)

STRUCTS: dict[str, type[WireEvent]] = {
    cls.type: cls for cls in (
        AgentRegistered, AgentHeartbeat, SessionStarted, SessionMessage, SessionToolCall,
        SessionUsage, SessionStatusChanged, SessionEnded, ApprovalRequested)
}
# what the log keeps of each type: its fields but `ts` and `event_key`, in the models' order
_DATA_FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(f for f in cls.__struct_fields__ if f not in ("ts", "event_key"))
    for name, cls in STRUCTS.items()
}
_ID_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f for f in cls.__struct_fields__ if f.endswith("_id"))
    for cls in STRUCTS.values()
}


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[WireEvent], Meta(max_length=1000)]


class WireBatch:
    """The events of one ingest request (or of one OTLP export or hook), ready to enrich."""

    __slots__ = ("events",)

    def __init__(self, events: list[WireEvent]) -> None:
        self.events = events

    @classmethod
    def from_models(cls, events: Iterable[Any]) -> WireBatch:
        """Events the pydantic models validated (`models.IngestEvent`), as structs."""
        return cls([from_model(e) for e in events])


_decoder = msgspec.json.Decoder(_Batch)


def decode_fast(body: bytes) -> WireBatch | None:
    """The batch, if the structs take it; None when the models must decide."""
    try:
        events = _decoder.decode(body).events
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if not _ids_usable(events):
        return None
    return WireBatch(events)


def _ids_usable(events: list[WireEvent]) -> bool:
    """Every id follows `ID_PATTERN`. An ASCII id does when it is printable, holds no '/'
    and is not '.' or '..' (what the pattern says of ASCII); others take the regex."""
    for event in events:
        for name in _ID_FIELDS[type(event)]:
            value = getattr(event, name)
            if value is None:
                continue
            if value.isascii():
                if not value.isprintable() or "/" in value or value == "." or value == "..":
                    return False
            elif _ID_RE.match(value) is None:
                return False
    return True


def from_model(event: Any) -> WireEvent:
    """One validated pydantic ingest event as its struct (no validation: it had it)."""
    fields = event.__dict__.copy()
    cls = STRUCTS[fields.pop("type")]
    return cls(**fields)


def event_data(event: WireEvent) -> dict[str, Any]:
    """What the log keeps of an ingest event: its type and fields but `ts` and
    `event_key`, keyed in the order `model_dump` gives them."""
    data: dict[str, Any] = {"type": event.type}
    for name in _DATA_FIELDS[event.type]:
        data[name] = getattr(event, name)
    return data

