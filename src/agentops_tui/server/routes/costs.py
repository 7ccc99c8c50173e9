"""Costs and metrics: spend per agent/task/model, timelines, fleet and agent figures, tools."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import ACTIVE_SESSION_STATUSES
from agentops_tui.reports import (
    AgentMetrics,
    CostTable,
    CostTimeline,
    CurrentMetrics,
    ToolMetrics,
)
from agentops_tui.server.analytics import costs, metrics
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, expensive_read, get_ctx
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["costs"])

CostGroup = Literal["agent", "task", "model"]
BucketSize = Literal["1m", "5m", "15m", "1h", "1d", "1w", "1mo"]


def _window(default: str, examples: str) -> Any:
    """A `window` parameter: the pattern is the parser's; the range is only in words, as JSON
    Schema cannot compare durations."""
    return Query(default, description=f"e.g. {examples}; at least 1m, at most 90d",
                 json_schema_extra={"pattern": costs.WINDOW_PATTERN})


def _agent_names(ctx: ServerContext, workspace: str) -> dict[str, str]:
    def pick(fleet: Fleet) -> dict[str, str]:
        return {a.id: a.name for a in fleet.agents.values()}

    names: dict[str, str] = ctx.store.with_fleet(workspace, pick)
    return names


@router.get("/costs", response_model=CostTable)
async def cost_table(
    group_by: CostGroup = "agent",
    window: str = _window("24h", "15m, 24h, 7d"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Spend and tokens per agent, task or model over the window, most expensive first."""
    group = costs.parse_group(group_by, required=True)
    assert group is not None
    query = costs.CostQuery(principal.workspace, ctx.settings.clock(),
                            costs.parse_window(window))
    result = await ctx.store.read(lambda conn: costs.cost_rows(conn, query, group), current=True)
    if group == "agent":
        names = _agent_names(ctx, principal.workspace)
        for row in result["rows"]:
            row["name"] = names.get(row["key"], row["key"])
    return {**result, "window": window, "group_by": group}


@router.get("/costs/timeline", response_model=CostTimeline)
async def cost_timeline(
    bucket: BucketSize = Query(
        "1h", description="1w: weeks from Monday 00:00 UTC; 1mo: UTC calendar months;"
        " at most 5000 buckets in the window"),
    window: str = _window("24h", "1h, 24h, 7d"),
    group_by: CostGroup | None = None,
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Spend per time bucket (every bucket of the window, empty ones as zero): fixed sizes,
    UTC weeks starting Monday, or UTC calendar months."""
    size = costs.parse_bucket(bucket)
    group = costs.parse_group(group_by, required=False)
    query = costs.CostQuery(principal.workspace, ctx.settings.clock(),
                            costs.parse_window(window))
    result = await ctx.store.read(
        lambda conn: costs.timeline(conn, query, size, group), current=True
    )
    return {**result, "bucket": bucket, "window": window, "group_by": group}


def _live_counts(fleet: Fleet) -> dict[str, Any]:
    sessions_by_status: dict[str, int] = {s: 0 for s in sorted(ACTIVE_SESSION_STATUSES)}
    for sids in fleet.active_by_agent.values():
        for sid in sids:
            status = fleet.sessions[sid].status
            sessions_by_status[status] = sessions_by_status.get(status, 0) + 1
    agents_by_status: dict[str, int] = {}
    for agent in fleet.agents.values():
        agents_by_status[agent.status] = agents_by_status.get(agent.status, 0) + 1
    alerts = {"open": 0, "acked": 0, "critical": 0, "warning": 0}
    for alert in fleet.alerts.values():
        alerts[alert.status] += 1
        alerts[alert.severity] += 1
    return {
        "active_agents": sum(1 for sids in fleet.active_by_agent.values() if sids),
        "agents": len(fleet.agents),
        "agents_by_status": agents_by_status,
        "active_sessions": sum(sessions_by_status.values()),
        "sessions_by_status": sessions_by_status,
        "alerts": alerts,
    }


@router.get("/metrics/current", response_model=CurrentMetrics)
async def metrics_current(
    principal: Principal = Depends(expensive_read), ctx: ServerContext = Depends(get_ctx)
) -> dict[str, Any]:
    """The fleet right now and today (UTC): activity, outcomes, tokens, spend, alerts."""
    live = ctx.store.with_fleet(principal.workspace, _live_counts)
    now = ctx.settings.clock()
    today = await ctx.store.read(
        lambda conn: metrics.current(conn, principal.workspace, now), current=True
    )
    return {**live, **today, "server_time": now}


@router.get("/metrics/agents/{name}", response_model=AgentMetrics)
async def metrics_agent(
    name: str,
    window: str = _window("7d", "24h, 7d, 30d"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """One agent (by id or name): executions, success rate, duration percentiles, spend,
    and a per-day trend over the window."""
    seconds = costs.parse_window(window)

    def find(fleet: Fleet) -> tuple[str, str, int] | None:
        agent = fleet.agents.get(name)
        if agent is None:
            agent = next((a for a in fleet.agents.values() if a.name == name), None)
        if agent is None:
            return None
        return agent.id, agent.name, len(fleet.active_by_agent.get(agent.id, ()))

    found = ctx.store.with_fleet(principal.workspace, find)
    if found is None:
        raise Rejected(404, "not_found", f"no agent {name!r} (by id or name)")
    agent_id, agent_name, active = found
    now = ctx.settings.clock()
    record = await ctx.store.read(
        lambda conn: metrics.agent_record(conn, principal.workspace, agent_id, now, seconds),
        current=True,
    )
    return {"agent_id": agent_id, "name": agent_name, "window": window,
            "active_sessions": active, **record}


@router.get("/metrics/tools", response_model=ToolMetrics)
async def metrics_tools(
    window: str = _window("24h", "1h, 24h, 7d"),
    agent_id: str | None = Query(None, description="only this agent's calls"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Tool calls over the window: count, share, agents using each, errors, mean duration."""
    seconds = costs.parse_window(window)
    now = ctx.settings.clock()
    result = await ctx.store.read(
        lambda conn: metrics.tools(conn, principal.workspace, now, seconds, agent_id),
        current=True,
    )
    return {**result, "window": window}
