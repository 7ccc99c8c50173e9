"""The HTTP routes, one module per part of the API; `ROUTERS` is what the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from agentops_tui.server.routes import (
    agent_metrics,
    agent_ops,
    alerts,
    approvals,
    audit,
    control,
    costs,
    health,
    hooks,
    ingest,
    notifications,
    otlp,
    queues,
    reads,
    seed_agents,
    seed_work_queues,
    stream,
    tasks,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (health, ingest, stream, reads, control, audit, costs, alerts, approvals,
                   queues, tasks, otlp, hooks, notifications,
                   agent_ops,
                   agent_metrics,
                   )
)
ROUTERS += (seed_agents.router,)  # seed 002's paths (docs/compat.md)
ROUTERS += (seed_work_queues.router,)  # seed 003's paths (docs/compat.md)
