"""Typed REST calls to the backend. Every failure is an `ApiError` or `BackendUnreachable`
whose message is one readable sentence; no raw httpx exception leaves this module."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpx

from agentops_tui.client.records import AuditEntry, EventPage, Health, Killswitch
from agentops_tui.models import Alert, Approval, Command, Identity, Message, Snapshot
from agentops_tui.reports import AlertEngineStatus, CostTable, CostTimeline, NotificationPage
from agentops_tui.tls import client_tls

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class ApiError(Exception):
    """The backend answered with an error."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class BackendUnreachable(Exception):
    """No answer: connection refused, reset, DNS, timeout. `reason` is the short why."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def transport_reason(exc: BaseException) -> str:
    """Why no answer came, in the operator's words: the socket error under httpx's wrappers
    ("All connection attempts failed" says nothing; "connection refused" says what to check)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or cause}"
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return "no answer in time"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def error_from(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        err = body["error"]
        return ApiError(response.status_code, str(err.get("code", "error")),
                        str(err.get("message", response.reason_phrase)), err.get("details"))
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.text.strip()[:200] or response.reason_phrase
        return ApiError(response.status_code, "error", f"HTTP {response.status_code}: {text}")


class ApiClient:
    def __init__(self, base_url: str, token: str | None, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout,
                                      verify=client_tls())

    async def close(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise BackendUnreachable(f"{self.base_url} did not answer in time",
                                     "no answer in time") from None
        except httpx.TransportError as exc:
            reason = transport_reason(exc)
            raise BackendUnreachable(f"cannot reach {self.base_url}: {reason}", reason) from None
        if response.status_code >= 400:
            raise error_from(response)
        return response

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # ---- state -----------------------------------------------------------------------------

    async def health(self) -> Health:
        return Health.model_validate(await self._json("GET", "/healthz"))

    async def whoami(self) -> Identity | None:
        """The token's name, role and workspace; None from a server too old to say (404)."""
        try:
            return Identity.model_validate(await self._json("GET", "/api/v1/whoami"))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        except ValueError:  # not our answer (a proxy's page, say): as good as not knowing
            return None

    async def snapshot(self) -> Snapshot:
        return Snapshot.model_validate(await self._json("GET", "/api/v1/snapshot"))

    async def events(self, after: int, limit: int = 1000) -> EventPage:
        return EventPage.model_validate(await self._json(
            "GET", "/api/v1/events", params={"after": after, "limit": limit}))

    async def messages(self, session_id: str, *, after: int = 0, before: int | None = None,
                       limit: int = 200) -> list[Message]:
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        else:
            params["after"] = after
        body = await self._json("GET", f"/api/v1/sessions/{session_id}/messages", params=params)
        return [Message.model_validate(m) for m in body["messages"]]

    # ---- operator actions --------------------------------------------------------------------

    async def _command(self, session_id: str, action: str, body: dict[str, Any] | None = None
                       ) -> Command:
        data = await self._json("POST", f"/api/v1/sessions/{session_id}/{action}", json=body)
        return Command.model_validate(data)

    async def pause(self, session_id: str) -> Command:
        return await self._command(session_id, "pause")

    async def resume(self, session_id: str) -> Command:
        return await self._command(session_id, "resume")

    async def kill(self, session_id: str) -> Command:
        return await self._command(session_id, "kill")

    async def inject(self, session_id: str, message: str) -> Command:
        return await self._command(session_id, "inject", {"message": message})

    async def redirect(self, session_id: str, message: str) -> Command:
        """Stop the session's current step and have it take `message` as its instruction."""
        return await self._command(session_id, "redirect", {"message": message})

    async def killswitch(self) -> Killswitch:
        return Killswitch.model_validate(
            await self._json("POST", "/api/v1/killswitch", json={"confirm": "KILL ALL"}))

    async def approve(self, approval_id: str, note: str | None = None) -> Approval:
        return Approval.model_validate(await self._json(
            "POST", f"/api/v1/approvals/{approval_id}/approve", json={"note": note}))

    async def reject(self, approval_id: str, reason: str | None = None) -> Approval:
        return Approval.model_validate(await self._json(
            "POST", f"/api/v1/approvals/{approval_id}/reject", json={"reason": reason}))

    # ---- costs, alerts, audit ----------------------------------------------------------------

    async def costs(self, group_by: str = "agent", window: str = "24h") -> CostTable:
        """Spend per agent, task or model over the window, most expensive first."""
        return CostTable.model_validate(await self._json(
            "GET", "/api/v1/costs", params={"group_by": group_by, "window": window}))

    async def costs_timeline(self, bucket: str = "1h", window: str = "24h",
                             group_by: str | None = None) -> CostTimeline:
        """Spend per bucket: 1m 5m 15m 1h 1d, 1w (from Monday, UTC) or 1mo (UTC months)."""
        params = {"bucket": bucket, "window": window}
        if group_by is not None:
            params["group_by"] = group_by
        return CostTimeline.model_validate(await self._json(
            "GET", "/api/v1/costs/timeline", params=params))

    async def alerts(self, status: str | None = None) -> list[Alert]:
        params = {"status": status} if status else {}
        body = await self._json("GET", "/api/v1/alerts", params=params)
        return [Alert.model_validate(a) for a in body["alerts"]]

    async def ack_alert(self, alert_id: str) -> Alert:
        return Alert.model_validate(await self._json("POST", f"/api/v1/alerts/{alert_id}/ack"))

    async def notifications(self, limit: int = 50) -> NotificationPage:
        """The notifications delivery log, newest first, and the rules (channels masked)."""
        return NotificationPage.model_validate(
            await self._json("GET", "/api/v1/notifications", params={"limit": limit}))

    async def alert_engine(self) -> AlertEngineStatus:
        return AlertEngineStatus.model_validate(await self._json("GET", "/api/v1/alerts/engine"))

    async def audit(self, **filters: str) -> list[AuditEntry]:
        body = await self._json("GET", "/api/v1/audit", params={"format": "json", **filters})
        return [AuditEntry.model_validate(e) for e in body["entries"]]

    async def audit_export(self, fmt: str, **filters: str) -> str:
        response = await self.request("GET", "/api/v1/audit",
                                      params={"format": fmt, "limit": 100_000, **filters})
        return response.text
