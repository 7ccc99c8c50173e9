"""The operator's commands for one OpenClaw agent, carried out through the gateway.

The runner long-polls the agent's command stream as an SDK agent does and acknowledges
each command from the gateway's answer: ok when the gateway accepted it, failed with the
gateway's own message when it did not (or when no gateway is connected).

- inject   → `sessions.send` (the operator's text becomes the session's next message)
- redirect → `sessions.abort`, then `sessions.send`
- kill     → `sessions.abort` (the backend ends the session when the kill is acknowledged)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import httpx

from agentops_tui.server.connectors.openclaw_gateway import GatewayError
from agentops_tui.server.connectors.openclaw_mapping import SENT_BY_US

if TYPE_CHECKING:
    from agentops_tui.sdk.client import AsyncAgentClient
    from agentops_tui.server.connectors.openclaw import OpenClawBridge

log = logging.getLogger("agentops.openclaw")


class CommandRefused(Exception):
    """A command the bridge cannot carry out; the message is the acknowledgement's detail."""


class CommandRunner:
    def __init__(self, bridge: OpenClawBridge, client: AsyncAgentClient) -> None:
        self.bridge = bridge
        self.client = client
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"openclaw-commands-{id(self)}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        await self.client.poll_commands(self._obey, failure_level=logging.WARNING)

    async def _obey(self, command: dict[str, Any]) -> None:
        try:
            detail = await self._carry_out(command)
            ok = True
        except CommandRefused as exc:
            ok, detail = False, str(exc)
        except GatewayError as exc:
            ok, detail = False, f"the OpenClaw gateway refused it: {exc}"
        if not ok:
            log.warning("%s %s failed: %s", command.get("action"), command.get("session_id"),
                        detail)
        try:
            await self.client.http.post(f"/api/v1/commands/{command['id']}/ack",
                                        json={"ok": ok, "detail": (detail or None) and
                                              detail[:4000]})
        except httpx.HTTPError as exc:
            log.warning("could not acknowledge %s: %s", command["id"], exc)

    async def _carry_out(self, command: dict[str, Any]) -> str | None:
        action = command.get("action")
        key = self._session_key(str(command.get("session_id") or ""))
        connection = self.bridge.connection
        if connection is None or not self.bridge.connected.is_set():
            raise CommandRefused("the OpenClaw gateway is not connected "
                                 f"({self.bridge.detail})")
        message = str((command.get("payload") or {}).get("message") or "")
        if action == "inject":
            return await self._send(key, message, str(command["id"]))
        if action == "redirect":
            aborted = await connection.call("sessions.abort", {"key": key})
            await self._send(key, message, str(command["id"]))
            return f"stopped the current run ({aborted.get('status')}) and sent the instruction"
        if action == "kill":
            aborted = await connection.call("sessions.abort", {"key": key, "clearQueued": True})
            return f"OpenClaw: {aborted.get('status') or 'aborted'}"
        raise CommandRefused(f"the OpenClaw bridge does not handle {action!r}")

    async def _send(self, key: str, message: str, command_id: str) -> str:
        if not message.strip():
            raise CommandRefused("the command carries no message to send")
        assert self.bridge.connection is not None
        # the command's id in the idempotency key: a re-delivered command is sent once, and
        # the transcript entry it becomes is known as the operator's (agentops shows that
        # one when the command is acknowledged)
        answer = await self.bridge.connection.call(
            "sessions.send", {"key": key, "message": message,
                              "idempotencyKey": f"{SENT_BY_US}{command_id}"})
        return f"OpenClaw: {answer.get('status') or 'sent'}"

    def _session_key(self, session_id: str) -> str:
        prefix = f"{self.bridge.prefix}:"
        key = session_id.removeprefix(prefix)
        if not session_id.startswith(prefix) or key not in self.bridge.known:
            raise CommandRefused(f"the gateway has no session {key!r}")
        return key
