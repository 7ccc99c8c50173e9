"""OTLP/HTTP trace export: decode a request body into flat spans, encode the answers.

Both encodings of the OTLP/HTTP spec are read: binary protobuf (`application/x-protobuf`)
and the OTLP JSON mapping (`application/json`: lowerCamelCase keys, trace and span ids as
hex, 64-bit integers possibly as strings). A body may be gzip-compressed. Answers use the
encoding of the request: an `ExportTraceServiceResponse` on success (with `partialSuccess`
when some spans were unusable) and a `google.rpc.Status` for a failed request.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from pydantic_core import from_json

from agentops_tui.server.store.writer import Rejected

MAX_BYTES = 4 * 1024 * 1024  # as sent, and again once decompressed
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = {PROTOBUF, "application/protobuf"}
_ID_FIELDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")

STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


@dataclass(frozen=True)
class SpanRecord:
    """One span with what the mapping needs, ids as lowercase hex."""

    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    start: float  # seconds since the epoch; 0.0 when the exporter left it out
    end: float
    status_code: int
    status_message: str
    attrs: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    exception: str | None = None  # the message of the last `exception` span event
    problems: list[str] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header; 415 for anything OTLP does not use."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    if bare in _PROTOBUF_TYPES:
        return PROTOBUF
    if bare == JSON:
        return JSON
    shown = bare or "none"
    raise Rejected(
        415, "unsupported_media",
        f"Content-Type {shown!r} is not supported; send {PROTOBUF} or {JSON}",
        {"supported": [PROTOBUF, JSON]},
    )


def decompress(body: bytes, encoding: str | None) -> bytes:
    """Undo `Content-Encoding: gzip`, refusing (413) output over `MAX_BYTES`."""
    name = (encoding or "identity").strip().lower()
    if name == "identity" or not name:
        return body
    if name not in ("gzip", "x-gzip"):
        raise Rejected(
            415, "unsupported_encoding",
            f"Content-Encoding {name!r} is not supported; send gzip or no encoding",
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BYTES + 1)
    except zlib.error as exc:
        raise Rejected(400, "bad_gzip", f"body is not valid gzip: {exc}") from None
    if len(out) > MAX_BYTES or inflater.unconsumed_tail:
        raise Rejected(413, "too_large", f"decompressed body exceeds the {MAX_BYTES}-byte limit")
    return out


def decode(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """Parse a (decompressed) body; 400 naming the problem when it is not an export request."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise Rejected(
                400, "bad_protobuf", f"body is not an ExportTraceServiceRequest: {exc}"
            ) from None
        return request
    try:  # bounded nesting, and no lone surrogates (they could not be stored)
        raw = from_json(body)
    except ValueError as exc:
        raise Rejected(400, "malformed_json", f"request body is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise Rejected(400, "bad_request", 'body must be an object {"resourceSpans": [...]}')
    hex_ids_to_base64(raw)
    try:
        json_format.ParseDict(raw, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise Rejected(400, "bad_request", f"body is not an OTLP trace export: {exc}") from None
    return request


def hex_ids_to_base64(raw: dict[str, Any]) -> None:
    """OTLP JSON carries ids as hex where the protobuf JSON mapping expects base64."""
    for rs in _dicts(raw.get("resourceSpans", raw.get("resource_spans"))):
        for ss in _dicts(rs.get("scopeSpans", rs.get("scope_spans"))):
            for span in _dicts(ss.get("spans")):
                _convert_ids(span)
                for link in _dicts(span.get("links")):
                    _convert_ids(link)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _convert_ids(obj: dict[str, Any]) -> None:
    for key in _ID_FIELDS:
        value = obj.get(key)
        if isinstance(value, str):
            try:
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                obj[key] = base64.b64encode(b"\x00").decode()  # flagged as a bad id later


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:
        assert isinstance(kv, KeyValue)
        out[kv.key] = any_value(kv.value)
    return out


def spans(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    """Every span of the request, flattened with its resource and scope."""
    out: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(_record(span, resource, ss.scope.name))
    return out


def _record(span: Span, resource: dict[str, Any], scope: str) -> SpanRecord:
    problems = []
    if len(span.trace_id) != 16 or not any(span.trace_id):
        problems.append("traceId must be 16 bytes (32 hex digits), not all zero")
    if len(span.span_id) != 8 or not any(span.span_id):
        problems.append("spanId must be 8 bytes (16 hex digits), not all zero")
    if span.parent_span_id and len(span.parent_span_id) != 8:
        problems.append("parentSpanId must be empty or 8 bytes (16 hex digits)")
    exception = None
    for event in span.events:
        if event.name == "exception":
            found = attributes(event.attributes)
            exception = str(found.get("exception.message") or found.get("exception.type") or "")
    parent = span.parent_span_id.hex() if any(span.parent_span_id) else ""
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=parent,
        name=span.name,
        start=span.start_time_unix_nano / 1e9,
        end=span.end_time_unix_nano / 1e9,
        status_code=span.status.code,
        status_message=span.status.message,
        attrs=attributes(span.attributes),
        resource=resource,
        scope=scope,
        exception=exception or None,
        problems=problems,
    )


# ---- answers -------------------------------------------------------------------------------


def success(kind: str, rejected: int = 0, message: str = "") -> tuple[bytes, str]:
    """An ExportTraceServiceResponse in the request's encoding."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString(), PROTOBUF
    return json.dumps(json_format.MessageToDict(response)).encode(), JSON


_GRPC_CODES = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 422: 3, 503: 14}


def failure(kind: str, status: int, code: str, message: str, details: Any = None) -> bytes:
    """A `google.rpc.Status` for a failed request. In JSON it also carries this API's own
    `{"error": {...}}` object, so either kind of client can read it."""
    grpc = _GRPC_CODES.get(status, 2)
    if kind == PROTOBUF:
        text = message.encode()
        return b"\x08" + _varint(grpc) + b"\x12" + _varint(len(text)) + text
    body = {
        "code": grpc, "message": message,
        "error": {"code": code, "message": message, "details": details},
    }
    return json.dumps(body).encode()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

