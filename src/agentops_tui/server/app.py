"""The app factory: `create_app(settings)` wires store, fan-out, auth and routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from agentops_tui import __version__
from agentops_tui.pricing import PriceTable
from agentops_tui.server import errors, observers, openapi, routes
from agentops_tui.server.alerts.engine import evaluate_forever
from agentops_tui.server.auth import TokenLookup
from agentops_tui.server.bus import Bus
from agentops_tui.server.context import ServerContext, ServerSettings
from agentops_tui.server.control import approvals, command_outcomes, queues
from agentops_tui.server.control.presence import presence_forever
from agentops_tui.server.http_limits import BodyLimits
from agentops_tui.server.http_paths import PathChecks
from agentops_tui.server.ingest.claude_code import control as claude_control
from agentops_tui.server.notify.delivery import Notifier
from agentops_tui.server.ops_metrics import OpsMetrics
from agentops_tui.server.rate_limits import RateLimits
from agentops_tui.server.store.backends import token_connection
from agentops_tui.server.store.sqlite import Store

# Where API bodies are posted: `/api/…` and the seed paths served at the root (compat.md).
API_PREFIXES = ("/api/", "/agents/", "/work-queues", "/work-queue-tasks/")


class JsonByDefault:
    """Treat API request bodies as JSON when the client did not say (`curl -d` sends them as
    form data); the routes accept nothing else, so this only spares users a confusing 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIXES):
            headers = [
                (k, v) for k, v in scope["headers"]
                if not (k == b"content-type" and v.startswith(b"application/x-www-form"))
            ]
            if not any(k == b"content-type" for k, _ in headers):
                headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the `$defs` of hand-declared request schemas (ingest parses
    its body itself) moved to `components/schemas` where OpenAPI tools look for them, then
    completed with every status each operation answers (server/openapi.py)."""
    if app.openapi_schema is None:
        spec = FastAPI.openapi(app)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})

        def walk(node: Any) -> Any:
            if isinstance(node, dict):
                schemas.update({k: walk(v) for k, v in node.pop("$defs", {}).items()})
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            if isinstance(node, str) and node.startswith("#/$defs/"):  # $ref and mappings
                return node.replace("#/$defs/", "#/components/schemas/", 1)
            return node

        spec["paths"] = walk(spec["paths"])
        app.openapi_schema = openapi.complete(spec, app.routes)
    return app.openapi_schema


# Background loops started with the app and cancelled at shutdown, each given the context.
# Add a feature's loop here (command expiry, SLA sweeper, alert evaluator, ...).
BackgroundLoop = Callable[[ServerContext], Coroutine[Any, Any, None]]


def background_loops() -> list[BackgroundLoop]:
    return [command_outcomes.expire_commands_forever, presence_forever, evaluate_forever,
            queues.sla_forever]


LEADER_CHECK_SECONDS = 0.5


async def while_leading(loop: BackgroundLoop, ctx: ServerContext) -> None:
    """Run `loop` while this replica leads (on SQLite: always), stopping it when the
    leadership is lost and starting it again when it is regained. The jobs are idempotent,
    so a tick run by the old leader and again by the new one changes nothing twice."""
    store = ctx.store
    while True:
        while not store.is_leader:
            await asyncio.sleep(LEADER_CHECK_SECONDS)
        task = asyncio.create_task(loop(ctx))
        try:
            while store.is_leader and not task.done():
                await asyncio.sleep(LEADER_CHECK_SECONDS)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.sleep(LEADER_CHECK_SECONDS)  # a loop that failed is not restarted hot


def create_app(settings: ServerSettings) -> FastAPI:
    prices = PriceTable.load(settings.prices_override)  # before the store takes its lock
    store = Store(settings.db_path, retention=settings.retention, synchronous=settings.synchronous)
    bus = Bus(max_clients=settings.max_stream_clients, max_backlog=settings.stream_backlog,
              max_waiters=settings.max_long_polls, max_per_owner=settings.max_streams_per_token)
    store.subscribe(bus.publish_threadsafe)
    ctx = ServerContext(
        settings=settings,
        store=store,
        bus=bus,
        tokens=TokenLookup(token_connection(store.url)),
        prices=prices,
        limits=RateLimits(settings.auth_failures_per_minute, settings.expensive_reads_per_minute),
        metrics=OpsMetrics(store, bus),
    )
    store.subscribe(ctx.metrics.record)
    observers.install(ctx)  # rollup observers and the alert engine, before the writer starts
    # each reaction is registered for the types it acts on (it checks them too)
    store.writer.react(approvals.mark_waiting, "approval.requested")
    store.writer.react(approvals.expire_with_session, "session.ended")
    store.writer.react(command_outcomes.expire_with_session, "session.ended")
    store.writer.react(claude_control.forget_ended, "session.ended")
    store.writer.react(queues.link_session, "session.started")
    notifier = Notifier(settings.notify, store, backoff_seconds=settings.notify_retry_seconds)
    if settings.notify:  # every replica sees every event: the leader notifies
        store.subscribe(lambda events: notifier.on_commit(events) if store.is_leader else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bus.bind(asyncio.get_running_loop())
        store.start()
        notifier.start()
        tasks = [asyncio.create_task(while_leading(loop, ctx)) for loop in background_loops()]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            # before the store closes: the workers' last log rows go to its writer
            await asyncio.to_thread(notifier.stop)
            store.close()
            ctx.tokens.close()

    app = FastAPI(
        title="agentops",
        version=__version__,
        description="Backend of the agentops console: ingest, state, stream and control.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    errors.install(app)
    app.add_middleware(JsonByDefault)
    # Added last, so it runs first: bodies are capped before routing and auth.
    app.add_middleware(BodyLimits, body_timeout=settings.body_timeout_seconds)
    app.add_middleware(PathChecks)  # encoded slashes and HEAD, before anything else
    for router in routes.ROUTERS:
        app.include_router(router)
    return app
