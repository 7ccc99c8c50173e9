"""The operator's commands for one OpenClaw agent, carried out through the gateway.

The runner long-polls the agent's command stream as an SDK agent does and acknowledges
each command from the gateway's answer: ok when the gateway accepted it, failed with the
gateway's own message when it did not (or when no gateway is connected).

- inject   → `sessions.send` (the operator's text becomes the session's next message)
- redirect → `sessions.abort`, then `sessions.send`
- kill     → `sessions.abort` (the backend ends the session when the kill is acknowledged)
- spawn    → `sessions.create {key, message}`: a new session of the command's OpenClaw agent
  (`agent:<agent>:spawn-<command>`), acknowledged with the session it became; the bridge
  reports it as it reports every session the gateway lists
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import httpx

from agentops_tui.server.connectors import openclaw_mapping as mapping
from agentops_tui.server.connectors.openclaw_gateway import GatewayConnection, GatewayError
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
        started: str | None = None
        detail: str | None
        try:
            if command.get("action") == "spawn":
                started, detail = await self._spawn(command)
            else:
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
                                              detail[:4000], "session_id": started})
        except httpx.HTTPError as exc:
            log.warning("could not acknowledge %s: %s", command["id"], exc)

    def _connection(self) -> GatewayConnection:
        connection = self.bridge.connection
        if connection is None or not self.bridge.connected.is_set():
            raise CommandRefused("the OpenClaw gateway is not connected "
                                 f"({self.bridge.detail})")
        return connection

    async def _spawn(self, command: dict[str, Any]) -> tuple[str, str]:
        """A new gateway session with the operator's prompt as its first message: its
        agentops session id, and what the gateway said."""
        connection = self._connection()
        prompt = str((command.get("payload") or {}).get("prompt") or "")
        if not prompt.strip():
            raise CommandRefused("the spawn carries no prompt to start the session with")
        openclaw_agent = str(command.get("agent_id") or "").removeprefix(
            f"{self.bridge.prefix}:") or "main"
        # the command's id in the key: a spawn delivered twice starts one session (the
        # gateway would reset a session created again under the same key)
        wanted = f"agent:{openclaw_agent}:spawn-{str(command['id']).removeprefix('cmd_')}"
        if wanted not in self.bridge.known:
            task_id = (command.get("payload") or {}).get("task_id")
            if isinstance(task_id, str):
                self.bridge.task_of_key[wanted] = task_id
            answer = await connection.call("sessions.create", {"key": wanted, "message": prompt})
            key = str(answer.get("key") or wanted)
            if isinstance(task_id, str):
                self.bridge.task_of_key[key] = task_id
            run_error = answer.get("runError")
            if isinstance(run_error, dict) and run_error.get("message"):
                raise CommandRefused(f"OpenClaw created {key} but could not start its run: "
                                     f"{run_error['message']}")
            detail = "OpenClaw: run started" if answer.get("runStarted") else "OpenClaw: created"
            with contextlib.suppress(GatewayError):  # it was created: the events bring it
                await self.bridge.report_created(key)
        else:
            key, detail = wanted, "OpenClaw: started already"
        return mapping.session_id_for(self.bridge.prefix, key), detail

    async def _carry_out(self, command: dict[str, Any]) -> str | None:
        action = command.get("action")
        key = self._session_key(str(command.get("session_id") or ""))
        connection = self._connection()
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
