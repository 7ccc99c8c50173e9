"""The structs that decode ingest batches take nothing the public models refuse, and what
they take they read as the models do (same values, same types, same key order).

Bodies are built from (key, value) pairs, so they can repeat a key, and their values range
from valid ones to every kind of wrong: other JSON types, `true` for 1, `5.0` for 5, strings
for numbers, out-of-range and huge numbers, NaN, lone surrogates, long and odd strings,
nested values, camelCase and unknown keys, missing fields, unknown types.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from agentops_tui.models import IngestBatch
from agentops_tui.server.ingest.rest import parse_batch
from agentops_tui.server.ingest.wire import decode_fast, event_data, from_model
from agentops_tui.server.store.writer import Rejected
from agentops_tui.wire_values import EPOCH_2100, ID_PATTERN, MAX_COST_USD, MAX_DURATION_MS

_adapter: TypeAdapter[IngestBatch] = TypeAdapter(IngestBatch)
_settings = settings(max_examples=400, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])

# ---- wrong values ---------------------------------------------------------------------------

SURROGATE = "\ud800"
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(2**70), 2**70), st.sampled_from([-1, 10**12 + 1, 2**63, 2**64, 10**30]),
    st.integers(0, 10**6).map(float),  # 5.0 for 5
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e400, -0.0, 1e-320, EPOCH_2100 + 1, MAX_COST_USD + 0.5]),
    st.text(max_size=8),
    st.sampled_from(["5", "1e3", " 7 ", "2026-01-01T00:00:00Z", "2026-01-01", "nan", "inf",
                     "", ".", "..", "a/b", "a\n", "a\x00", "\x85", "x" * 201, "x" * 2001,
                     SURROGATE, f"a{SURROGATE}b", "\udc00\ud800", "\ud83d\ude00"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=5), inner, max_size=3), max_leaves=8)
deep = st.integers(30, 40).map(lambda n: json.loads("[" * n + "]" * n))
wrong = json_values | deep

# ---- values, field by field: valid ones, and near misses ------------------------------------


class Kind:
    """What a field takes, and values just outside it (the wrong kind of number, one
    character too many, a value the models coerce)."""

    def __init__(self, valid: st.SearchStrategy[Any], near: list[Any]) -> None:
        self.valid = valid
        self.near_values = near
        self.near = st.one_of(st.sampled_from(near), st.sampled_from(near), wrong)


def _edge_strings(max_length: int, min_length: int) -> list[str]:
    return ["x" * max_length, "x" * (max_length + 1), "é" * max_length,
            "🙂" * (max_length + 1), "x" * max(min_length - 1, 0), SURROGATE, f"a{SURROGATE}"]


def text(max_length: int, min_length: int = 0) -> Kind:
    return Kind(
        st.text(min_size=min_length, max_size=min(max_length, 40))
        | st.sampled_from(["x" * max_length, "🙂" * max_length, "x" * min_length]),
        [*_edge_strings(max_length, min_length), None])


ID = Kind(
    st.from_regex(ID_PATTERN.removesuffix("$") + r"\Z", fullmatch=True).filter(
        lambda s: len(s) <= 200) | st.sampled_from(["a", "...", ".a", "x" * 200, "é🙂", "a b"]),
    ["", ".", "..", "a/b", "/", "a\n", "\na", "a\r", "a\x00", "a\x1f", "a\x7f", "a\x85",
     "a\x9f", "a\u2028", "x" * 201, SURROGATE, "./a", "../a", "a.", "...", None, 5])
KEY = Kind(st.text(min_size=1, max_size=40) | st.just("k" * 200),
           ["", "k" * 201, SURROGATE, "k\n", 5])


def number(high: float) -> Kind:
    return Kind(
        st.floats(0, high) | st.integers(0, int(high)) | st.sampled_from([0, high, -0.0]),
        [-1, -1e-300, high * (1 + 1e-15), int(high) + 1, 2**63, 2**64 + 1, 10**400, "5",
         "2026-01-01T00:00:00Z", " 7 ", "1e3", "nan", True, False, float("nan"),
         float("inf"), -float("inf"), [], {}])


COUNT = Kind(
    st.integers(0, 10**12) | st.sampled_from([0, 10**12]),
    [-1, 10**12 + 1, 2**63, 2**64, 10**30, 5.0, 0.0, -0.0, 1e12, 5.5, "5", True, False,
     float("inf"), float("nan"), None])


def one_of(*values: Any) -> Kind:
    near = [v.upper() for v in values] + [v + " " for v in values] + ["", 1, True, []]
    return Kind(st.sampled_from(values), near)


CAPABILITIES = Kind(
    st.lists(st.sampled_from(
        ["pause", "resume", "inject", "redirect", "kill", "spawn", "approve"]), max_size=16),
    [["pause"] * 17, ["fly"], "pause", [None], [1], {"pause": 1}])
BOOL = Kind(st.booleans(), [0, 1, "true", "false", 1.0])

# type -> field -> (what it takes, required)
FIELDS: dict[str, dict[str, tuple[Kind, bool]]] = {
    "agent.registered": {
        "agent_id": (ID, True), "name": (text(200), False), "kind": (text(100), False),
        "framework": (text(100), False), "model": (text(200), False),
        "capabilities": (CAPABILITIES, False)},
    "agent.heartbeat": {
        "agent_id": (ID, True),
        "status": (one_of("idle", "running", "waiting", "paused", "error", "offline"), False)},
    "session.started": {
        "session_id": (ID, True), "agent_id": (ID, True), "parent_session_id": (ID, False),
        "task_id": (ID, False), "model": (text(200), False), "title": (text(1000), False)},
    "session.message": {
        "session_id": (ID, True),
        "role": (one_of("system", "user", "assistant", "tool", "operator"), False),
        "content": (text(65_536), True), "seq": (COUNT, False)},
    "session.tool_call": {
        "session_id": (ID, True), "tool": (text(200, min_length=1), True),
        "status": (one_of("ok", "error"), False),
        "duration_ms": (number(MAX_DURATION_MS), False), "output": (text(65_536), False)},
    "session.usage": {
        "session_id": (ID, True), "model": (text(200), False),
        "input_tokens": (COUNT, False), "output_tokens": (COUNT, False),
        "cache_read_tokens": (COUNT, False), "cache_write_tokens": (COUNT, False),
        "cost_usd": (number(MAX_COST_USD), False), "priced": (BOOL, False)},
    "session.status": {
        "session_id": (ID, True), "status": (one_of("running", "waiting", "paused"), True),
        "detail": (text(4000), False)},
    "session.ended": {
        "session_id": (ID, True), "status": (one_of("completed", "failed", "killed"), False),
        "error": (text(65_536), False)},
    "approval.requested": {
        "approval_id": (ID, True), "session_id": (ID, True),
        "summary": (text(2000, min_length=1), True), "detail": (text(65_536), False)},
}
COMMON: dict[str, tuple[Kind, bool]] = {
    "ts": (number(EPOCH_2100), False), "event_key": (KEY, False)}



def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@st.composite
def events(draw: st.DrawFn, hostile: bool) -> list[tuple[str, Any]]:
    """One event as (key, value) pairs; with `hostile`, often one thing is wrong with it
    (one thing, so the structs see each kind of wrong alone, among valid neighbours)."""
    type_ = draw(st.sampled_from(sorted(FIELDS)))
    pairs: list[tuple[str, Any]] = [("type", type_)]
    fields = {**FIELDS[type_], **COMMON}
    for name, (kind, required) in fields.items():
        if required or draw(st.booleans()):
            pairs.append((name, draw(kind.valid)))
    fault = draw(st.integers(0, 14)) if hostile else 0
    if 1 <= fault <= 7:  # a wrong value, most often just outside what the field takes
        name = draw(st.sampled_from(sorted(fields)))
        pairs = [p for p in pairs if p[0] != name] + [(name, draw(fields[name][0].near))]
    elif fault == 8:  # null for a field that may be absent
        optional = [n for n, (_, req) in fields.items() if not req]
        pairs.append((draw(st.sampled_from(optional)), None))
    elif fault == 9 and len(pairs) > 1:  # a field missing
        del pairs[draw(st.integers(1, len(pairs) - 1))]
    elif fault == 10:  # an unknown field
        pairs.append((draw(st.sampled_from(["extra", "Type", "id", "ts "])), draw(wrong)))
    elif fault == 11:  # camelCase keys
        pairs = [(_camel(k), v) for k, v in pairs]
    elif fault == 12:  # a key twice
        key, _ = draw(st.sampled_from(pairs))
        pairs.append((key, draw(wrong | st.sampled_from(sorted(FIELDS)))))
    elif fault == 13:  # an unknown or missing type
        pairs[0] = ("type", draw(st.sampled_from(["session.unknown", "", 5, None])))
    elif fault == 14:
        del pairs[0]
    if hostile and draw(st.booleans()):
        draw(st.randoms()).shuffle(pairs)
    return pairs


def _object(pairs: list[tuple[str, Any]]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"


@st.composite
def bodies(draw: st.DrawFn, hostile: bool) -> bytes:
    batch = draw(st.lists(events(hostile=False), max_size=4))
    if hostile:  # one event with something wrong, among valid ones
        batch.insert(draw(st.integers(0, len(batch))), draw(events(hostile=True)))
    text = '{"events":[' + ",".join(_object(e) for e in batch) + "]}"
    if hostile:
        change = draw(st.integers(0, 20))
        if change == 0:
            text = text[:-1] + ',"extra":1}'
        elif change == 1:
            text = json.dumps(draw(wrong))
        elif change == 2:
            text = '{"events":' + json.dumps(draw(wrong)) + "}"
        elif change == 3:
            text = f" \n{text}\t "
        elif change == 4:
            text = text + "x"
        elif change == 5:
            return "\ufeff".encode() + text.encode()
        elif change == 6:
            one = '{"type":"agent.heartbeat","agent_id":"a"}'
            text = '{"events":[' + ",".join([one] * 1001) + "]}"
    if hostile and "\\ud800" in text and draw(st.booleans()):  # raw, not escaped
        return text.replace("\\ud800", SURROGATE).encode("utf-8", "surrogatepass")
    return text.encode()


def _read(event: Any) -> str:
    """An event's values with their types and key order: `5` is not `5.0`, nor `-0.0` 0."""
    return repr([("ts", event.ts), ("event_key", event.event_key), *event_data(event).items()])


