"""The app factory: `create_app(settings)` wires store, fan-out, auth and routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agentops_tui import __version__
from agentops_tui.pricing import PriceTable
from agentops_tui.server import errors
from agentops_tui.server.auth import TokenCache
from agentops_tui.server.bus import Bus
from agentops_tui.server.context import ServerContext, ServerSettings
from agentops_tui.server.routes import health, ingest, reads, stream
from agentops_tui.server.schema import connect
from agentops_tui.server.store import Store


def create_app(settings: ServerSettings) -> FastAPI:
    store = Store(settings.db_path, retention=settings.retention, synchronous=settings.synchronous)
    bus = Bus(max_clients=settings.max_stream_clients, max_backlog=settings.stream_backlog)
    store.subscribe(bus.publish_threadsafe)
    ctx = ServerContext(
        settings=settings,
        store=store,
        bus=bus,
        tokens=TokenCache(connect(settings.db_path, readonly=True)),
        prices=PriceTable.load(settings.prices_override),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bus.bind(asyncio.get_running_loop())
        store.start()
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="agentops",
        version=__version__,
        description="Backend of the agentops console: ingest, state, stream and control.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    for module in (health, ingest, stream, reads):
        app.include_router(module.router)
    return app
