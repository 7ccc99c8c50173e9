"""An OpenAI Agents SDK supervisor that calls a research agent as a tool, reporting to agentops.

The supervisor asks the research agent (a child session in the console's tree), then
publishes the answer with a tool that needs an operator's approval (Review, 5). Press
`p`/`r` to pause and resume it, `i` to tell it something, `R` to give it a new goal and `k`
to kill it: it obeys at its next model or tool call.

Try it (two terminals):

    agentops serve                                         # terminal 1
    export AGENTOPS_TOKEN=$(agentops token create --role operator)
    python examples/openai_agents_agent.py --url http://127.0.0.1:8787 --fake-model

`--fake-model` runs offline with the Agents SDK's scripted model; without it the agents use
OpenAI's models (OPENAI_API_KEY).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from agents import Agent, Model, RunConfig, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.usage import Usage

from agentops_tui.integrations.openai_agents import CAPABILITIES, AgentOpsAgents
from agentops_tui.sdk import AsyncAgentClient, SessionKilled

MODEL = "gpt-4.1-mini"
_call_ids = itertools.count(1)  # a tool call id is never reused within a run


def _since_last_goal(call: ModelCall) -> tuple[str, list[str]]:
    """The latest user message and the tool outputs that came after it."""
    items = [{"role": "user", "content": call.input}] if isinstance(call.input,
                                                                     str) else call.input
    for i in range(len(items) - 1, -1, -1):
        if items[i].get("role") == "user":
            outputs = [str(item.get("output")) for item in items[i + 1:]
                       if item.get("type") == "function_call_output"]
            return str(items[i]["content"]), outputs
    return "", []


def _step(output: Any, call: ModelCall) -> ModelStep:
    size = len(call.input) if isinstance(call.input, list) else 1
    return ModelStep(output=[output], usage=Usage(requests=1, input_tokens=40 * size,
                                                  output_tokens=25,
                                                  total_tokens=40 * size + 25))


def supervisor_policy(call: ModelCall) -> ModelStep:
    """Ask the research agent, publish its answer (an approval), then report."""
    goal, outputs = _since_last_goal(call)
    if not outputs:
        return _step(function_call("research", {"input": goal},
                                   call_id=f"call_r{next(_call_ids)}"), call)
    if len(outputs) == 1:
        return _step(function_call("publish", {"text": f"Summary: {outputs[0]}"},
                                   call_id=f"call_p{next(_call_ids)}"), call)
    return _step(assistant_message(outputs[-1]), call)


def research_policy(call: ModelCall) -> ModelStep:
    goal, outputs = _since_last_goal(call)
    if not outputs:
        return _step(function_call("search", {"query": goal},
                                   call_id=f"call_s{next(_call_ids)}"), call)
    return _step(assistant_message(f"Findings: {outputs[-1]}"), call)


def scripted(policy: Callable[[ModelCall], ModelStep], turns: int = 50) -> ScriptedModel:
    """The SDK's scripted model answering every call with `policy` (it records each call)."""
    return ScriptedModel([ModelStep.respond(policy) for _ in range(turns)])


def build(ops: AgentOpsAgents, supervisor_model: Model | str, research_model: Model | str,
          search: Callable[[str], Awaitable[str]]) -> Agent[Any]:
    @function_tool(name_override="search")
    async def search_tool(query: str) -> str:
        """Search the web."""
        return await search(query)

    @function_tool(needs_approval=True)
    def publish(text: str) -> str:
        """Publish the answer (an operator approves it first)."""
        return f"published: {text}"

    research = Agent(name="research", instructions="Research the question; cite sources.",
                     model=research_model, tools=[search_tool])
    return Agent(name="supervisor", model=supervisor_model,
                 instructions="Delegate research, then publish a short summary.",
                 tools=[ops.agent_tool(research, "research", "Ask the research agent."),
                        publish])


async def run(url: str, token: str, agent_id: str, goal: str, fake: bool,
              step_seconds: float) -> str:
    async def search(query: str) -> str:
        await asyncio.sleep(step_seconds)  # a slow search, so there is time to act on the run
        return f"three sources agree on {query!r}"

    models: tuple[Model | str, Model | str] = (
        (scripted(supervisor_policy), scripted(research_policy)) if fake else (MODEL, MODEL))
    async with AsyncAgentClient(url, token, agent_id, kind="supervisor",
                                framework="openai-agents", model=MODEL,
                                capabilities=CAPABILITIES) as client:
        ops = AgentOpsAgents(client)
        try:
            # offline, nothing to send traces to
            result = await ops.run(build(ops, *models, search), goal, title=goal,
                                   run_config=RunConfig(tracing_disabled=fake))
        except SessionKilled:
            return "killed"
        return str(result.final_output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("AGENTOPS_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--token", default=os.environ.get("AGENTOPS_TOKEN"),
                        help="operator token (default: $AGENTOPS_TOKEN)")
    parser.add_argument("--agent-id", default="openai-agents-supervisor")
    parser.add_argument("--goal", default="what changed in the EU AI Act this year?")
    parser.add_argument("--fake-model", action="store_true", help="run offline")
    parser.add_argument("--step-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set AGENTOPS_TOKEN (agentops token create --role operator)")
    print(asyncio.run(run(args.url, args.token, args.agent_id, args.goal, args.fake_model,
                          args.step_seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
