"""The OpenClaw bridge: watch a gateway's sessions in agentops and act on them.

Each OpenClaw agent becomes an agentops agent (`openclaw:<agent>`, capabilities inject,
redirect, kill, spawn) and each OpenClaw session a session of it. The bridge reports through
the public ingest API with the SDK's client, so batching, retries and event keys work as for
any agent, and takes its agents' commands from the same long-poll an SDK agent uses. The
bridge itself is one more agent (`openclaw:gateway`) whose status says whether the gateway
is reachable, and whose name says why not.

On every (re)connect it subscribes, takes the gateway's whole session list and each
session's `chat.history`; keys made from OpenClaw's ids make the replay a no-op for what was
already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

import websockets

from agentops_tui.sdk.client import AsyncAgentClient, IngestRejected
from agentops_tui.server.connectors import openclaw_mapping as mapping
from agentops_tui.server.connectors.openclaw_commands import CommandRunner
from agentops_tui.server.connectors.openclaw_gateway import (
    GatewayAuthError,
    GatewayConnection,
    GatewayError,
)

log = logging.getLogger("agentops.openclaw")

CAPABILITIES = ["inject", "redirect", "kill", "spawn"]
HEARTBEAT_SECONDS = 30.0
MAX_BACKOFF = 30.0


class OpenClawBridge:
    def __init__(self, gateway_url: str, gateway_token: str, url: str, token: str | None,
                 *, prefix: str = "openclaw", flush_interval: float = 0.1) -> None:
        self.gateway_url = gateway_url
        self.gateway_token = gateway_token
        self.url = url
        self.token = token
        self.prefix = prefix
        self.flush_interval = flush_interval
        self.connection: GatewayConnection | None = None
        self.connected = asyncio.Event()
        self.state = "starting"  # connected | offline | error: what the heartbeats say
        self.detail = "starting"
        self.agents: dict[str, AsyncAgentClient] = {}  # OpenClaw agent id -> its client
        self.runners: list[CommandRunner] = []
        self.known: dict[str, str] = {}  # OpenClaw session key -> agentops agent id
        self.last_status: dict[str, str] = {}  # session key -> last state sent
        self.ended_runs: set[str] = set()
        self.task_of_key: dict[str, str] = {}  # a spawned session's key -> its agentops task
        self.gateway_agent = self._client(f"{prefix}:gateway", f"OpenClaw gateway {gateway_url}",
                                          kind="gateway", capabilities=[])

    def _client(self, agent_id: str, name: str, *, kind: str = "agent",
                capabilities: list[str] | None = None) -> AsyncAgentClient:
        return AsyncAgentClient(
            self.url, self.token, agent_id, name=name, kind=kind, framework="openclaw",
            flush_interval=self.flush_interval, heartbeat_interval=10**9,
            listen_for_commands=False,
            capabilities=CAPABILITIES if capabilities is None else capabilities)

    # ---- the run loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Bridge until cancelled: connect, catch up, follow; reconnect with backoff."""
        await self.gateway_agent.start()
        heartbeat = asyncio.create_task(self._heartbeats(), name="openclaw-heartbeat")
        failures = 0
        try:
            while True:
                try:
                    self.connection = await GatewayConnection.open(
                        self.gateway_url, self.gateway_token)
                except GatewayAuthError as exc:
                    self._set_state("error", f"the gateway refused the bridge: {exc}")
                except (OSError, TimeoutError, ValueError, websockets.WebSocketException,
                        GatewayError) as exc:
                    self._set_state("offline", f"the gateway is unreachable: "
                                               f"{exc or type(exc).__name__}")
                else:
                    failures = 0
                    await self._follow(self.connection)
                    self._set_state("offline", "the gateway connection ended: "
                                               f"{self.connection.close_reason}; reconnecting")
                failures += 1
                self.connected.clear()
                self.connection = None
                delay = min(MAX_BACKOFF, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.7, 1.0)
                await asyncio.sleep(delay)
        finally:
            heartbeat.cancel()
            await self.close()

    async def close(self) -> None:
        for runner in self.runners:
            await runner.stop()
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
        for client in [*self.agents.values(), self.gateway_agent]:
            with contextlib.suppress(Exception):
                await client.close()

    async def _follow(self, connection: GatewayConnection) -> None:
        try:
            listing = await connection.call("sessions.subscribe", {"limit": 500})
            rows = (listing.get("list") or {}).get("sessions") or []
            known_keys = {row.get("key") for row in rows}
            for row in rows:  # a parent is named when the gateway lists it too
                await self._session_row(row, known_keys)
            self._set_state("connected", f"connected; {len(rows)} sessions on the gateway")
            self.connected.set()
            for row in rows:
                await self._catch_up(connection, str(row.get("key")))
        except GatewayError as exc:
            log.warning("could not catch up with the gateway: %s", exc)
            await connection.close()
            return
        while True:
            item = await connection.events.get()
            if item is None:
                return
            try:
                await self._event(*item)
            except GatewayError as exc:
                log.warning("handling %s: %s", item[0], exc)
            except (KeyError, TypeError, ValueError, AttributeError):
                # a frame shaped unlike the protocol we know: skip it, keep following
                log.exception("could not read a %s event from the gateway", item[0])

    async def _catch_up(self, connection: GatewayConnection, key: str) -> None:
        # the newest 1,000 entries: the most the gateway hands out in one page
        history = await connection.call("chat.history", {"sessionKey": key, "limit": 1000})
        for message in history.get("messages") or []:
            if isinstance(message, dict):
                self._message(key, message, None)

    # ---- gateway events -------------------------------------------------------------------

    async def _event(self, name: str, payload: dict[str, Any]) -> None:
        if name == "sessions.changed" and isinstance(payload.get("session"), dict):
            await self._session_row(payload["session"], set(self.known))
        elif name == "session.message" and isinstance(payload.get("message"), dict):
            key = str(payload.get("sessionKey") or "")
            if key not in self.known and self.connection is not None:
                await self._refresh(key)
            if key in self.known:
                self._message(key, payload["message"], payload.get("messageId"))

    async def report_created(self, key: str) -> None:
        """A session the bridge just created: its start is reported and stored before the
        spawn that asked for it is acknowledged, so the console can name it at once."""
        if key not in self.known and self.connection is not None:
            await self._refresh(key)
        client = self.agents.get(self.known[key].split(":", 1)[1]) if key in self.known \
            else None
        if client is not None:
            with contextlib.suppress(IngestRejected):
                await client.flush()

    async def _refresh(self, key: str) -> None:
        """A session we have not seen a row of: ask the gateway for it."""
        assert self.connection is not None
        listing = await self.connection.call("sessions.list", {"limit": 500})
        for row in listing.get("sessions") or []:
            if row.get("key") == key:
                await self._session_row(row, set(self.known) | {key})

    async def _session_row(self, row: dict[str, Any], known_keys: set[Any]) -> None:
        key = row.get("key")
        if not isinstance(key, str) or not key:
            return
        client = await self._agent(mapping.agent_of(row))
        sid = mapping.session_id_for(self.prefix, key)
        if key not in self.known:
            parent = row.get("parentSessionKey")
            parent_sid = (mapping.session_id_for(self.prefix, parent)
                          if isinstance(parent, str) and parent in known_keys else None)
            client.emit(mapping.started_event(client.agent_id, sid, row, parent_sid,
                                              self.task_of_key.get(key)))
            self.known[key] = client.agent_id
        event = mapping.status_event(sid, row)
        if event is None:
            return
        if event["type"] == "session.ended":
            if event["event_key"] not in self.ended_runs:
                self.ended_runs.add(event["event_key"])
                client.emit(event)
            self.last_status[key] = "ended"
        elif self.last_status.get(key) != event["status"]:
            self.last_status[key] = event["status"]
            client.emit(event)

    def _message(self, key: str, message: dict[str, Any], message_id: Any) -> None:
        client = self.agents.get(self.known[key].split(":", 1)[1])
        if client is None:
            return
        sid = mapping.session_id_for(self.prefix, key)
        for event in mapping.message_events(
                sid, message, message_id if isinstance(message_id, str) else None):
            client.emit(event)

    async def _agent(self, openclaw_agent: str) -> AsyncAgentClient:
        client = self.agents.get(openclaw_agent)
        if client is None:
            client = self._client(mapping.agent_id_for(self.prefix, openclaw_agent),
                                  f"OpenClaw {openclaw_agent}")
            self.agents[openclaw_agent] = client
            await client.start()
            runner = CommandRunner(self, client)
            runner.start()
            self.runners.append(runner)
        return client

    # ---- the bridge's own state -----------------------------------------------------------

    def _set_state(self, state: str, detail: str) -> None:
        changed = (state, detail) != (self.state, self.detail)
        self.state, self.detail = state, detail
        if not changed:
            return
        (log.info if state == "connected" else log.error)("%s: %s", self.gateway_url, detail)
        # the agent's name is where the console shows why the bridge is not connected
        name = f"OpenClaw gateway {self.gateway_url}"
        if state != "connected":
            name = f"{name} ({detail})"[:200]
        self.gateway_agent.emit({"type": "agent.registered", "agent_id":
                                 self.gateway_agent.agent_id, "name": name, "kind": "gateway",
                                 "framework": "openclaw", "capabilities": []})
        self._heartbeat_now()

    def _heartbeat_now(self) -> None:
        status = {"connected": "idle", "error": "error"}.get(self.state, "offline")
        self.gateway_agent.emit({"type": "agent.heartbeat",
                                 "agent_id": self.gateway_agent.agent_id, "status": status})
        for client in self.agents.values():  # without a gateway they cannot act
            client.emit({"type": "agent.heartbeat", "agent_id": client.agent_id,
                         **({} if self.state == "connected" else {"status": "offline"})})

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self._heartbeat_now()
