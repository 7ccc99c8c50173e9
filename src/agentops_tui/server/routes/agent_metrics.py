"""Agent analytics under `/api/agents/…`, as the Agent Operations dashboard asks for them
(docs/compat.md): the fleet now, hour by hour, by agent type, one agent's record, tools.

An agent's type is its `kind`; `{agent_name}` is an agent's name (every agent of that name
counts). Figures come from `server/analytics/`; the routes only add what is in memory.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from agentops_tui.agent_reports import (
    AgentPerformance,
    AgentTimeline,
    CurrentAgentMetrics,
    ToolUsageReport,
    TypeDistribution,
)
from agentops_tui.core.fleet import Fleet
from agentops_tui.server.analytics import agent_activity, agent_types, tool_usage
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, expensive_read, get_ctx
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/agents", tags=["agent analytics"])

MAX_HOURS = 720  # 30 days
MAX_DAYS = 90


def _kinds(ctx: ServerContext, workspace: str) -> dict[str, str]:
    def pick(fleet: Fleet) -> dict[str, str]:
        return {a.id: a.kind for a in fleet.agents.values()}

    kinds: dict[str, str] = ctx.store.with_fleet(workspace, pick)
    return kinds


@router.get("/metrics/current", response_model=CurrentAgentMetrics)
async def agents_current(
    principal: Principal = Depends(expensive_read), ctx: ServerContext = Depends(get_ctx)
) -> dict[str, Any]:
    """Active agents with how long each execution has run (and its progress, when the agent
    reports it), and today's (UTC) executions, success rate, durations, tokens and spend."""
    now = ctx.settings.clock()

    def live(fleet: Fleet) -> dict[str, Any]:
        active = [fleet.sessions[sid] for sids in fleet.active_by_agent.values()
                  for sid in sids]
        return {
            "active_agents": sum(1 for sids in fleet.active_by_agent.values() if sids),
            "active_sessions": len(active),
            "active_agent_details": agent_activity.active_details(active, fleet.agents, now),
        }

    now_figures = ctx.store.with_fleet(principal.workspace, live)
    figures = await ctx.store.read(
        lambda conn: agent_activity.today(conn, principal.workspace, now), current=True)
    return {**now_figures, **figures, "server_time": agent_activity.iso_utc(now)}


@router.get("/metrics/timeline", response_model=AgentTimeline)
async def agents_timeline(
    hours: int = Query(24, ge=1, le=MAX_HOURS, description="how many hours back, the"
                       " current one included"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Per hour: executions that ended, their mean duration and success rate, and the agent
    type with the most of them."""
    now = ctx.settings.clock()
    kinds = _kinds(ctx, principal.workspace)
    rows = await ctx.store.read(
        lambda conn: agent_activity.timeline(conn, principal.workspace, now, hours, kinds),
        current=True)
    return {"hours": hours, "timeline": rows}


@router.get("/types/distribution", response_model=TypeDistribution)
async def agent_type_distribution(
    hours: int = Query(24, ge=1, le=MAX_HOURS, description="the window, in hours"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Executions per agent type over the window, with each type's mean duration, success
    rate, tokens, most used tools, and how many agents of it there are."""
    now = ctx.settings.clock()

    def pick(fleet: Fleet) -> tuple[dict[str, str], dict[str, bool]]:
        return ({a.id: a.kind for a in fleet.agents.values()},
                {a: bool(s) for a, s in fleet.active_by_agent.items()})

    kinds, active = ctx.store.with_fleet(principal.workspace, pick)
    result: dict[str, Any] = await ctx.store.read(
        lambda conn: agent_types.distribution(conn, principal.workspace, now, hours, kinds,
                                              active), current=True)
    return result


@router.get("/performance/{agent_name}", response_model=AgentPerformance)
async def agent_performance(
    agent_name: str = Path(..., min_length=1, max_length=200,
                           description="an agent's name (every agent of that name counts)"),
    days: int = Query(7, ge=1, le=MAX_DAYS, description="UTC days back, today included"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Executions, success rate, duration percentiles, tokens per execution and a per-day
    trend of the agents named `agent_name` (an agent id is taken as well)."""

    def find(fleet: Fleet) -> tuple[list[str], str] | None:
        named = sorted((a for a in fleet.agents.values() if a.name == agent_name),
                       key=lambda a: a.id)
        if not named and agent_name in fleet.agents:
            named = [fleet.agents[agent_name]]
        if not named:
            return None
        kinds = sorted({a.kind for a in named})
        return [a.id for a in named], kinds[0] if len(kinds) == 1 else ",".join(kinds)

    found = ctx.store.with_fleet(principal.workspace, find)
    if found is None:
        raise Rejected(404, "not_found", f"no agent named {agent_name!r}")
    agent_ids, agent_type = found
    now = ctx.settings.clock()
    record = await ctx.store.read(
        lambda conn: agent_activity.performance(conn, principal.workspace, agent_ids, now,
                                                days), current=True)
    return {"agent_name": agent_name, "agent_type": agent_type, "agent_ids": agent_ids,
            "days": days, **record}


@router.get("/tools/usage", response_model=ToolUsageReport)
async def tools_usage(
    period: Literal["day", "week"] = Query(
        "day", description="the UTC day so far, or the ISO week (from Monday) so far"),
    principal: Principal = Depends(expensive_read),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Calls per tool in the period: share, mean per execution, which agent types use it;
    insights: the most and least used tools and the tools often used together."""
    now = ctx.settings.clock()
    kinds = _kinds(ctx, principal.workspace)
    result: dict[str, Any] = await ctx.store.read(
        lambda conn: tool_usage.usage(conn, principal.workspace, period, now, kinds),
        current=True)
    return result
