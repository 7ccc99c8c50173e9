"""Run the backend inside this process on a loopback port (the console's embedded mode, tests).

uvicorn runs in its own thread with its own event loop, so the console's loop never waits on
the store and the server behaves exactly as it does standalone: real sockets, real SSE.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from agentops_tui.server import log_filters
from agentops_tui.server.app import create_app
from agentops_tui.server.auth import create_token, revoke_token_value
from agentops_tui.server.context import ServerContext, ServerSettings
from agentops_tui.server.http_server import uvicorn_options
from agentops_tui.server.store.backends import open_connection
from agentops_tui.server.store.database_url import DatabaseUrl
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.writer import WriteContext

T = TypeVar("T")
log = logging.getLogger("agentops.server")


def make_token(
    db_path: Path | str | DatabaseUrl, role: str = "admin", name: str = "console",
    workspace: str = "default",
) -> str:
    """Create a token directly in the database (the server need not run)."""
    conn = open_connection(db_path)
    try:
        return create_token(conn, name=name, role=role, workspace=workspace)  # type: ignore[arg-type]
    finally:
        conn.close()


class StreamClosingServer(uvicorn.Server):
    """uvicorn waits for open responses before it stops; SSE streams never end by
    themselves, so on exit we end them first (clients resume by id elsewhere)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        close_streams(self.config.app)
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
        if self.started and ctx is not None and self.servers and self.servers[0].sockets:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            ctx.store.lock.announce(f"http://{_url_host(host)}:{port}")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def close_streams(app: object) -> None:
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    if ctx is not None:
        ctx.bus.close_all_threadsafe()


@dataclass
class EmbeddedServer:
    settings: ServerSettings
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "warning"
    # False: leave logging to the host process (the console sends it to a file, because
    # anything written to the terminal would tear through the full-screen UI)
    own_logging: bool = True
    _server: uvicorn.Server | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _app: FastAPI | None = field(default=None, init=False)
    _own_tokens: list[str] = field(default_factory=list, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        app = create_app(self.settings)
        self._app = app
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level=self.log_level,
            lifespan="on", access_log=False, timeout_graceful_shutdown=2,
            log_config=LOGGING_CONFIG if self.own_logging else None,
            **uvicorn_options(self.settings),
        )
        if self.own_logging:
            log_filters.install()  # after Config, which (re)configures uvicorn's handlers
        self._server = StreamClosingServer(config)
        self._thread = threading.Thread(target=self._serve, name="agentops-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"embedded server did not start on {self.host}")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self.url

    def _serve(self) -> None:
        assert self._server is not None
        logging.getLogger("uvicorn.error").setLevel(self.log_level.upper())
        asyncio.run(self._server.serve())

    def run_job(self, job: Callable[[WriteContext], T], timeout: float = 10.0) -> T:
        """Run a writer job from another thread (maintenance passes, tests)."""
        assert self._app is not None
        ctx: ServerContext = self._app.state.ctx
        result: T = ctx.store.writer.submit(job).result(timeout)
        return result

    def issue_token(self, role: str = "admin", name: str = "console") -> str:
        """A token for this server's own client, revoked when the server stops."""
        token = make_token(self.settings.db_path, role, name)
        self._own_tokens.append(token)
        return token

    def stop(self) -> None:
        self._revoke_own_tokens()  # first: nothing may use them while the server winds down
        if self._server is not None:
            close_streams(self._server.config.app)
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _revoke_own_tokens(self) -> None:
        while self._own_tokens:
            token = self._own_tokens.pop()
            try:
                conn = open_connection(self.settings.db_path)
                try:
                    revoke_token_value(conn, token)
                finally:
                    conn.close()
            except (DatabaseUnusable, *DRIVER_ERRORS.database) as exc:  # type: ignore[misc]
                log.warning("could not revoke this server's own token: %s", exc)
