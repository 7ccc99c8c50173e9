"""A LangGraph supervisor that calls a research agent as a tool, reporting to agentops.

The supervisor's graph and the research agent's graph each run an operator node before
their model (pause, inject and redirect land there), the callback handler reports both as
sessions (the research agent's as a child in the tree), and the answer waits for an
operator's approval in Review before it is published (a LangGraph `interrupt()`).

Try it (two terminals):

    agentops serve                                         # terminal 1
    export AGENTOPS_TOKEN=$(agentops token create --role operator)
    python examples/langgraph_agent.py --url http://127.0.0.1:8787 --fake-model   # terminal 2

`--fake-model` runs offline with a scripted chat model; without it the agent uses
`langchain-openai`'s ChatOpenAI (pip install langchain-openai; OPENAI_API_KEY).
Press `p`/`r` to pause and resume it, `i` to tell it something, `R` to give it a new goal,
`k` to kill it, and approve or reject the answer in Review (5).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt
from pydantic import Field

from agentops_tui.integrations.langchain import CAPABILITIES, AgentOpsCallbackHandler
from agentops_tui.sdk import AgentClient, SessionKilled

MODEL = "gpt-4.1-mini"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class ScriptedChatModel(BaseChatModel):
    """An offline chat model: `policy` answers from the conversation; every input is kept
    in `calls` (what the model was asked, in order) and every answer carries token usage."""

    policy: Callable[[list[BaseMessage]], AIMessage]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    model_name: str = MODEL

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kw: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kw: Any) -> ChatResult:
        self.calls.append(list(messages))
        answer = self.policy(messages)
        answer.usage_metadata = {"input_tokens": 40 * len(messages), "output_tokens": 25,
                                 "total_tokens": 40 * len(messages) + 25}
        answer.response_metadata = {"model_name": self.model_name}
        return ChatResult(generations=[ChatGeneration(message=answer)])


def _since_last_goal(messages: list[BaseMessage]) -> tuple[str, list[ToolMessage]]:
    """The latest human message and the tool results that came after it."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            results = [m for m in messages[i + 1:] if isinstance(m, ToolMessage)]
            return str(messages[i].content), results
    return "", []


def delegate_to(tool_name: str, arg: str, answer: str) -> Callable[[list[BaseMessage]], AIMessage]:
    """A policy: call `tool_name` with the latest request, then answer from its result."""
    def policy(messages: list[BaseMessage]) -> AIMessage:
        goal, results = _since_last_goal(messages)
        if not results:
            return AIMessage("", tool_calls=[{"name": tool_name, "args": {arg: goal},
                                              "id": f"call_{len(messages)}"}])
        return AIMessage(f"{answer}: {results[-1].content}")
    return policy


def agent_graph(name: str, model: BaseChatModel, tools: list[BaseTool],
                ops: AgentOpsCallbackHandler, *, review: bool = False) -> Any:
    """operator → model → (tools → operator → model)* [→ publish, waiting for approval]."""
    bound = model.bind_tools(tools)

    def call_model(state: State) -> dict[str, list[AnyMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    def publish(state: State) -> dict[str, list[AnyMessage]]:
        answer = str(state["messages"][-1].content)
        if interrupt({"summary": "publish this answer?", "answer": answer}):
            return {"messages": [AIMessage(f"published: {answer}")]}
        return {"messages": [AIMessage("not published: the operator rejected it")]}

    graph = StateGraph(State)
    graph.add_node("operator", ops.operator_node)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "operator")
    graph.add_edge("operator", "model")
    finish = "publish" if review else END
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: finish})
    graph.add_edge("tools", "operator")
    if review:
        graph.add_node("publish", publish)
        graph.add_edge("publish", END)
    return graph.compile(name=name, checkpointer=InMemorySaver() if review else None)


def build(ops: AgentOpsCallbackHandler, supervisor_model: BaseChatModel,
          research_model: BaseChatModel, search: Callable[[str], str]) -> Any:
    """The supervisor graph; its `research` tool runs the research agent's graph."""
    @tool("search")
    def search_tool(query: str) -> str:
        """Search the web."""
        return search(query)

    research_graph = agent_graph("research", research_model, [search_tool], ops)

    @tool("research")
    def research(query: str, config: RunnableConfig) -> str:
        """Ask the research agent."""
        result = research_graph.invoke({"messages": [HumanMessage(query)]}, config)
        return str(result["messages"][-1].content)

    return agent_graph("supervisor", supervisor_model, [research], ops, review=True)


def fake_models() -> tuple[ScriptedChatModel, ScriptedChatModel]:
    return (ScriptedChatModel(policy=delegate_to("research", "query", "Summary")),
            ScriptedChatModel(policy=delegate_to("search", "query", "Findings")))


def real_models() -> tuple[BaseChatModel, BaseChatModel]:
    from langchain_openai import ChatOpenAI  # type: ignore[import-not-found]

    return ChatOpenAI(model=MODEL), ChatOpenAI(model=MODEL)


def run(url: str, token: str, agent_id: str, goal: str, fake: bool, step_seconds: float) -> str:
    def search(query: str) -> str:
        time.sleep(step_seconds)  # a slow search, so there is time to act on the run
        return f"three sources agree on {query!r}"

    with AgentClient(url, token, agent_id, kind="supervisor", framework="langgraph",
                     model=MODEL, capabilities=CAPABILITIES) as client:
        ops = AgentOpsCallbackHandler(client)
        graph = build(ops, *(fake_models() if fake else real_models()), search)
        try:
            result = ops.run_graph(graph, {"messages": [HumanMessage(goal)]}, title=goal)
        except SessionKilled:
            return "killed"
        return str(result["messages"][-1].content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("AGENTOPS_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--token", default=os.environ.get("AGENTOPS_TOKEN"),
                        help="operator token (default: $AGENTOPS_TOKEN)")
    parser.add_argument("--agent-id", default="langgraph-supervisor")
    parser.add_argument("--goal", default="what changed in the EU AI Act this year?")
    parser.add_argument("--fake-model", action="store_true", help="run offline")
    parser.add_argument("--step-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set AGENTOPS_TOKEN (agentops token create --role operator)")
    print(run(args.url, args.token, args.agent_id, args.goal, args.fake_model,
              args.step_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
