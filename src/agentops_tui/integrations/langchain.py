"""LangChain and LangGraph runs reported to agentops, obeying the operator.

`AgentOpsCallbackHandler` is a LangChain callback handler (and a LangGraph graph callback
handler). Pass it in `config["callbacks"]` and every top-level run becomes a session of the
client's agent; a graph run from inside a tool (an agent called as a tool), or a chain named
in `subagents`, becomes a child session in the tree. It reports the user's prompt, the
model's text answers, tool calls (with duration and output) and token usage from the model's
`usage_metadata`.

It obeys at every model and tool boundary (`on_chat_model_start`, `on_llm_start`,
`on_tool_start`): a paused session holds there until resumed; a killed one raises
`SessionKilled` there, so the graph stops and the exception reaches the caller.

A callback cannot change what the model is about to read (LangChain hands callbacks a copy
of the messages), so inject and redirect are delivered by a graph node:
`handler.operator_node` returns a state update for a `messages` channel with the `add_messages`
reducer. Put it before the model node (or pass it as `pre_model_hook`): an injected message is
appended to the conversation as a user message the next model call reads; a redirect replaces
the conversation (system messages kept) with the operator's instruction as the new goal.

`run_graph()` runs a graph under one session and turns LangGraph interrupts (`interrupt()`
in a node) into approvals in the console's Review; the graph resumes with
`Command(resume=...)` carrying the decision (`True` / `False` unless `resume_with` says
otherwise). See docs/integrations.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentops_tui.integrations.langchain_text import last_user_text, message_text, usage_fields
from agentops_tui.sdk import AgentClient, ApprovalResult, Session, SessionKilled

try:
    from langchain_core.callbacks import BaseCallbackManager
    from langchain_core.messages import (
        BaseMessage,
        HumanMessage,
        RemoveMessage,
        SystemMessage,
    )
    from langchain_core.outputs import LLMResult
    from langchain_core.runnables import RunnableConfig
    from langgraph.callbacks import GraphCallbackHandler, GraphInterruptEvent
    from langgraph.graph.message import REMOVE_ALL_MESSAGES

    from agentops_tui.integrations.langgraph_runs import GraphRun
    from agentops_tui.integrations.langgraph_runs import pinned as _pinned
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        "the LangChain integration needs: pip install 'agentops-tui[langchain]'") from exc

__all__ = ["CAPABILITIES", "AgentOpsCallbackHandler", "SessionKilled"]

log = logging.getLogger("agentops.integrations.langchain")

# What an agent run through this handler obeys: inject and redirect need `operator_node` in
# the graph; without it declare `("pause", "resume", "kill", "approve")`.
CAPABILITIES = ("pause", "resume", "inject", "redirect", "kill", "approve")



@dataclass
class _Run:
    parent: UUID | None
    kind: str  # chain | llm | tool
    session: Session | None  # the session this run reports into
    opened: bool = False  # this run opened `session` (and ends it)
    name: str = ""
    model: str | None = None
    started: float = 0.0


class AgentOpsCallbackHandler(GraphCallbackHandler):
    """Reports LangChain/LangGraph runs through `client` and obeys the operator there."""

    raise_error = True  # a kill must stop the run: errors raised here reach the graph

    def __init__(self, client: AgentClient, *, subagents: Collection[str] = (),
                 agents: Mapping[str, AgentClient] | None = None) -> None:
        self.client = client
        self.subagents = set(subagents) | set(agents or {})
        self.agents = dict(agents or {})  # subagent name -> the agent that runs it
        self._runs: dict[UUID, _Run] = {}
        self._parents: dict[str, Session] = {}  # session id -> parent session
        self._redirects: dict[str, str] = {}  # session id -> the operator's new goal
        self._interrupted: set[str] = set()
        self._lock = threading.RLock()
        for each in {id(c): c for c in (client, *self.agents.values())}.values():
            each.inner.on_redirect = self._take_redirect

    # ---- sessions --------------------------------------------------------------------------

    def _take_redirect(self, session: Any, instruction: str) -> None:
        self._redirects[session.id] = instruction  # runs on the SDK's thread; a dict store

    def _session_of(self, run_id: UUID | None) -> Session | None:
        with self._lock:
            run = self._runs.get(run_id) if run_id else None
            return run.session if run else None

    def session_for(self, config: RunnableConfig | None) -> Session | None:
        """The session a node runs in, from the `config` LangGraph passes to it."""
        manager = (config or {}).get("callbacks")
        if isinstance(manager, BaseCallbackManager):
            return self._session_of(manager.parent_run_id)
        return _pinned.get()

    def hold(self, session: Session | None) -> None:
        """Obey pause and kill of the session and of every session above it."""
        while session is not None:
            session.hold()
            session = self._parents.get(session.id)

    def _open(self, run_id: UUID, parent: UUID | None, name: str, inputs: Any) -> None:
        parent_run = self._runs.get(parent) if parent else None
        above = parent_run.session if parent_run else None
        pinned = _pinned.get() if parent is None else None
        opens = parent is None or (parent_run is not None and (
            parent_run.kind == "tool" or name in self.subagents))
        if not opens:
            self._runs[run_id] = _Run(parent, "chain", above, name=name)
            return
        if pinned is not None:
            self._runs[run_id] = _Run(parent, "chain", pinned, name=name)
            return
        client = self.agents.get(name, self.client)
        if above is None:
            session = client.session(title=name)
        else:
            session = client.session(title=name, parent=above)
            self._parents[session.id] = above
        self._runs[run_id] = _Run(parent, "chain", session, opened=True, name=name)
        prompt = last_user_text(inputs)
        if prompt:
            session.message(prompt, role="user")

    def _close(self, run_id: UUID, error: BaseException | None) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or not run.opened or run.session is None:
            return
        session = run.session
        if error is None and session.id in self._interrupted:
            session.waiting("stopped at an interrupt")  # a resume continues it
            return
        self._parents.pop(session.id, None)
        self._redirects.pop(session.id, None)
        if isinstance(error, SessionKilled):
            session.end("killed")  # no-op when the kill was this session's own
        elif error is not None and type(error).__name__ == "GraphInterrupt":
            session.waiting("stopped at an interrupt")
        else:
            session.end("completed" if error is None else "failed",
                        None if error is None else f"{type(error).__name__}: {error}"[:2000])

    # ---- chains ----------------------------------------------------------------------------

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *,
                       run_id: UUID, parent_run_id: UUID | None = None, **kw: Any) -> None:
        name = str(kw.get("name") or (serialized or {}).get("name") or "run")
        with self._lock:
            self._open(run_id, parent_run_id, name, inputs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._close(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self._close(run_id, error)

    def on_interrupt(self, event: GraphInterruptEvent) -> None:
        session = self._session_of(event.run_id)
        if session is not None and _pinned.get() is None:
            self._interrupted.add(session.id)

    # ---- models ----------------------------------------------------------------------------

    def _model_start(self, run_id: UUID, parent: UUID | None, kw: dict[str, Any]) -> None:
        params = kw.get("invocation_params") or {}
        metadata = kw.get("metadata") or {}
        model = params.get("model") or params.get("model_name") or metadata.get("ls_model_name")
        session = self._session_of(parent)
        with self._lock:
            self._runs[run_id] = _Run(parent, "llm", session, model=model)
        self.hold(session)

    def on_chat_model_start(self, serialized: dict[str, Any] | None,
                            messages: list[list[BaseMessage]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, **kw: Any) -> None:
        self._model_start(run_id, parent_run_id, kw)

    def on_llm_start(self, serialized: dict[str, Any] | None, prompts: list[str], *,
                     run_id: UUID, parent_run_id: UUID | None = None, **kw: Any) -> None:
        self._model_start(run_id, parent_run_id, kw)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or run.session is None or run.session.inner.ended:
            return
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = usage_fields(message, response.llm_output)
                model = run.model or (getattr(message, "response_metadata", None) or {}).get(
                    "model_name")
                if usage:
                    run.session.usage(model=model, **usage)
                text = message_text(message) if message is not None else generation.text
                if text:
                    run.session.message(text)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    # ---- tools -----------------------------------------------------------------------------

    def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, *,
                      run_id: UUID, parent_run_id: UUID | None = None, **kw: Any) -> None:
        name = str(kw.get("name") or (serialized or {}).get("name") or "tool")
        session = self._session_of(parent_run_id)
        with self._lock:
            self._runs[run_id] = _Run(parent_run_id, "tool", session, name=name,
                                      started=time.monotonic())
        self.hold(session)

    def _tool_done(self, run_id: UUID, ok: bool, output: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or run.session is None or run.session.inner.ended:
            return
        run.session.tool_call(run.name, ok=ok, output=output[:4000],
                              duration_ms=(time.monotonic() - run.started) * 1000)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
        self._tool_done(run_id, True, message_text(output))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self._tool_done(run_id, False, f"{type(error).__name__}: {error}")

    # ---- the operator's messages, as a graph node ------------------------------------------

    def operator_node(self, state: Mapping[str, Any],
                      config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        """A graph node (or `pre_model_hook`): obeys pause and kill, then adds what the
        operator injected to `messages`, or replaces the goal after a redirect."""
        session = self.session_for(config)
        if session is None:
            return {"messages": []}
        self.hold(self._parents.get(session.id))
        notes = session.checkpoint()  # waits while paused; raises SessionKilled
        update: list[BaseMessage] = []
        goal = self._redirects.pop(session.id, None)
        if goal is not None:
            kept = [m for m in state.get("messages", []) if isinstance(m, SystemMessage)]
            update = [RemoveMessage(id=REMOVE_ALL_MESSAGES), *kept, HumanMessage(goal)]
        update += [HumanMessage(f"Message from the operator: {note}") for note in notes]
        return {"messages": update}

    # ---- running a graph with approvals ----------------------------------------------------

    def run_graph(self, graph: Any, graph_input: Any, config: RunnableConfig | None = None, *,
                  title: str | None = None, task_id: str | None = None,
                  resume_with: Callable[[ApprovalResult], Any] | None = None,
                  approval_timeout: float = 600.0) -> Any:
        """`graph.invoke()` as one session; each interrupt waits for an operator's decision.

        The graph needs a checkpointer to resume after an interrupt. Raises `SessionKilled`
        when the operator kills the run.
        """
        run = GraphRun(self.client, self, graph, graph_input, config, title=title,
                       task_id=task_id, resume_with=resume_with,
                       approval_timeout=approval_timeout)
        run.start()
        try:
            value = graph_input
            while True:
                result = graph.invoke(value, run.config)
                if (value := run.resume_value(result)) is None:
                    break
        except BaseException as exc:
            run.stop(exc)
            raise
        return run.done(result)

    async def arun_graph(self, graph: Any, graph_input: Any,
                         config: RunnableConfig | None = None, *, title: str | None = None,
                         task_id: str | None = None,
                         resume_with: Callable[[ApprovalResult], Any] | None = None,
                         approval_timeout: float = 600.0) -> Any:
        """`run_graph()` with `graph.ainvoke()`, for asyncio programs."""
        run = GraphRun(self.client, self, graph, graph_input, config, title=title,
                       task_id=task_id, resume_with=resume_with,
                       approval_timeout=approval_timeout)
        run.start()
        try:
            value = graph_input
            while True:
                result = await graph.ainvoke(value, run.config)
                if (value := await run.aresume_value(result)) is None:
                    break
        except BaseException as exc:
            run.stop(exc)
            raise
        return run.done(result)
