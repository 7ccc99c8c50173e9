"""The blocking flavour of the SDK, for agents that are not written with asyncio.

It runs the async client on a private event loop in a daemon thread and waits for each call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from agentops_tui.sdk.client import AsyncAgentClient
from agentops_tui.sdk.session import ApprovalResult, AsyncSession

T = TypeVar("T")


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="agentops-sdk",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        async def wrapper() -> Any:
            return fn(*args, **kw)

        return self.run(wrapper())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


class Session:
    def __init__(self, loop: _Loop, inner: AsyncSession) -> None:
        self._loop = loop
        self.inner = inner
        self.id = inner.id

    def message(self, content: str, role: str = "assistant") -> None:
        self._loop.call(self.inner.message, content, role)

    def tool_call(self, tool: str, **kw: Any) -> None:
        self._loop.call(self.inner.tool_call, tool, **kw)

    def usage(self, **kw: Any) -> None:
        self._loop.call(self.inner.usage, **kw)

    def waiting(self, detail: str) -> None:
        self._loop.call(self.inner.waiting, detail)

    def running(self, progress: float | None = None) -> None:
        self._loop.call(self.inner.running, progress)

    def end(self, status: str = "completed", error: str | None = None) -> None:
        self._loop.call(self.inner.end, status, error)

    def subagent(self, **kw: Any) -> Session:
        return Session(self._loop, self._loop.call(self.inner.subagent, **kw))

    def checkpoint(self) -> list[str]:
        """Blocks while paused; raises `SessionKilled`; returns injected messages."""
        return self._loop.run(self.inner.checkpoint())

    def hold(self) -> None:
        """Blocks while paused; raises `SessionKilled`; leaves injected messages queued."""
        self._loop.run(self.inner.hold())

    def request_approval(self, summary: str, detail: str | None = None, *,
                         timeout: float = 600.0) -> ApprovalResult:
        return self._loop.run(self.inner.request_approval(summary, detail, timeout=timeout))


class AgentClient:
    """Blocking client: `with AgentClient(url, token, "ag-1", kind="coder") as agent: ...`."""

    def __init__(self, url: str, token: str | None, agent_id: str, **kw: Any) -> None:
        self._loop = _Loop()

        async def make() -> AsyncAgentClient:
            return AsyncAgentClient(url, token, agent_id, **kw)

        self.inner = self._loop.run(make())
        self._loop.run(self.inner.start())

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self, session_id: str | None = None, **kw: Any) -> Session:
        parent = kw.pop("parent", None)
        if isinstance(parent, Session):
            parent = parent.inner
        return Session(self._loop, self._loop.call(self.inner.session, session_id,
                                                   parent=parent, **kw))

    def flush(self) -> None:
        self._loop.run(self.inner.flush())

    def take_task(self, queue_id: str, *, steal: bool = True) -> dict[str, Any] | None:
        return self._loop.run(self.inner.take_task(queue_id, steal=steal))

    def complete_task(self, task_id: str, result: Any = None) -> dict[str, Any]:
        return self._loop.run(self.inner.complete_task(task_id, result))

    def fail_task(self, task_id: str, error: str) -> dict[str, Any]:
        return self._loop.run(self.inner.fail_task(task_id, error))

    def close(self) -> None:
        try:
            self._loop.run(self.inner.close(), timeout=60)
        finally:
            self._loop.stop()