def _models(body: bytes) -> list[Any] | None:
    try:
        return list(_adapter.validate_json(body).events)
    except ValidationError:
        return None


def _check(body: bytes) -> None:
    fast = decode_fast(body)
    if fast is None:
        return  # the models decide, as they did before the structs
    accepted = _models(body)
    assert accepted is not None, f"the structs took what the models refuse: {body!r}"
    assert [_read(e) for e in fast.events] == [_read(from_model(m)) for m in accepted]


def _minimal(type_: str) -> dict[str, Any]:
    """The smallest valid event of a type."""
    required = {"agent_id": "a", "session_id": "s", "approval_id": "ap", "content": "c",
                "tool": "t", "status": "running", "summary": "x"}
    return {"type": type_, **{n: required[n] for n, (_, req) in FIELDS[type_].items() if req}}


def test_every_near_miss_of_every_field_alone() -> None:
    """Each value just outside a field, in an otherwise valid event (so nothing else makes
    the structs step aside): taken by both alike, or left to the models."""
    for type_, fields in FIELDS.items():
        for name, (kind, _) in {**fields, **COMMON}.items():
            for value in kind.near_values:
                event = {**_minimal(type_), name: value}
                body = json.dumps({"events": [event]}).encode()
                _check(body)
                if isinstance(value, str) and SURROGATE in value:  # raw, not escaped
                    _check(body.replace(b"\\ud800", SURROGATE.encode("utf-8", "surrogatepass")))


