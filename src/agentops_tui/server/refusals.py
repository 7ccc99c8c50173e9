"""The audit of operator actions refused before they run: no valid token (401), a role too
low (403), or a request that does not validate (400, 422).

Once an operation runs it audits itself, accepted or refused (control/commands.audited); a
request stopped at its token or its body never gets there, yet an operator log must show who
tried what. Routes name their action with `audit.audited_as` (their `openapi_extra`); a
refusal on such a route is recorded under that name, against the target its path names,
with the actor when the token is known (revoked tokens included) and `unauthenticated`
otherwise (then in workspace `default`, as the request named none we could trust). Failed
authentications are limited per address (rate_limits.py), so these rows cannot flood.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request

from agentops_tui.server import audit
from agentops_tui.server.auth import ANONYMOUS_ADMIN
from agentops_tui.server.store.writer import WriteContext

log = logging.getLogger("agentops.server")

AUDITED_STATUSES = frozenset({400, 401, 403, 422})
UNAUTHENTICATED = "unauthenticated"


def action_of(request: Request) -> str | None:
    """The audited action of the route the request reached, if it is one."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    action = extra.get(audit.AUDIT_ACTION)
    return action if isinstance(action, str) else None


def _actor(request: Request) -> audit.Actor:
    ctx = request.app.state.ctx
    address = request.client.host if request.client else None
    if not ctx.settings.auth:
        return audit.Actor(ANONYMOUS_ADMIN.name, ANONYMOUS_ADMIN.workspace, address)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    known = None
    if scheme.lower() == "bearer" and token.strip():
        known = ctx.tokens.describe(token.strip())
    if known is None:
        return audit.Actor(UNAUTHENTICATED, "default", address)
    principal, revoked = known
    name = f"{principal.name} (revoked token)" if revoked else principal.name
    return audit.Actor(name, principal.workspace, address)


async def record(request: Request, status: int, code: str, message: str,
                 details: Any = None) -> None:
    """Audit a refusal of an operator action; anything else passes untouched."""
    action = action_of(request)
    if action is None or status not in AUDITED_STATUSES:
        return
    actor = _actor(request)
    target = next(iter(request.path_params.values()), None)
    payload: dict[str, Any] = {"status": status, "code": code}
    if isinstance(details, list):
        payload["fields"] = [d.get("field") for d in details if isinstance(d, dict)]

    def job(ctx: WriteContext) -> None:
        audit.record(ctx.conn, actor, action, None if target is None else str(target),
                     payload, f"rejected: {message}", ctx.now)

    try:
        await request.app.state.ctx.store.write(job)
    except Exception:  # the refusal is still answered; the store logs its own failure
        log.warning("could not audit a refused %s", action, exc_info=True)
