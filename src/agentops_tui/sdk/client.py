"""The agent side, async: report what an agent does, and obey the operator.

Events are queued and sent in order, in batches, each with an `event_key`; a batch that fails
for a reason that may pass (no connection, 429, 5xx) is resent with the same keys until it
lands, so nothing is lost or counted twice. A background loop fetches this agent's commands
and acknowledges them as soon as they arrive; sessions obey at their next `checkpoint()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from agentops_tui.sdk import tasks
from agentops_tui.sdk.session import AsyncSession
from agentops_tui.tls import client_tls

log = logging.getLogger("agentops.sdk")

MAX_BATCH = 500
# The operator's actions this client carries out: commands at `checkpoint()` (redirect,
# unless `on_redirect` takes it, arrives there like an inject) and approvals waited for.
OBEYED = ("pause", "resume", "inject", "redirect", "kill", "approve")

# Called with the session and the operator's instruction when a redirect arrives; may be a
# coroutine function. Runs on the client's event loop: cancel the current step, then return.
RedirectHandler = Callable[[AsyncSession, str], "Awaitable[None] | None"]
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class IngestRejected(Exception):
    """The backend refused a batch as invalid (a bug in what the agent sent)."""


class AsyncAgentClient:
    """One agent's connection to the backend. Use `async with` or `start()`/`close()`."""

    def __init__(
        self,
        url: str,
        token: str | None,
        agent_id: str,
        *,
        name: str | None = None,
        kind: str = "agent",
        framework: str = "agentops-sdk",
        model: str | None = None,
        flush_interval: float = 0.1,
        heartbeat_interval: float = 30.0,
        listen_for_commands: bool = True,
        on_redirect: RedirectHandler | None = None,
        capabilities: Iterable[str] | None = None,
        description: str | None = None,
        avatar: str | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers,
                                      timeout=httpx.Timeout(30.0, connect=5.0), verify=client_tls())
        self.agent_id = agent_id
        self.name = name or agent_id
        self.kind = kind
        self.framework = framework
        self.model = model
        self.description = description  # what the agent is for, shown in the console
        self.avatar = avatar  # an image URL or a short glyph
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.listen_for_commands = listen_for_commands
        self.on_redirect = on_redirect
        # what the console may ask of this agent; by default what this client handles
        self.capabilities = list(capabilities) if capabilities is not None else (
            list(OBEYED) if listen_for_commands else ["approve"])
        self.sessions: dict[str, AsyncSession] = {}
        self._queue: list[dict[str, Any]] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._error: Exception | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.sent_batches = 0
        self.retries = 0

    async def __aenter__(self) -> AsyncAgentClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self.emit({"type": "agent.registered", "agent_id": self.agent_id, "name": self.name,
                   "kind": self.kind, "framework": self.framework, "model": self.model,
                   "capabilities": self.capabilities,
                   **({"description": self.description} if self.description else {}),
                   **({"avatar": self.avatar} if self.avatar else {})})
        self._tasks.append(asyncio.create_task(self._flusher(), name="agentops-flush"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="agentops-heartbeat"))
        if self.listen_for_commands:
            self._tasks.append(asyncio.create_task(self._commands(), name="agentops-commands"))

    async def close(self) -> None:
        """Send everything queued, stop the background loops, close the connection."""
        if self._closing:
            return
        self._closing = True
        try:
            await self.flush()
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.http.aclose()

    # ---- reporting -------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """Queue one ingest event (an `event_key` is added if it has none)."""
        event.setdefault("event_key", f"{self.agent_id}:{uuid.uuid4().hex}")
        self._queue.append(event)
        self._idle.clear()
        self._wakeup.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is stored; raise if the backend refused some."""
        if self._queue:
            self._wakeup.set()
            if not any(t.get_name() == "agentops-flush" and not t.done() for t in self._tasks):
                await self._send_pending()
            else:
                await self._idle.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def session(
        self,
        session_id: str | None = None,
        *,
        title: str | None = None,
        task_id: str | None = None,
        parent: AsyncSession | str | None = None,
        model: str | None = None,
    ) -> AsyncSession:
        """Start a session (a run of this agent); `parent` makes it a subagent session."""
        sid = session_id or f"se-{uuid.uuid4().hex[:12]}"
        parent_id = parent.id if isinstance(parent, AsyncSession) else parent
        session = AsyncSession(self, sid)
        self.sessions[sid] = session
        self.emit({"type": "session.started", "session_id": sid, "agent_id": self.agent_id,
                   "parent_session_id": parent_id, "task_id": task_id,
                   "model": model or self.model, "title": title})
        return session

    # ---- work queues -----------------------------------------------------------------------

    async def take_task(self, queue_id: str, *, steal: bool = True) -> dict[str, Any] | None:
        """Dequeue this agent's next task (or steal one from the team); None when none wait.

        Start its session with `session(task_id=task["id"])` and the task reads `running`.
        """
        return await tasks.take(self.http, queue_id, self.agent_id, steal)

    async def complete_task(self, task_id: str, result: Any = None) -> dict[str, Any]:
        return await tasks.finish(self.http, task_id, True, result)

    async def fail_task(self, task_id: str, error: str) -> dict[str, Any]:
        return await tasks.finish(self.http, task_id, False, error)

    async def _flusher(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await asyncio.sleep(self.flush_interval)  # let a burst gather into one batch
            await self._send_pending()

    async def _send_pending(self) -> None:
        attempt = 0
        while self._queue:
            batch = self._queue[:MAX_BATCH]
            try:
                response = await self.http.post("/api/v1/ingest", json={"events": batch})
                status = response.status_code
            except httpx.HTTPError as exc:
                status, detail = 0, str(exc) or type(exc).__name__
            else:
                detail = response.text[:300]
            if status == 202:
                del self._queue[: len(batch)]
                self.sent_batches += 1
                attempt = 0
                continue
            if status and status not in RETRYABLE:
                log.error("backend refused %d events (%s): %s", len(batch), status, detail)
                del self._queue[: len(batch)]
                self._error = IngestRejected(f"HTTP {status}: {detail}")
                continue
            attempt += 1
            self.retries += 1
            delay = min(10.0, 0.2 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.0)
            log.warning("ingest failed (%s), retrying in %.1fs", detail or status, delay)
            await asyncio.sleep(delay)
        self._idle.set()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            self.emit({"type": "agent.heartbeat", "agent_id": self.agent_id})

    # ---- commands --------------------------------------------------------------------------

    async def _commands(self) -> None:
        await self.poll_commands(self._obey)

    async def poll_commands(
        self, obey: Callable[[dict[str, Any]], Awaitable[None]],
        failure_level: int = logging.DEBUG,
    ) -> None:
        """Long-poll this agent's commands for ever, handing each to `obey`; a failed poll
        is logged at `failure_level` and retried with backoff (a bridge to another runtime
        uses this with its own `obey`)."""
        path = f"/api/v1/agents/{self.agent_id}/commands"
        failures = 0
        while True:
            try:
                response = await self.http.get(path, params={"wait": 20})
                if response.status_code == 404:  # not registered yet: our batch is in flight
                    await asyncio.sleep(0.2)
                    continue
                response.raise_for_status()
                failures = 0
                for command in response.json()["commands"]:
                    await obey(command)
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                failures += 1
                log.log(failure_level, "command poll for %s failed: %s", self.agent_id, exc)
                await asyncio.sleep(min(10.0, 0.5 * 2 ** min(failures, 5)))

    async def _obey(self, command: dict[str, Any]) -> None:
        session = self.sessions.get(command["session_id"])
        detail = None
        if session is None or session.ended or session.killed:
            ok, detail = False, "this agent does not run that session any more"
        elif command.get("action") == "redirect" and self.on_redirect is not None:
            ok, detail = await self._redirect(session, command)
        else:
            ok = session.receive(command)
            if not ok:
                detail = f"this agent does not handle {command.get('action')!r}"
        try:
            await self.http.post(f"/api/v1/commands/{command['id']}/ack",
                                 json={"ok": ok, "detail": detail})
        except httpx.HTTPError as exc:
            log.warning("could not acknowledge %s: %s", command["id"], exc)

    async def _redirect(self, session: AsyncSession, command: dict[str, Any]
                        ) -> tuple[bool, str | None]:
        """Hand a redirect to the agent's own handler; its failure is the command's."""
        assert self.on_redirect is not None
        instruction = str(command.get("payload", {}).get("message", ""))
        try:
            result = self.on_redirect(session, instruction)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # the agent's code: report it, keep listening
            log.warning("on_redirect failed for %s", session.id, exc_info=True)
            return False, f"the agent's redirect handler failed: {exc}"[:4000]
        return True, None
