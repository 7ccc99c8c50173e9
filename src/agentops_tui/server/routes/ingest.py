"""POST /api/v1/ingest: answer 202 only once the batch is committed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import IngestBatch
from agentops_tui.pricing import Cost
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, operator
from agentops_tui.server.ingest.rest import MAX_BYTES, IngestJob, enrich, parse_batch
from agentops_tui.server.ingest.wire import SessionUsage
from agentops_tui.server.openapi import answers
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["ingest"])


async def read_limited(request: Request, limit: int = MAX_BYTES) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes before buffering it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, "too_large", f"body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "too_large", f"body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/ingest",
    status_code=202,
    responses=answers(409),  # an approval id that exists (`duplicate_approval`)
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": IngestBatch.model_json_schema()}},
        }
    },
)
async def ingest(
    request: Request,
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> JSONResponse:
    """Append up to 1000 events (1 MiB). All or nothing; `event_key` makes retries no-ops."""
    body = await read_limited(request)
    batch = parse_batch(body)

    def cost(usage: SessionUsage) -> Cost:
        return ctx.prices.cost(
            usage.model, usage.input_tokens, usage.output_tokens,
            usage.cache_read_tokens, usage.cache_write_tokens,
        )

    def session_models(ids: set[str]) -> dict[str, str | None]:
        def pick(fleet: Fleet) -> dict[str, str | None]:
            return {i: fleet.sessions[i].model for i in ids if i in fleet.sessions}

        found: dict[str, str | None] = ctx.store.with_fleet(principal.workspace, pick)
        return found

    enrich(batch, cost, session_models)
    result = await ctx.store.write(IngestJob(ctx.store, principal.workspace, batch))
    ctx.metrics.ingested(principal.workspace, "rest", result.accepted)
    return JSONResponse(result.model_dump(), status_code=202)
