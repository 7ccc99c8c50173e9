"""One session of an agent: what it reports, and the cooperative `checkpoint()`."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from agentops_tui.sdk.client import AsyncAgentClient


class SessionKilled(Exception):
    """An operator killed this session; stop its work (the backend already recorded it)."""


@dataclass(frozen=True)
class ApprovalResult:
    approved: bool
    status: str  # approved | rejected | timeout
    note: str | None = None
    decided_by: str | None = None


class AsyncSession:
    def __init__(self, agent: AsyncAgentClient, session_id: str) -> None:
        self.agent = agent
        self.id = session_id
        self.paused = False
        self.killed = False
        self.ended = False
        self.injected: list[str] = []
        self._resumed = asyncio.Event()
        self._resumed.set()

    # ---- reporting -------------------------------------------------------------------------

    def _emit(self, type_: str, **fields: Any) -> None:
        self.agent.emit({"type": type_, "session_id": self.id, **fields})

    def message(self, content: str, role: str = "assistant") -> None:
        self._emit("session.message", role=role, content=content)

    def tool_call(self, tool: str, *, ok: bool = True, duration_ms: float | None = None,
                  output: str | None = None) -> None:
        self._emit("session.tool_call", tool=tool, status="ok" if ok else "error",
                   duration_ms=duration_ms, output=output)

    def usage(self, *, model: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
              cache_read_tokens: int = 0, cache_write_tokens: int = 0,
              cost_usd: float | None = None, latency_ms: float | None = None) -> None:
        """Tokens of one model call; `latency_ms`, how long the call took, feeds the
        `api_latency` alert rule."""
        extra = {"latency_ms": latency_ms} if latency_ms is not None else {}
        self._emit("session.usage", model=model, input_tokens=input_tokens,
                   output_tokens=output_tokens, cache_read_tokens=cache_read_tokens,
                   cache_write_tokens=cache_write_tokens, cost_usd=cost_usd, **extra)

    def waiting(self, detail: str) -> None:
        """Needs a human: the console lists it for the operator."""
        self._emit("session.status", status="waiting", detail=detail)

    def running(self, progress: float | None = None) -> None:
        """Working (again); `progress`, 0 to 1, says how far along when the agent knows."""
        if progress is None:
            self._emit("session.status", status="running")
        else:
            self._emit("session.status", status="running", progress=progress)

    def end(self, status: str = "completed", error: str | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        self._emit("session.ended", status=status, error=error)
        self.agent.sessions.pop(self.id, None)

    def subagent(self, *, title: str | None = None, model: str | None = None,
                 session_id: str | None = None) -> AsyncSession:
        return self.agent.session(session_id, title=title, parent=self, model=model)

    # ---- commands --------------------------------------------------------------------------

    def receive(self, command: dict[str, Any]) -> bool:
        """Take a command from the operator (called by the client's command loop)."""
        if self.ended or self.killed:
            return False
        action = command.get("action")
        if action == "pause":
            self.paused = True
            self._resumed.clear()
        elif action == "resume":
            self.paused = False
            self._resumed.set()
        elif action in ("inject", "redirect"):
            # a redirect the agent has no handler for: the instruction arrives at the next
            # checkpoint, like a message, the moment the current step is done
            self.injected.append(str(command.get("payload", {}).get("message", "")))
        elif action == "kill":
            self.killed = True
            self.ended = True  # the backend ends it when we acknowledge
            self._resumed.set()
            self.agent.sessions.pop(self.id, None)
        else:
            return False
        return True

    async def hold(self) -> None:
        """Waits while paused and raises `SessionKilled` after a kill, like `checkpoint()`, but
        leaves the operator's messages for the next `checkpoint()` (for framework integrations
        that obey at one boundary and deliver messages at another)."""
        while self.paused and not self.killed:
            await self._resumed.wait()
        if self.killed:
            raise SessionKilled(self.id)

    async def checkpoint(self) -> list[str]:
        """Call between steps: waits while paused, raises `SessionKilled` after a kill, and
        returns the operator's messages that arrived since the last checkpoint."""
        await self.hold()
        messages, self.injected = self.injected, []
        return messages

    async def request_approval(self, summary: str, detail: str | None = None, *,
                               timeout: float = 600.0) -> ApprovalResult:
        """Ask an operator and wait for the decision (or `timeout` seconds)."""
        approval_id = f"ap-{uuid.uuid4().hex[:12]}"
        self._emit("approval.requested", approval_id=approval_id, summary=summary, detail=detail)
        await self.agent.flush()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return ApprovalResult(False, "timeout")
            if self.killed:
                raise SessionKilled(self.id)
            try:
                response = await self.agent.http.get(
                    f"/api/v1/approvals/{approval_id}", params={"wait": min(20.0, left)})
            except httpx.HTTPError:
                await asyncio.sleep(min(1.0, max(0.0, left)))
                continue
            if response.status_code != 200:
                await asyncio.sleep(min(1.0, max(0.0, left)))
                continue
            body = response.json()
            if body.get("status") in ("approved", "rejected"):
                return ApprovalResult(body["status"] == "approved", body["status"],
                                      body.get("note"), body.get("decided_by"))
