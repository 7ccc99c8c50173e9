"""Running a LangGraph graph as one agentops session, its interrupts decided in Review.

Used by `AgentOpsCallbackHandler.run_graph()` / `arun_graph()`: the graph is invoked with the
handler among its callbacks; whenever it stops at `interrupt()`, each pending interrupt
becomes an approval, and the graph is resumed with `Command(resume={id: value})`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agentops_tui.integrations.langchain_text import (
    interrupt_summary,
    last_user_text,
    message_text,
)
from agentops_tui.sdk import AgentClient, ApprovalResult, Session, SessionKilled

# The session a `GraphRun` opened: the top-level run it starts reports into it.
pinned: ContextVar[Session | None] = ContextVar("agentops_langgraph_session", default=None)


class GraphRun:
    """One session for one graph run: `start()`, then `resume_value(result)` after each
    invoke (None when the graph is done), then `done(result)`; `stop(error)` on failure."""

    def __init__(self, client: AgentClient, handler: Any, graph: Any, graph_input: Any,
                 config: RunnableConfig | None, *, title: str | None, task_id: str | None,
                 resume_with: Callable[[ApprovalResult], Any] | None,
                 approval_timeout: float) -> None:
        given: RunnableConfig = config or {}
        configurable = dict(given.get("configurable") or {})
        configurable.setdefault("thread_id", f"agentops-{uuid.uuid4().hex[:12]}")
        self.config: RunnableConfig = {
            **given, "configurable": configurable,
            "callbacks": [*_handlers(given.get("callbacks")), handler]}
        self.session = client.session(title=title or getattr(graph, "name", None),
                                      task_id=task_id)
        self.decide = resume_with or (lambda decision: decision.approved)
        self.approval_timeout = approval_timeout
        prompt = last_user_text(graph_input)
        if prompt:
            self.session.message(prompt, role="user")
        self._token: Token[Session | None] | None = None

    def start(self) -> None:
        self._token = pinned.set(self.session)

    def _reset(self) -> None:
        if self._token is not None:
            pinned.reset(self._token)
            self._token = None

    def pending(self, result: Any) -> list[Any]:
        interrupts = result.get("__interrupt__") if isinstance(result, dict) else None
        return list(interrupts or [])

    def answer(self, pending: Any) -> Any:
        """Ask the operator about one interrupt (blocks until decided) and return the value
        the graph resumes with."""
        summary, detail = interrupt_summary(pending.value)
        decision = self.session.request_approval(summary, detail,
                                                 timeout=self.approval_timeout)
        if self.session.inner.killed:
            raise SessionKilled(self.session.id)
        return self.decide(decision)

    def resume_value(self, result: Any) -> Command[Any] | None:
        waiting = self.pending(result)
        if not waiting:
            return None
        return Command(resume={p.id: self.answer(p) for p in waiting})

    async def aresume_value(self, result: Any) -> Command[Any] | None:
        waiting = self.pending(result)
        if not waiting:
            return None
        return Command(resume={p.id: await asyncio.to_thread(self.answer, p) for p in waiting})

    def done(self, result: Any) -> Any:
        self._reset()
        final = result.get("messages") if isinstance(result, dict) else None
        if final and getattr(final[-1], "type", None) == "ai" and not getattr(
                final[-1], "usage_metadata", None):
            self.session.message(message_text(final[-1]))  # a node's answer, not a model's
        self.session.end("completed")
        return result

    def stop(self, error: BaseException) -> None:
        self._reset()
        if isinstance(error, SessionKilled):
            # the backend ended a session killed itself; a kill of a subagent below stops
            # this run too, and it ends the same way
            self.session.end("killed")
        else:
            self.session.end("failed", f"{type(error).__name__}: {error}"[:2000])


def _handlers(callbacks: Any) -> list[Any]:
    if callbacks is None:
        return []
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    return list(callbacks)
