"""Real frameworks, real instrumentations, the real OTLP/HTTP exporter, a real server.

A supervisor agent calls a research agent as a tool (tests/otlp_framework_apps.py; scripted
models, no network). Whatever the instrumentation, the console must show what an operator
thinks of: two agents, one session per agent run with the research run under the
supervisor's, the prompt and the answer as messages, tokens where they were spent, and no
new agents when the app runs again.

The frameworks are the `frameworks` extra (`pip install -e '.[test,frameworks]'`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from conftest import LiveServer

_EXTRA = ("langgraph", "agents", "openinference.instrumentation.langchain",
          "openinference.instrumentation.openai_agents",
          "opentelemetry.instrumentation.langchain")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


_missing = [m for m in _EXTRA if not _installed(m)]
pytestmark = pytest.mark.skipif(bool(_missing), reason=(
    f"the frameworks extra is not installed (missing {', '.join(_missing)}): "
    "pip install -e '.[test,frameworks]'"))

if not _missing:
    import otlp_framework_apps as apps

SERVICE = "research-desk"
SUPERVISOR, RESEARCH = f"{SERVICE}:supervisor_agent", f"{SERVICE}:research_agent"


Instrumented = Callable[[TracerProvider], AbstractContextManager[Callable[[], None]]]


def provider(live: LiveServer) -> TracerProvider:
    """Each span is exported on its own as it ends: children before their parents."""
    exporter = OTLPSpanExporter(endpoint=f"{live.url}/v1/traces",
                                headers={"Authorization": f"Bearer {live.token}"}, timeout=10)
    tp = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


def messages(c: httpx.Client, session_id: str) -> list[tuple[str, str]]:
    found = c.get(f"/api/v1/sessions/{session_id}/messages").json()["messages"]
    return [(m["role"], m["content"]) for m in found]


def check_two_agent_run(live: LiveServer, instrumented: Instrumented) -> None:
    tp = provider(live)
    try:
        with instrumented(tp) as run_app:
            run_app()
            check_first_run(live)
            run_app()  # the same app again: a new run of the same two agents
            check_second_run(live)
    finally:
        tp.shutdown()


def check_first_run(live: LiveServer) -> None:
    with live.client() as c:
        agents = {a["id"]: a for a in c.get("/api/v1/agents").json()["agents"]}
        assert set(agents) == {SUPERVISOR, RESEARCH}
        assert agents[SUPERVISOR]["name"] == "supervisor_agent"
        assert agents[RESEARCH]["name"] == "research_agent"

        [root] = c.get("/api/v1/sessions/tree").json()["roots"]
        top = root["session"]
        assert top["agent_id"] == SUPERVISOR and top["status"] == "completed"
        [child] = root["children"]
        sub = child["session"]
        assert child["children"] == []
        assert (sub["agent_id"], sub["parent_session_id"]) == (RESEARCH, top["id"])
        assert len(c.get("/api/v1/sessions").json()["sessions"]) == 2

        # tokens on the run whose model spent them: both steps of each agent
        (s_in1, s_out1), (s_in2, s_out2) = apps.SUPERVISOR_STEPS
        (r_in1, r_out1), (r_in2, r_out2) = apps.RESEARCH_STEPS
        assert (top["input_tokens"], top["output_tokens"]) == (s_in1 + s_in2, s_out1 + s_out2)
        assert (sub["input_tokens"], sub["output_tokens"]) == (r_in1 + r_in2, r_out1 + r_out2)
        assert top["cost_usd"] > 0 and sub["cost_usd"] > 0
        assert top["tool_calls"] == {"ask_research": 1}
        assert sub["tool_calls"] == {"search": 1}

        said = messages(c, top["id"])
        assert said[0] == ("user", apps.PROMPT)
        assert said[-1] == ("assistant", apps.FINAL_ANSWER)
        calls = [text for role, text in said if text.startswith("→ ")]
        assert len(calls) == 1 and calls[0].startswith("→ ask_research(")
        assert apps.RESEARCH_QUESTION in calls[0]
        assert not any(text.lstrip().startswith(("{", "[")) for _, text in said), said
        said = messages(c, sub["id"])
        assert said[0] == ("user", apps.RESEARCH_QUESTION)
        assert said[-1] == ("assistant", apps.RESEARCH_ANSWER)



def check_second_run(live: LiveServer) -> None:
    with live.client() as c:
        assert {a["id"] for a in c.get("/api/v1/agents").json()["agents"]} == {
            SUPERVISOR, RESEARCH}
        roots = c.get("/api/v1/sessions/tree").json()["roots"]
        assert len(roots) == 2
        for tree in roots:
            assert tree["session"]["agent_id"] == SUPERVISOR
            assert [ch["session"]["agent_id"] for ch in tree["children"]] == [RESEARCH]
            assert tree["session"]["input_tokens"] == sum(i for i, _ in apps.SUPERVISOR_STEPS)


def test_langgraph_with_openinference(live: LiveServer) -> None:
    check_two_agent_run(live, apps.langgraph_openinference)


def test_langgraph_with_openllmetry(live: LiveServer) -> None:
    check_two_agent_run(live, apps.langgraph_openllmetry)


def test_openai_agents_with_openinference(live: LiveServer) -> None:
    check_two_agent_run(live, apps.agents_openinference)

