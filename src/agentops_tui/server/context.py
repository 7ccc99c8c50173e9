"""What every route needs, hung on `app.state.ctx`, and the auth dependencies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from agentops_tui.pricing import PriceTable
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.auth import ANONYMOUS_ADMIN, Principal, TokenLookup, hash_token
from agentops_tui.server.bus import Bus
from agentops_tui.server.notify.rules import NotifyRule
from agentops_tui.server.ops_metrics import OpsMetrics
from agentops_tui.server.rate_limits import RateLimits
from agentops_tui.server.store.database_url import DatabaseUrl
from agentops_tui.server.store.sqlite import Retention, Store
from agentops_tui.server.store.writer import Rejected

if TYPE_CHECKING:
    from agentops_tui.server.alerts.engine import AlertEngine


@dataclass(frozen=True)
class ServerSettings:
    # the database: a SQLite file, or a URL (sqlite:///path, postgresql://...)
    db_path: Path | str | DatabaseUrl
    auth: bool = True
    retention: Retention = field(default_factory=Retention)
    max_stream_clients: int = 256  # console streams (SSE), including agents' command streams
    max_streams_per_token: int = 64  # of those, what one token may hold
    max_long_polls: int = 1024  # agents waiting with ?wait=N; a pool apart from the streams
    stream_backlog: int = 20_000
    heartbeat_seconds: float = 15.0
    retry_ms: int = 2000
    command_expiry_seconds: float = 30.0
    offline_after_seconds: float = 120.0  # idle agents not heard from this long go offline
    synchronous: str = "FULL"
    prices_override: Path | None = None
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # `[[notify]]` rules of the config file, and the first wait between a failed
    # notification's attempts (it doubles with each retry)
    notify: tuple[NotifyRule, ...] = ()
    notify_retry_seconds: float = 1.0
    # Stalled connections are closed: a request head must arrive within `header_timeout`,
    # the whole body within `body_timeout` of the head, and an idle keep-alive lasts
    # `idle_timeout`.
    header_timeout_seconds: float = 30.0
    body_timeout_seconds: float = 30.0
    idle_timeout_seconds: int = 5
    # Per-minute rate limits (0 turns one off): failed auth per client address, and the
    # expensive reads (audit export, costs, metrics, event and session paging) per token.
    auth_failures_per_minute: int = 30
    expensive_reads_per_minute: int = 300
    # The server's "now" for cost windows and metrics, and for the alert rules unless
    # `alerts` brings a clock of its own. Tests pin it so figures stay put.
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.alerts.clock is time.time and self.clock is not time.time:
            object.__setattr__(self, "alerts", self.alerts.model_copy(update={"clock": self.clock}))


@dataclass
class ServerContext:
    settings: ServerSettings
    store: Store
    bus: Bus
    tokens: TokenLookup
    prices: PriceTable
    limits: RateLimits
    metrics: OpsMetrics  # for /metrics: this app's registry and counts
    alert_engine: AlertEngine | None = None  # set by create_app


def get_ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _principal(request: Request) -> Principal:
    ctx = get_ctx(request)
    if not ctx.settings.auth:
        request.state.caller = f"address:{_address(request)}"
        return ANONYMOUS_ADMIN
    try:
        principal, token = _authenticate(ctx, request.headers.get("authorization", ""))
    except Rejected:
        # Only failures count, so a valid token from the same address always gets through.
        ctx.limits.auth_failed(_address(request))
        raise
    request.state.caller = f"token:{hash_token(token)}"
    return principal


def _authenticate(ctx: ServerContext, header: str) -> tuple[Principal, str]:
    scheme, _, token = header.partition(" ")
    if not header:
        raise Rejected(401, "unauthorized", "missing Authorization: Bearer <token> header")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejected(401, "unauthorized", "Authorization header must be 'Bearer <token>'")
    principal = ctx.tokens.resolve(token.strip())
    if principal is None:
        raise Rejected(401, "unauthorized", "token is not valid (unknown or revoked)")
    return principal, token.strip()


def require(role: str):  # type: ignore[no-untyped-def]
    """A dependency that yields the caller if their role is at least `role`."""

    def dependency(principal: Principal = Depends(_principal)) -> Principal:
        if not principal.can(role):
            raise Rejected(
                403, "forbidden", f"this needs role {role} or higher; the token is {principal.role}"
            )
        return principal

    return dependency


def rate_limited(role: Callable[..., Principal]) -> Callable[..., Principal]:
    """`role`'s dependency, also counting the call against the caller's expensive reads."""

    def dependency(request: Request, principal: Principal = Depends(role)) -> Principal:
        get_ctx(request).limits.expensive_read(request.state.caller)
        return principal

    return dependency


viewer = require("viewer")
operator = require("operator")
admin = require("admin")
expensive_read = rate_limited(viewer)  # audit export, costs, metrics, event/session paging
