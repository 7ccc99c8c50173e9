"""Alerts: list them, acknowledge one, read the thresholds in force."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from agentops_tui.models import Alert, AlertSubject
from agentops_tui.reports import AlertEngineStatus, AlertList
from agentops_tui.server.alerts import engine, records
from agentops_tui.server.audit import audited_as
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, operator, viewer
from agentops_tui.server.control import commands
from agentops_tui.server.openapi import DESCRIPTIONS, answers
from agentops_tui.server.routes.control import actor_of
from agentops_tui.server.routes.params import AlertStatusFilter, split
from agentops_tui.server.store.writer import Rejected, WriteContext

router = APIRouter(prefix="/api/v1", tags=["alerts"])

_NOT_RUNNING = "Alerting is not running on this server (`unavailable`)."


def _engine(ctx: ServerContext) -> engine.AlertEngine:
    if ctx.alert_engine is None:
        raise Rejected(503, "unavailable", "alerting is not running on this server")
    return ctx.alert_engine


@router.get("/alerts", response_model=AlertList)
async def list_alerts(
    status: list[AlertStatusFilter] | None = Query(None, description="repeat or comma-separate"),
    rule: str | None = None,
    subject_type: AlertSubject | None = None,
    subject_id: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, list[Alert]]:
    """Alerts newest first; every status unless `status` says otherwise."""
    wanted = split(status)
    found = await ctx.store.read(
        lambda conn: records.query(conn, principal.workspace, wanted, rule, subject_type,
                                  subject_id, limit)
    )
    return {"alerts": found}


@router.post("/alerts/{alert_id}/ack", response_model=Alert,
             responses=answers(409, 503, s503=f"{DESCRIPTIONS[503]} {_NOT_RUNNING}"),
             openapi_extra=audited_as("alert.ack"))
async def ack_alert(
    alert_id: str,
    request: Request,
    principal: Principal = Depends(operator),
    ctx: ServerContext = Depends(get_ctx),
) -> Alert:
    """Acknowledge an open alert (it stays until its condition clears). Resolved → 409."""
    engine = _engine(ctx)
    actor = actor_of(request, principal)

    def body(wctx: WriteContext) -> Alert:
        return engine.ack(wctx, principal.workspace, alert_id, actor)

    outcome = await ctx.store.write(commands.audited("alert.ack", alert_id, None, actor, body))
    acked: Alert = outcome.unwrap()
    return acked


@router.get("/alerts/engine", response_model=AlertEngineStatus,
            responses=answers(503, s503=_NOT_RUNNING))
async def alert_engine(
    principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx)
) -> dict[str, Any]:
    """Whether the evaluator is alive (passes so far, time of the last one) and the
    thresholds in force (defaults merged with the config file's `[alerts]`)."""
    engine = _engine(ctx)
    return {
        "evaluations": engine.evaluations,
        "last_evaluation": engine.last_evaluation,
        "settings": engine.settings.model_dump(),
    }
