"""OpenAI Agents SDK runs reported to agentops, obeying the operator.

`AgentOpsAgents.run()` runs an agent like `Runner.run()`, under one session of the client's
agent. Its `RunHooks` report the model's text answers, tool calls and token usage; an agent
taken over by a handoff, or called as a tool (`agent_tool()`), gets a child session in the
tree. The operator is obeyed at every model call (`RunConfig.call_model_input_filter`, which
nested agent-tool runs inherit) and tool call (`on_tool_start`): pause holds there, kill
raises `SessionKilled`, an injected message joins the model's input as a user message and
stays in the conversation from then on, and a redirect replaces the conversation before it
with the operator's instruction as the new goal. Tools marked `needs_approval` stop the run
with interruptions; each becomes an approval in the console's Review, and the run resumes
with the tool approved or rejected (the operator's note is the model's rejection message).
See docs/integrations.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from agentops_tui.sdk import AsyncAgentClient, AsyncSession, SessionKilled

try:
    from agents import Agent, RunConfig, RunHooks, Runner, RunResult
    from agents.items import ModelResponse, TResponseInputItem
    from agents.run_config import CallModelData, ModelInputData
    from agents.tool import FunctionTool, Tool
    from openai.types.responses import ResponseOutputMessage
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        "the OpenAI Agents SDK integration needs: pip install 'agentops-tui[openai-agents]'"
    ) from exc

__all__ = ["CAPABILITIES", "AgentOpsAgents", "SessionKilled"]

CAPABILITIES = ("pause", "resume", "inject", "redirect", "kill", "approve")


@dataclass
class _Conversation:
    """What the operator changed in one session's model input, in the run's own numbering of
    input items (a run's input only grows, so a position stays put between model calls)."""

    goal: str | None = None
    goal_from: int = 0  # items before this are replaced by `goal`
    notes: list[tuple[int, TResponseInputItem]] = field(default_factory=list)

    def apply(self, items: list[TResponseInputItem]) -> list[TResponseInputItem]:
        out: list[TResponseInputItem] = []
        if self.goal is not None:
            out.append({"role": "user", "content": self.goal})
        for i in range(self.goal_from if self.goal is not None else 0, len(items) + 1):
            out.extend(note for at, note in self.notes if at == i)
            if i < len(items):
                out.append(items[i])
        return out


@dataclass
class _Tree:
    """The sessions of one `run()`: by agent name, with their parents and conversations."""

    root: AsyncSession
    sessions: dict[str, AsyncSession] = field(default_factory=dict)
    parents: dict[str, AsyncSession] = field(default_factory=dict)  # session id -> parent
    next_parent: dict[str, tuple[AsyncSession, str | None]] = field(default_factory=dict)
    conversations: dict[str, _Conversation] = field(default_factory=dict)
    tool_started: dict[tuple[str, str], float] = field(default_factory=dict)


_current: ContextVar[_Tree | None] = ContextVar("agentops_agents_run", default=None)


class AgentOpsAgents:
    """Reports OpenAI Agents SDK runs through `client`; `agents` maps an agent's name to the
    agentops agent its sessions belong to (the main client's otherwise)."""

    def __init__(self, client: AsyncAgentClient, *,
                 agents: Mapping[str, AsyncAgentClient] | None = None) -> None:
        self.client = client
        self.agents = dict(agents or {})
        self.hooks = _Hooks(self)
        self._agent_tools: dict[str, str] = {}  # tool name -> the agent it runs
        self._redirects: dict[str, str] = {}  # session id -> the operator's new goal
        for each in {id(c): c for c in (client, *self.agents.values())}.values():
            each.on_redirect = self._take_redirect

    def _take_redirect(self, session: AsyncSession, instruction: str) -> None:
        self._redirects[session.id] = instruction

    # ---- wiring ----------------------------------------------------------------------------

    def run_config(self, base: RunConfig | None = None) -> RunConfig:
        """`base` (or a default RunConfig) with the filter that delivers the operator's word."""
        config = base or RunConfig()
        config.call_model_input_filter = self._filter
        return config

    def agent_tool(self, agent: Agent[Any], tool_name: str | None = None,
                   tool_description: str | None = None, **kw: Any) -> FunctionTool:
        """`agent.as_tool(...)` whose runs are reported as child sessions."""
        name = tool_name or agent.name
        self._agent_tools[name] = agent.name
        return agent.as_tool(name, tool_description, hooks=self.hooks, **kw)

    # ---- sessions --------------------------------------------------------------------------

    def session_of(self, agent_name: str) -> AsyncSession | None:
        tree = _current.get()
        return tree.sessions.get(agent_name) if tree else None

    async def hold(self, tree: _Tree, session: AsyncSession) -> None:
        """Obey pause and kill of `session` and of every session above it; a kill above ends
        this one killed too."""
        above: AsyncSession | None = session
        while above is not None:
            try:
                await above.hold()
            except SessionKilled:
                if above is not session:
                    session.end("killed")
                raise
            above = tree.parents.get(above.id)

    def _enter(self, tree: _Tree, agent: Agent[Any]) -> AsyncSession:
        existing = tree.sessions.get(agent.name)
        if existing is not None and (existing.killed or not existing.ended):
            return existing  # an agent tool called again, after it answered, starts anew
        if not tree.sessions:
            tree.sessions[agent.name] = tree.root
            return tree.root
        parent, prompt = tree.next_parent.pop(agent.name, (tree.root, None))
        client = self.agents.get(agent.name, self.client)
        session = client.session(title=agent.name, parent=parent, model=_model_name(agent))
        tree.sessions[agent.name] = session
        tree.parents[session.id] = parent
        if prompt:
            session.message(prompt, role="user")
        return session

    # ---- the model boundary ----------------------------------------------------------------

    async def _filter(self, data: CallModelData[Any]) -> ModelInputData:
        tree = _current.get()
        if tree is None:
            return data.model_data
        session = self._enter(tree, data.agent)
        await self.hold(tree, session)
        notes = await session.checkpoint()
        items = list(data.model_data.input)
        conversation = tree.conversations.setdefault(session.id, _Conversation())
        goal = self._redirects.pop(session.id, None)
        if goal is not None:
            conversation.goal, conversation.goal_from, conversation.notes = goal, len(items), []
        conversation.notes += [(len(items), {"role": "user", "content":
                                f"Message from the operator: {note}"}) for note in notes]
        return ModelInputData(input=conversation.apply(items),
                              instructions=data.model_data.instructions)

    # ---- running ---------------------------------------------------------------------------

    async def run(self, agent: Agent[Any], input: str | list[TResponseInputItem], *,
                  title: str | None = None, task_id: str | None = None,
                  run_config: RunConfig | None = None, context: Any = None,
                  max_turns: int = 10, approval_timeout: float = 600.0) -> RunResult:
        """`Runner.run(agent, input)` as one session; raises `SessionKilled` on a kill."""
        root = self.client.session(title=title or agent.name, task_id=task_id,
                                   model=_model_name(agent))
        if isinstance(input, str):
            root.message(input, role="user")
        tree = _Tree(root)
        token = _current.set(tree)
        config = self.run_config(run_config)
        status, error = "completed", None
        try:
            result = await Runner.run(agent, input, hooks=self.hooks, run_config=config,
                                      context=context, max_turns=max_turns)
            while result.interruptions:
                state = result.to_state()
                for item in result.interruptions:
                    session = tree.sessions.get(item.agent.name, root)
                    decision = await session.request_approval(
                        f"run {item.tool_name}?", item.arguments, timeout=approval_timeout)
                    if decision.approved:
                        state.approve(item)
                    else:
                        state.reject(item, rejection_message=decision.note or
                                     f"the operator did not allow {item.tool_name}")
                result = await Runner.run(agent, state, hooks=self.hooks, run_config=config,
                                          context=context, max_turns=max_turns)
            return result
        except SessionKilled:
            status = "killed"
            raise
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            raise
        finally:
            _current.reset(token)
            for session in reversed([*tree.sessions.values(), root]):
                session.end(status, error)  # a session already ended stays as it ended
            for session in tree.sessions.values():
                self._redirects.pop(session.id, None)


class _Hooks(RunHooks[Any]):
    def __init__(self, ops: AgentOpsAgents) -> None:
        self.ops = ops

    async def on_agent_start(self, context: Any, agent: Agent[Any]) -> None:
        tree = _current.get()
        if tree is not None:
            self.ops._enter(tree, agent)

    async def on_handoff(self, context: Any, from_agent: Agent[Any],
                         to_agent: Agent[Any]) -> None:
        tree, session = _current.get(), self.ops.session_of(from_agent.name)
        if tree is not None and session is not None:
            tree.next_parent[to_agent.name] = (session, None)

    async def on_agent_end(self, context: Any, agent: Agent[Any], output: Any) -> None:
        tree, session = _current.get(), self.ops.session_of(agent.name)
        if tree is not None and session is not None and session is not tree.root:
            session.end("completed")  # an agent called as a tool answered

    async def on_llm_start(self, context: Any, agent: Agent[Any], system_prompt: str | None,
                           input_items: list[TResponseInputItem]) -> None:
        tree, session = _current.get(), self.ops.session_of(agent.name)
        if tree is not None and session is not None:
            await self.ops.hold(tree, session)

    async def on_llm_end(self, context: Any, agent: Agent[Any],
                         response: ModelResponse) -> None:
        session = self.ops.session_of(agent.name)
        if session is None or session.ended:
            return
        usage = response.usage
        cached = int(getattr(usage.input_tokens_details, "cached_tokens", 0) or 0)
        session.usage(model=_model_name(agent) or self.ops.client.model,
                      input_tokens=max(0, usage.input_tokens - cached),
                      output_tokens=usage.output_tokens, cache_read_tokens=cached)
        for item in response.output:
            if isinstance(item, ResponseOutputMessage):
                text = "".join(getattr(part, "text", "") or "" for part in item.content)
                if text:
                    session.message(text)

    async def on_tool_start(self, context: Any, agent: Agent[Any], tool: Tool) -> None:
        tree, session = _current.get(), self.ops.session_of(agent.name)
        if tree is None or session is None:
            return
        await self.ops.hold(tree, session)
        tree.tool_started[(agent.name, tool.name)] = time.monotonic()
        runs = self.ops._agent_tools.get(tool.name)
        if runs is not None:
            tree.next_parent[runs] = (session, _tool_prompt(context))

    async def on_tool_end(self, context: Any, agent: Agent[Any], tool: Tool,
                          result: object) -> None:
        tree, session = _current.get(), self.ops.session_of(agent.name)
        if tree is None or session is None or session.ended:
            return
        started = tree.tool_started.pop((agent.name, tool.name), time.monotonic())
        session.tool_call(tool.name, output=str(result)[:4000],
                          duration_ms=(time.monotonic() - started) * 1000)


def _model_name(agent: Agent[Any]) -> str | None:
    model = agent.model
    return model if isinstance(model, str) else getattr(model, "model", None)


def _tool_prompt(context: Any) -> str | None:
    """An agent tool's input, as the child session's user message."""
    arguments = getattr(context, "tool_arguments", None)
    if not arguments:
        return None
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return str(arguments)
    if isinstance(parsed, dict) and len(parsed) == 1:
        return str(next(iter(parsed.values())))
    return str(arguments)
