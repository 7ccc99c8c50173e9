"""POST /v1/traces: OTLP/HTTP trace export, answered once the spans' events are durable."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from pydantic import TypeAdapter, ValidationError

from agentops_tui.models import IngestEvent
from agentops_tui.pricing import Cost
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, operator
from agentops_tui.server.ingest.otlp.decode import (
    JSON,
    MAX_BYTES,
    PROTOBUF,
    SpanRecord,
    decode,
    decompress,
    failure,
    media_type,
    spans,
    success,
)
from agentops_tui.server.ingest.otlp.mapping import SpanDraft, draft
from agentops_tui.server.ingest.otlp.spans import OtlpJob
from agentops_tui.server.ingest.rest import format_loc
from agentops_tui.server.ingest.wire import SessionUsage
from agentops_tui.server.routes.ingest import read_limited
from agentops_tui.server.store.writer import Rejected

router = APIRouter(tags=["otlp"])

_event_adapter: TypeAdapter[IngestEvent] = TypeAdapter(IngestEvent)
_SHOWN_PROBLEMS = 5


def prepare(records: list[SpanRecord]) -> tuple[list[SpanDraft], list[str]]:
    """Drafts of the usable spans, and one line per span that is not usable."""
    drafts: list[SpanDraft] = []
    problems: list[str] = []
    for index, record in enumerate(records):
        name = f"spans[{index}]" + (f" ({record.span_id})" if record.span_id.strip("0") else "")
        if record.problems:
            problems.append(f"{name}: {record.problems[0]}")
            continue
        d = draft(record)
        try:
            for event in [*d.opening, *d.closing, *d.events]:
                _event_adapter.validate_python({"session_id": "-", **event})
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            loc = format_loc(tuple(p for p in first["loc"] if "." not in str(p)))
            problems.append(f"{name}: cannot map it ({loc}: {first['msg']})")
            continue
        drafts.append(d)
    return drafts, problems


def ctx_cost(ctx: ServerContext) -> Callable[[SessionUsage], Cost]:
    """Prices a usage report with the server's price table."""

    def cost(usage: SessionUsage) -> Cost:
        return ctx.prices.cost(
            usage.model, usage.input_tokens, usage.output_tokens,
            usage.cache_read_tokens, usage.cache_write_tokens,
        )

    return cost


# OTLP answers in the request's encoding: an ExportTraceServiceResponse, or a google.rpc.Status
# for a refusal. Token and role refusals come before the body is read, in the error envelope.
_OTLP_CONTENT = {
    PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
    JSON: {"schema": {"type": "object"}},
}


def _otlp(description: str) -> dict[str, object]:
    return {"description": description, "content": _OTLP_CONTENT}


_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            JSON: {"schema": {"type": "object", "description": "OTLP JSON trace export"}},
        },
    },
    "responses": {
        "200": _otlp("ExportTraceServiceResponse, in the request's encoding"),
        "400": _otlp("the body is not an OTLP trace export (google.rpc.Status)"),
        "413": _otlp(f"the body is over {MAX_BYTES} bytes (also once decompressed)"),
        "415": _otlp("Content-Type is neither application/x-protobuf nor JSON"),
        "422": _otlp("no span of the export could be mapped (google.rpc.Status)"),
    },
}


@router.post("/v1/traces", openapi_extra=_DOC)
async def export_traces(
    request: Request,
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """OTLP/HTTP traces (protobuf or JSON, optionally gzip). GenAI spans become agents,
    sessions, usage, tool calls and messages; see docs/ingest-otel.md for the mapping."""
    kind = JSON
    try:
        kind = media_type(request.headers.get("content-type"))
        body = await read_limited(request, MAX_BYTES)
        body = decompress(body, request.headers.get("content-encoding"))
        records = spans(decode(body, kind))
        drafts, problems = prepare(records)
        if drafts:
            accepted = await ctx.store.write(
                OtlpJob(ctx.store, principal.workspace, drafts, ctx_cost(ctx)))
            ctx.metrics.ingested(principal.workspace, "otlp", accepted.accepted)
    except Rejected as exc:
        content = failure(kind, exc.status, exc.code, exc.message, exc.details)
        return Response(content, status_code=exc.status, media_type=kind)
    message = ""
    if problems:
        more = len(problems) - _SHOWN_PROBLEMS
        message = "; ".join(problems[:_SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
    content, media = success(kind, len(problems), message)
    return Response(content, status_code=200, media_type=media)

