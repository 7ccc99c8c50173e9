"""An asyncio client of the OpenClaw gateway's WebSocket protocol (version 4).

Frames are JSON: `{type:"req",id,method,params}` from us, `{type:"res",id,ok,payload|error}`
and `{type:"event",event,payload}` from the gateway. The gateway opens with a
`connect.challenge` event; we answer with `connect` carrying the shared token.

We connect as the gateway's own backend client (`gateway-client` in `backend` mode): on a
loopback connection the gateway keeps the scopes such a client asks for without a paired
device identity, and `operator.admin` is what lets us abort runs other clients started.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from agentops_tui import __version__

log = logging.getLogger("agentops.openclaw")

PROTOCOL_VERSION = 4
SCOPES = ["operator.admin", "operator.read", "operator.write"]
HANDSHAKE_TIMEOUT = 15.0
CALL_TIMEOUT = 30.0


class GatewayError(Exception):
    """The gateway answered a request with an error (its message is ours)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class GatewayAuthError(GatewayError):
    """The gateway refused the handshake: a wrong token, or a scope it will not grant."""


class GatewayClosed(GatewayError):
    """The connection ended while a request was waiting for its answer."""


def _error_of(frame: dict[str, Any]) -> GatewayError:
    error = frame.get("error") or {}
    message = str(error.get("message") or "the gateway refused the request")
    return GatewayError(message, error.get("code"))


class GatewayConnection:
    """One authenticated connection; `events` yields `(name, payload)` until it closes."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self._ws = ws
        self.hello = hello
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self.close_reason = ""
        self._reader = asyncio.create_task(self._read(), name="openclaw-reader")

    @classmethod
    async def open(cls, url: str, token: str) -> GatewayConnection:
        """Connect and authenticate; GatewayAuthError when the gateway says no."""
        ws = await websockets.connect(url, max_size=None, open_timeout=HANDSHAKE_TIMEOUT,
                                      ping_interval=20, ping_timeout=20)
        try:
            hello = await asyncio.wait_for(cls._handshake(ws, token), HANDSHAKE_TIMEOUT)
        except BaseException:
            await ws.close()
            raise
        return cls(ws, hello)

    @staticmethod
    async def _handshake(ws: ClientConnection, token: str) -> dict[str, Any]:
        while True:  # the challenge comes first; anything before it is not for us
            frame = json.loads(await ws.recv())
            if frame.get("type") == "event" and frame.get("event") == "connect.challenge":
                break
        await ws.send(json.dumps({
            "type": "req", "id": "connect", "method": "connect",
            "params": {
                "minProtocol": PROTOCOL_VERSION, "maxProtocol": PROTOCOL_VERSION,
                "client": {"id": "gateway-client", "version": __version__,
                           "platform": "linux", "mode": "backend",
                           "displayName": "agentops"},
                "role": "operator", "scopes": SCOPES, "caps": [],
                "auth": {"token": token},
            },
        }))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "res" and frame.get("id") == "connect":
                break
        if not frame.get("ok"):
            error = _error_of(frame)
            raise GatewayAuthError(str(error), error.code)
        hello: dict[str, Any] = frame.get("payload") or {}
        granted = set((hello.get("auth") or {}).get("scopes") or [])
        if "operator.admin" not in granted:
            raise GatewayAuthError(
                "the gateway did not grant operator.admin (granted: "
                f"{', '.join(sorted(granted)) or 'none'}); run the bridge on the gateway's "
                "host and connect over loopback")
        return hello

    async def call(self, method: str, params: dict[str, Any],
                   timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
        """Send one request and return its payload; GatewayError with the gateway's message."""
        if self._reader.done():
            raise GatewayClosed(f"the gateway connection is closed ({self.close_reason})")
        request_id = str(next(self._ids))
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            await self._ws.send(json.dumps(
                {"type": "req", "id": request_id, "method": method, "params": params}))
            frame = await asyncio.wait_for(answer, timeout)
        except websockets.ConnectionClosed as exc:
            raise GatewayClosed(f"the gateway connection closed: {exc}") from exc
        except TimeoutError as exc:
            raise GatewayError(f"the gateway did not answer {method} in {timeout:.0f}s") from exc
        finally:
            self._pending.pop(request_id, None)
        if not frame.get("ok"):
            raise _error_of(frame)
        payload: dict[str, Any] = frame.get("payload") or {}
        return payload

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("the gateway sent a frame that is not JSON; ignored")
                    continue
                kind = frame.get("type")
                if kind == "res":
                    waiting = self._pending.get(str(frame.get("id")))
                    if waiting is not None and not waiting.done():
                        waiting.set_result(frame)
                elif kind == "event" and isinstance(frame.get("payload"), dict):
                    self.events.put_nowait((str(frame.get("event")), frame["payload"]))
            self.close_reason = f"closed by the gateway ({self._ws.close_code})"
        except websockets.ConnectionClosed as exc:
            self.close_reason = f"connection lost: {exc}"
        finally:
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(GatewayClosed(
                        f"the gateway connection closed ({self.close_reason})"))
            self.events.put_nowait(None)  # tells the consumer the connection is over

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
