"""The LangGraph integration against a real server: what a run reports, and every action the
agent declares obeyed at the run's boundaries (examples/langgraph_agent.py's graphs, offline
with its scripted chat model)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("langgraph", reason="the [langchain] extra is not installed")
pytest.importorskip("langchain_core", reason="the [langchain] extra is not installed")

from langchain_core.messages import HumanMessage  # noqa: E402

from agentops_tui.integrations.langchain import (  # noqa: E402
    CAPABILITIES,
    AgentOpsCallbackHandler,
)
from agentops_tui.sdk import AgentClient, SessionKilled  # noqa: E402

from conftest import LiveServer  # noqa: E402

EXAMPLE = Path(__file__).parent.parent / "examples" / "langgraph_agent.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("langgraph_agent_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ex = _load_example()


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class Run:
    """The example's supervisor running on a thread; its search tool waits at `gate`."""

    def __init__(self, live: LiveServer, goal: str = "find the churn numbers") -> None:
        self.live = live
        self.gate = threading.Event()
        self.searching = threading.Event()
        self.client = AgentClient(live.url, live.token, "lg-supervisor", framework="langgraph",
                                  capabilities=CAPABILITIES, flush_interval=0.01)
        self.ops = AgentOpsCallbackHandler(self.client)
        self.supervisor, self.research = ex.fake_models()
        graph = ex.build(self.ops, self.supervisor, self.research, self._search)
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(graph, goal), daemon=True)
        self.thread.start()

    def _search(self, query: str) -> str:
        self.searching.set()
        assert self.gate.wait(30)
        return f"sources on {query!r}"

    def _run(self, graph: Any, goal: str) -> None:
        try:
            self.result = self.ops.run_graph(graph, {"messages": [HumanMessage(goal)]},
                                             title=goal)
        except BaseException as exc:  # the test reads it
            self.error = exc

    def sessions(self) -> dict[str, dict[str, Any]]:
        with self.live.client() as c:
            listed = c.get("/api/v1/sessions", params={"limit": 50}).json()["sessions"]
        return {s["title"]: s for s in listed}

    def session_id(self, title: str) -> str:
        return str(wait_for(lambda: self.sessions().get(title))["id"])

    def post(self, path: str, **body: Any) -> None:
        with self.live.client() as c:
            c.post(path, json=body or None).raise_for_status()

    def decide(self, verb: str) -> None:
        def pending() -> list[dict[str, Any]]:
            with self.live.client() as c:
                return list(c.get("/api/v1/approvals", params={"status": "pending"}).json()[
                    "approvals"])
        [approval] = wait_for(pending)
        self.post(f"/api/v1/approvals/{approval['id']}/{verb}")

    def finish(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.client.flush()


@pytest.fixture
def run(live: LiveServer) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(goal: str = "find the churn numbers") -> Run:
        runs.append(Run(live, goal))
        return runs[-1]

    yield start
    for each in runs:
        each.gate.set()
        if each.thread.is_alive():
            each.thread.join(30)
        each.client.close()


def _held() -> bool:
    """Some thread of the run (LangGraph runs tools on a pool) waits in the handler's `hold`:
    the run stands at a boundary, paused."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code is AgentOpsCallbackHandler.hold.__code__:
                return True
            frame = frame.f_back
    return False


def test_a_run_reports_sessions_tree_messages_tools_and_usage(
        live: LiveServer, run: Callable[..., Run]) -> None:
    r = run()
    r.gate.set()
    r.decide("approve")
    r.finish()
    assert r.error is None and r.result["messages"][-1].content.startswith("published: Summary")
    with live.client() as c:
        agent = c.get("/api/v1/agents/lg-supervisor").json()
        assert agent["framework"] == "langgraph" and agent["capabilities"] == list(CAPABILITIES)
        [root] = c.get("/api/v1/sessions/tree").json()["roots"]
        top, [child] = root["session"], root["children"]
        assert top["title"] == "find the churn numbers" and top["status"] == "completed"
        assert top["tool_calls"] == {"research": 1}
        assert top["input_tokens"] > 0 and top["output_tokens"] == 50  # two model calls
        research = child["session"]
        assert research["title"] == "research" and research["status"] == "completed"
        assert research["tool_calls"] == {"search": 1} and research["output_tokens"] == 50
        messages = c.get(f"/api/v1/sessions/{top['id']}/messages").json()["messages"]
        assert [(m["role"], m["content"]) for m in messages] == [
            ("user", "find the churn numbers"),
            ("assistant", "Summary: Findings: sources on 'find the churn numbers'"),
            ("assistant", "published: Summary: Findings: sources on 'find the churn numbers'"),
        ]
        child_messages = c.get(f"/api/v1/sessions/{research['id']}/messages").json()[
            "messages"]
        assert [m["role"] for m in child_messages] == ["user", "assistant"]


def test_pause_holds_the_next_boundary_until_resume(run: Callable[..., Run]) -> None:
    r = run()
    assert r.searching.wait(15)
    root = r.session_id("find the churn numbers")
    r.post(f"/api/v1/sessions/{root}/pause")
    wait_for(lambda: r.sessions()["find the churn numbers"]["status"] == "paused")
    calls = len(r.research.calls)
    r.gate.set()  # the search returns; the research agent's next model call is a boundary
    wait_for(_held)
    assert len(r.research.calls) == calls and r.result is None
    r.post(f"/api/v1/sessions/{root}/resume")
    r.decide("approve")
    r.finish()
    assert r.error is None and len(r.research.calls) == calls + 1


def test_inject_reaches_the_next_model_call(run: Callable[..., Run]) -> None:
    r = run()
    assert r.searching.wait(15)
    research = r.session_id("research")
    r.post(f"/api/v1/sessions/{research}/inject", message="prefer primary sources")
    wait_for(lambda: any(s.injected for s in r.client.inner.sessions.values()))
    r.gate.set()
    r.decide("approve")
    r.finish()
    seen = [str(m.content) for m in r.research.calls[-1]]
    assert "Message from the operator: prefer primary sources" in seen


def test_redirect_replaces_the_goal(run: Callable[..., Run]) -> None:
    r = run()
    assert r.searching.wait(15)
    root = r.session_id("find the churn numbers")
    r.post(f"/api/v1/sessions/{root}/redirect", message="compare Q3 with Q2 instead")
    wait_for(lambda: r.ops._redirects)
    r.gate.set()
    r.decide("approve")
    r.finish()
    asked = r.supervisor.calls[-1]
    assert [str(m.content) for m in asked if isinstance(m, HumanMessage)] == [
        "compare Q3 with Q2 instead"]
    assert "compare Q3 with Q2 instead" in r.result["messages"][-1].content


def test_kill_stops_the_run_and_ends_the_sessions_killed(run: Callable[..., Run]) -> None:
    r = run()
    assert r.searching.wait(15)
    root = r.session_id("find the churn numbers")
    r.post(f"/api/v1/sessions/{root}/kill")
    wait_for(lambda: r.sessions()["find the churn numbers"]["status"] == "killed")
    calls = len(r.research.calls)
    r.gate.set()
    r.finish()
    assert isinstance(r.error, SessionKilled) and len(r.research.calls) == calls
    wait_for(lambda: r.sessions()["research"]["status"] == "killed")


@pytest.mark.parametrize(("verb", "answer"), [("approve", "published: Summary"),
                                              ("reject", "not published")])
def test_an_interrupt_waits_for_the_operators_decision(
        run: Callable[..., Run], verb: str, answer: str) -> None:
    r = run()
    r.gate.set()
    r.decide(verb)
    r.finish()
    assert r.error is None and r.result["messages"][-1].content.startswith(answer)
    assert r.sessions()["find the churn numbers"]["status"] == "completed"


def test_the_example_runs_as_written(live: LiveServer) -> None:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--url", live.url, "--token", live.token,
         "--fake-model", "--step-seconds", "0", "--goal", "count the regions"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with live.client() as c:
            [approval] = wait_for(lambda: c.get(
                "/api/v1/approvals", params={"status": "pending"}).json()["approvals"], 60)
            c.post(f"/api/v1/approvals/{approval['id']}/approve").raise_for_status()
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            assert out.startswith("published: Summary: Findings:")
            [root] = c.get("/api/v1/sessions/tree").json()["roots"]
            assert root["session"]["status"] == "completed" and len(root["children"]) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


async def test_arun_graph_runs_with_ainvoke_and_takes_the_decision(live: LiveServer) -> None:
    client = AgentClient(live.url, live.token, "lg-async", framework="langgraph",
                         capabilities=CAPABILITIES, flush_interval=0.01)
    try:
        ops = AgentOpsCallbackHandler(client)
        supervisor, research = ex.fake_models()
        graph = ex.build(ops, supervisor, research, lambda query: f"sources on {query!r}")
        task = asyncio.create_task(ops.arun_graph(
            graph, {"messages": [HumanMessage("list the regions")]}, title="async run"))
        async with httpx.AsyncClient(base_url=live.url, timeout=10, headers={
                "Authorization": f"Bearer {live.token}"}) as api:
            deadline = time.monotonic() + 15
            while not (pending := (await api.get("/api/v1/approvals", params={
                    "status": "pending"})).json()["approvals"]):
                assert time.monotonic() < deadline and not task.done(), "no approval"
                await asyncio.sleep(0.02)
            (await api.post(f"/api/v1/approvals/{pending[0]['id']}/reject")).raise_for_status()
            result = await asyncio.wait_for(task, 30)
            assert result["messages"][-1].content.startswith("not published")
            await asyncio.to_thread(client.flush)
            [root] = (await api.get("/api/v1/sessions/tree")).json()["roots"]
        assert root["session"]["title"] == "async run"
        assert root["session"]["status"] == "completed"
        assert root["children"][0]["session"]["tool_calls"] == {"search": 1}
    finally:
        await asyncio.to_thread(client.close)


def test_without_run_graph_each_top_level_run_is_a_session(live: LiveServer) -> None:
    with AgentClient(live.url, live.token, "lg-plain", framework="langgraph",
                     capabilities=("pause", "resume", "kill", "approve"),
                     flush_interval=0.01) as client:
        ops = AgentOpsCallbackHandler(client)
        _, research = ex.fake_models()
        @ex.tool("search")
        def search(query: str) -> str:
            """Search the web."""
            return f"sources on {query!r}"

        graph = ex.agent_graph("research", research, [search], ops)
        for question in ("first question", "second question"):
            graph.invoke({"messages": [HumanMessage(question)]}, {"callbacks": [ops]})
        client.flush()
        with live.client() as c:
            roots = c.get("/api/v1/sessions/tree").json()["roots"]
            assert sorted((r["session"]["status"], r["session"]["tool_calls"]["search"])
                          for r in roots) == [("completed", 1), ("completed", 1)]
            for root in roots:
                messages = c.get(f"/api/v1/sessions/{root['session']['id']}/messages").json()
                assert [m["role"] for m in messages["messages"]] == ["user", "assistant"]


def test_killing_a_subagent_stops_the_run_that_called_it(run: Callable[..., Run]) -> None:
    r = run()
    assert r.searching.wait(15)
    research = r.session_id("research")
    r.post(f"/api/v1/sessions/{research}/kill")
    wait_for(lambda: r.sessions()["research"]["status"] == "killed")
    r.gate.set()
    r.finish()
    assert isinstance(r.error, SessionKilled)
    assert r.sessions()["find the churn numbers"]["status"] == "killed"