@_settings
@given(bodies(hostile=True))
def test_the_structs_take_nothing_the_models_refuse_and_read_it_alike(body: bytes) -> None:
    _check(body)


@_settings
@given(bodies(hostile=False))
def test_the_structs_take_every_plain_valid_batch(body: bytes) -> None:
    """A batch as the SDK sends it (snake_case, known keys, JSON numbers) never needs the
    models: the fast path is the common path."""
    fast = decode_fast(body)
    accepted = _models(body)
    assert accepted is not None
    assert fast is not None, f"the structs refused a valid batch: {body!r}"
    assert [_read(e) for e in fast.events] == [_read(from_model(m)) for m in accepted]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(bodies(hostile=True))
def test_a_batch_is_accepted_exactly_when_the_models_accept_it(body: bytes) -> None:
    accepted = _models(body)
    try:
        batch = parse_batch(body)
    except Rejected as exc:
        assert accepted is None
        assert 400 <= exc.status < 500
        return
    assert accepted is not None
    assert [_read(e) for e in batch.events] == [_read(from_model(m)) for m in accepted]


def test_the_models_still_name_the_field_a_refusal_is_about() -> None:
    body = json.dumps({"events": [
        {"type": "agent.heartbeat", "agent_id": "a"},
        {"type": "session.usage", "session_id": "s", "input_tokens": True}]}).encode()
    try:
        parse_batch(body)
    except Rejected as exc:
        assert exc.status == 422
        assert exc.message.startswith("events[1].input_tokens: ")
    else:
        raise AssertionError("a bool for a token count was accepted")
