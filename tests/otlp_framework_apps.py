"""Two-agent apps built with the real frameworks, driven by scripted models (no network).

A supervisor agent answers the user by calling a research agent as a tool; the research agent
calls a `search` tool, then answers. Each model step reports its token usage. The models are
scripted by conversation state rather than by a call counter, so one app can run many times.

Used by tests/test_otlp_frameworks.py; each context manager instruments the framework with
the given tracer provider, builds the app, and gives a function that runs it once.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

PROMPT = "What is the tallest mountain in Europe?"
RESEARCH_QUESTION = "tallest mountain in Europe"
RESEARCH_ANSWER = "Mount Elbrus, 5,642 m."
FINAL_ANSWER = "The tallest mountain in Europe is Mount Elbrus (5,642 m)."
MODEL = "gpt-4o"
# tokens per model step: (input, output) for the tool-calling step and the answering step
SUPERVISOR_STEPS = ((120, 20), (200, 30))
RESEARCH_STEPS = ((80, 10), (150, 25))


# ---- LangGraph (create_react_agent) -----------------------------------------------------------


def _langgraph_app() -> Any:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool
    from langgraph.prebuilt import create_react_agent

    class ScriptedChat(BaseChatModel):
        """Calls `tool_name` once, then answers: decided by whether a tool result is in."""

        tool_name: str
        tool_args: dict[str, Any]
        answer: str
        steps: tuple[tuple[int, int], tuple[int, int]]
        model_name: str = MODEL

        @property
        def _llm_type(self) -> str:
            return "scripted"

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {"model_name": self.model_name}

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _generate(self, messages: list[BaseMessage], stop: Any = None,
                      run_manager: Any = None, **kwargs: Any) -> ChatResult:
            answered = isinstance(messages[-1], ToolMessage)
            inp, out = self.steps[1] if answered else self.steps[0]
            usage = {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}
            if answered:
                message = AIMessage(content=self.answer, usage_metadata=usage)
            else:
                message = AIMessage(content="", usage_metadata=usage, tool_calls=[{
                    "name": self.tool_name, "args": self.tool_args,
                    "id": f"call_{self.tool_name}_{len(messages)}", "type": "tool_call",
                }])
            info = {"token_usage": {"prompt_tokens": inp, "completion_tokens": out,
                                   "total_tokens": inp + out}, "model_name": self.model_name}
            return ChatResult(generations=[ChatGeneration(message=message)], llm_output=info)

    @tool
    def search(query: str) -> str:
        """Search the web."""
        return "Elbrus: 5,642 m, Caucasus."

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # create_react_agent moved in 1.0
        research = create_react_agent(
            ScriptedChat(tool_name="search", tool_args={"query": RESEARCH_QUESTION},
                         answer=RESEARCH_ANSWER, steps=RESEARCH_STEPS),
            tools=[search], name="research_agent",
        )

    @tool
    def ask_research(question: str) -> str:
        """Ask the research agent."""
        result = research.invoke({"messages": [("user", question)]})
        return str(result["messages"][-1].content)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_react_agent(
            ScriptedChat(tool_name="ask_research", tool_args={"question": RESEARCH_QUESTION},
                         answer=FINAL_ANSWER, steps=SUPERVISOR_STEPS),
            tools=[ask_research], name="supervisor_agent",
        )


@contextmanager
def langgraph_openinference(tp: TracerProvider) -> Iterator[Callable[[], None]]:
    from openinference.instrumentation.langchain import LangChainInstrumentor

    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=tp)
    try:
        app = _langgraph_app()
        yield lambda: _ask_langgraph(app)
    finally:
        instrumentor.uninstrument()


@contextmanager
def langgraph_openllmetry(tp: TracerProvider) -> Iterator[Callable[[], None]]:
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    instrumentor = LangchainInstrumentor()
    instrumentor.instrument(tracer_provider=tp)
    try:
        app = _langgraph_app()
        yield lambda: _ask_langgraph(app)
    finally:
        instrumentor.uninstrument()


def _ask_langgraph(app: Any) -> None:
    result = app.invoke({"messages": [("user", PROMPT)]})
    assert result["messages"][-1].content == FINAL_ANSWER


# ---- OpenAI Agents SDK ------------------------------------------------------------------------


def _agents_app() -> Any:
    from agents import Agent, Model, ModelResponse, Usage, function_tool
    from agents.tracing import response_span
    from agents.usage import model_usage_to_span_usage
    from openai.types.responses import Response

    class ScriptedModel(Model):
        """Calls `tool_name` once, then answers: decided by whether a tool output is in.
        Traced as the SDK's own Responses model traces a call: a response span holding the
        input, the `Response` and its usage."""

        def __init__(self, tool_name: str, tool_args: dict[str, Any], answer: str,
                     steps: tuple[tuple[int, int], tuple[int, int]]) -> None:
            self.tool_name, self.tool_args, self.answer, self.steps = (
                tool_name, tool_args, answer, steps)

        async def get_response(self, system_instructions: Any, input: Any, model_settings: Any,
                               tools: Any, output_schema: Any, handoffs: Any, tracing: Any,
                               **kwargs: Any) -> ModelResponse:
            answered = isinstance(input, list) and any(
                isinstance(item, dict) and item.get("type") == "function_call_output"
                for item in input)
            inp, out = self.steps[1] if answered else self.steps[0]
            item: dict[str, Any]
            if answered:
                item = {"id": "msg_1", "type": "message", "role": "assistant",
                        "status": "completed", "content": [
                            {"type": "output_text", "text": self.answer, "annotations": []}]}
            else:
                item = {"id": "fc_1", "type": "function_call", "call_id": f"call_{self.tool_name}",
                        "name": self.tool_name, "arguments": json.dumps(self.tool_args)}
            response = Response.model_validate({
                "id": "resp_1", "created_at": 0, "model": MODEL, "object": "response",
                "output": [item], "parallel_tool_calls": True, "tool_choice": "auto",
                "tools": [], "instructions": system_instructions,
                "usage": {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
                          "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": 0}},
            })
            usage = Usage(requests=1, input_tokens=inp, output_tokens=out,
                          total_tokens=inp + out)
            with response_span(disabled=tracing.is_disabled()) as span:
                span.span_data.response = response
                span.span_data.input = input
                span.span_data.usage = model_usage_to_span_usage(usage)
            return ModelResponse(output=response.output, usage=usage, response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            raise NotImplementedError("the app does not stream")

    @function_tool
    def search(query: str) -> str:
        """Search the web."""
        return "Elbrus: 5,642 m, Caucasus."

    research = Agent(
        name="research_agent", instructions="Research the question.",
        model=ScriptedModel("search", {"query": RESEARCH_QUESTION}, RESEARCH_ANSWER,
                            RESEARCH_STEPS),
        tools=[search],
    )
    return Agent(
        name="supervisor_agent", instructions="Answer the user; ask research when needed.",
        model=ScriptedModel("ask_research", {"input": RESEARCH_QUESTION}, FINAL_ANSWER,
                            SUPERVISOR_STEPS),
        tools=[research.as_tool(tool_name="ask_research",
                                tool_description="Ask the research agent.")],
    )


@contextmanager
def agents_openinference(tp: TracerProvider) -> Iterator[Callable[[], None]]:
    from agents import Runner
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(tracer_provider=tp)

    def ask() -> None:
        result = asyncio.run(Runner.run(app, PROMPT))
        assert result.final_output == FINAL_ANSWER

    try:
        app = _agents_app()
        yield ask
    finally:
        instrumentor.uninstrument()
