"""GET /api/v1/audit: the operator action log as JSON, JSON Lines or CSV."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from agentops_tui.models import Timestamp
from agentops_tui.server import audit
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, expensive_read, get_ctx
from agentops_tui.server.routes.params import TimeParam
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["audit"])


def _time(name: str, raw: str | None) -> float | None:
    if raw is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(Timestamp).validate_python(raw)
    except ValidationError:
        raise Rejected(
            422, "invalid_request", f"{name}: expected epoch seconds or ISO 8601, got {raw!r}"
        ) from None


_TEXT = {"schema": {"type": "string"}}


@router.get("/audit", responses={200: {
    "description": "`entries` as JSON, one entry per line (`format=jsonl`) or CSV (`format=csv`)",
    "content": {"application/x-ndjson": _TEXT, "text/csv": _TEXT},
}})
async def audit_log(
    format: Literal["json", "jsonl", "csv"] = "json",
    since: TimeParam | None = Query(None, description="epoch seconds or ISO 8601"),
    until: TimeParam | None = Query(None, description="epoch seconds or ISO 8601"),
    actor: str | None = None,
    action: str | None = Query(None, description="exact, or a prefix ending in '.' or '*'"),
    limit: int = Query(1000, ge=1, le=100_000),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    """Who did what to which target, with what result, when and from where. Newest first."""
    start, end = _time("since", since), _time("until", until)
    entries = await ctx.store.read(lambda conn: audit.query(
        conn, principal.workspace, since=start, until=end, actor=actor, action=action,
        limit=limit,
    ))
    if format == "jsonl":
        return PlainTextResponse(audit.to_jsonl(entries), media_type="application/x-ndjson")
    if format == "csv":
        return PlainTextResponse(
            audit.to_csv(entries), media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="agentops-audit.csv"'},
        )
    return JSONResponse({"entries": [e.model_dump() for e in entries]})
