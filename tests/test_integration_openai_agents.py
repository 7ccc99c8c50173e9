"""The OpenAI Agents SDK integration against a real server: what a run reports, and every
action the agent declares obeyed at its model and tool calls (examples/openai_agents_agent.py's
agents, offline with the SDK's scripted model)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("agents", reason="the [openai-agents] extra is not installed")

from agents import RunConfig  # noqa: E402

from agentops_tui.integrations.openai_agents import CAPABILITIES, AgentOpsAgents  # noqa: E402
from agentops_tui.sdk import AsyncAgentClient, SessionKilled  # noqa: E402

from conftest import LiveServer  # noqa: E402

EXAMPLE = Path(__file__).parent.parent / "examples" / "openai_agents_agent.py"
GOAL = "find the churn numbers"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("openai_agents_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ex = _load_example()


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


class Run:
    """The example's supervisor as a task; its search tool waits at `gate`."""

    def __init__(self, live: LiveServer, api: httpx.AsyncClient) -> None:
        self.api = api
        self.gate = asyncio.Event()
        self.searching = asyncio.Event()
        self.client = AsyncAgentClient(live.url, live.token, "oa-supervisor",
                                       framework="openai-agents", model="gpt-4.1-mini",
                                       capabilities=CAPABILITIES, flush_interval=0.01)
        self.ops = AgentOpsAgents(self.client)
        self.supervisor = ex.scripted(ex.supervisor_policy)
        self.research = ex.scripted(ex.research_policy)
        self.task: asyncio.Task[Any] | None = None

    async def _search(self, query: str) -> str:
        self.searching.set()
        await self.gate.wait()
        return f"sources on {query!r}"

    async def start(self) -> Run:
        await self.client.start()
        agent = ex.build(self.ops, self.supervisor, self.research, self._search)
        self.task = asyncio.create_task(self.ops.run(
            agent, GOAL, title=GOAL, run_config=RunConfig(tracing_disabled=True)))
        return self

    async def sessions(self) -> dict[str, dict[str, Any]]:
        listed = (await self.api.get("/api/v1/sessions", params={"limit": 50})).json()
        return {s["title"]: s for s in listed["sessions"]}

    async def session_id(self, title: str) -> str:
        async def found() -> Any:
            return (await self.sessions()).get(title)
        return str((await wait_for(found))["id"])

    async def post(self, path: str, **body: Any) -> None:
        (await self.api.post(path, json=body or None)).raise_for_status()

    async def decide(self, verb: str) -> None:
        async def pending() -> list[dict[str, Any]]:
            r = await self.api.get("/api/v1/approvals", params={"status": "pending"})
            return list(r.json()["approvals"])
        [approval] = await wait_for(pending)
        await self.post(f"/api/v1/approvals/{approval['id']}/{verb}")

    async def status(self, title: str) -> str:
        return str((await self.sessions())[title]["status"])

    async def result(self) -> Any:
        assert self.task is not None
        return await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def run(live: LiveServer) -> AsyncIterator[Callable[[], Awaitable[Run]]]:
    runs: list[Run] = []
    async with httpx.AsyncClient(base_url=live.url, timeout=10,
                                 headers={"Authorization": f"Bearer {live.token}"}) as api:
        async def start() -> Run:
            runs.append(await Run(live, api).start())
            return runs[-1]

        yield start
        for each in runs:
            each.gate.set()
            if each.task is not None and not each.task.done():
                each.task.cancel()
            await asyncio.gather(*(t for t in [each.task] if t), return_exceptions=True)
            await each.client.close()


def _held() -> bool:
    """A task of the run waits in the integration's `hold`: at a boundary, paused."""
    for task in asyncio.all_tasks():
        awaiting: Any = task.get_coro()
        while awaiting is not None:  # down the chain of awaits
            if getattr(awaiting, "cr_code", None) is AgentOpsAgents.hold.__code__:
                return True
            awaiting = getattr(awaiting, "cr_await", None)
    return False


async def test_a_run_reports_sessions_tree_messages_tools_and_usage(
        live: LiveServer, run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    r.gate.set()
    await r.decide("approve")
    result = await r.result()
    answer = f"published: Summary: Findings: sources on '{GOAL}'"
    assert result.final_output == answer
    await r.client.flush()
    agent = (await r.api.get("/api/v1/agents/oa-supervisor")).json()
    assert agent["framework"] == "openai-agents" and agent["capabilities"] == list(CAPABILITIES)
    [root] = (await r.api.get("/api/v1/sessions/tree")).json()["roots"]
    top, [child] = root["session"], root["children"]
    assert top["title"] == GOAL and top["status"] == "completed"
    assert top["tool_calls"] == {"research": 1, "publish": 1}
    assert top["output_tokens"] == 75 and top["input_tokens"] > 0  # three model calls
    research = child["session"]
    assert research["title"] == "research" and research["status"] == "completed"
    assert research["tool_calls"] == {"search": 1} and research["output_tokens"] == 50
    messages = (await r.api.get(f"/api/v1/sessions/{top['id']}/messages")).json()["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [("user", GOAL),
                                                             ("assistant", answer)]
    child_messages = (await r.api.get(f"/api/v1/sessions/{research['id']}/messages")).json()
    assert [(m["role"], m["content"]) for m in child_messages["messages"]] == [
        ("user", GOAL), ("assistant", f"Findings: sources on '{GOAL}'")]


async def test_pause_holds_the_next_boundary_until_resume(
        run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    await r.searching.wait()
    root = await r.session_id(GOAL)
    await r.post(f"/api/v1/sessions/{root}/pause")

    async def paused() -> bool:
        return await r.status(GOAL) == "paused"
    await wait_for(paused)
    calls = len(r.research.calls)
    r.gate.set()  # the search returns; the research agent's next model call is a boundary

    async def held() -> bool:
        return _held()
    await wait_for(held)
    assert len(r.research.calls) == calls and r.task is not None and not r.task.done()
    await r.post(f"/api/v1/sessions/{root}/resume")
    await r.decide("approve")
    await r.result()
    assert len(r.research.calls) == calls + 1


async def test_inject_reaches_the_next_model_call(run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    await r.searching.wait()
    research = await r.session_id("research")
    await r.post(f"/api/v1/sessions/{research}/inject", message="prefer primary sources")

    async def arrived() -> bool:
        return any(s.injected for s in r.client.sessions.values())
    await wait_for(arrived)
    r.gate.set()
    await r.decide("approve")
    await r.result()
    seen = [item.get("content") for item in r.research.calls[-1].input]
    assert "Message from the operator: prefer primary sources" in seen


async def test_redirect_replaces_the_goal(run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    await r.searching.wait()
    root = await r.session_id(GOAL)
    await r.post(f"/api/v1/sessions/{root}/redirect", message="compare Q3 with Q2 instead")

    async def taken() -> bool:
        return bool(r.ops._redirects)
    await wait_for(taken)
    r.gate.set()
    await r.decide("approve")
    result = await r.result()
    asked = r.supervisor.calls[-1].input
    assert [i["content"] for i in asked if i.get("role") == "user"] == [
        "compare Q3 with Q2 instead"]
    assert "compare Q3 with Q2 instead" in result.final_output


async def test_kill_stops_the_run_and_ends_the_sessions_killed(
        run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    await r.searching.wait()
    root = await r.session_id(GOAL)
    await r.post(f"/api/v1/sessions/{root}/kill")

    async def killed() -> bool:
        return await r.status(GOAL) == "killed"
    await wait_for(killed)
    calls = len(r.supervisor.calls), len(r.research.calls)
    r.gate.set()
    with pytest.raises(SessionKilled):
        await r.result()
    assert (len(r.supervisor.calls), len(r.research.calls)) == calls
    await r.client.flush()
    assert await r.status("research") == "killed"


@pytest.mark.parametrize(("verb", "answer"), [("approve", "published: Summary"),
                                              ("reject", "the operator did not allow")])
async def test_a_tool_approval_waits_for_the_operators_decision(
        run: Callable[[], Awaitable[Run]], verb: str, answer: str) -> None:
    r = await run()
    r.gate.set()
    await r.decide(verb)
    result = await r.result()
    assert result.final_output.startswith(answer)
    await r.client.flush()
    assert await r.status(GOAL) == "completed"


def test_the_example_runs_as_written(live: LiveServer) -> None:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--url", live.url, "--token", live.token,
         "--fake-model", "--step-seconds", "0", "--goal", "count the regions"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with live.client() as c:
            deadline = time.monotonic() + 60
            while not (pending := c.get("/api/v1/approvals",
                                        params={"status": "pending"}).json()["approvals"]):
                assert time.monotonic() < deadline and process.poll() is None, "no approval"
                time.sleep(0.05)
            c.post(f"/api/v1/approvals/{pending[0]['id']}/approve").raise_for_status()
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            assert out.startswith("published: Summary: Findings:")
            [root] = c.get("/api/v1/sessions/tree").json()["roots"]
            assert root["session"]["status"] == "completed" and len(root["children"]) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


async def test_killing_an_agent_tool_ends_it_and_its_caller_goes_on(
        run: Callable[[], Awaitable[Run]]) -> None:
    r = await run()
    await r.searching.wait()
    research = await r.session_id("research")
    await r.post(f"/api/v1/sessions/{research}/kill")

    async def killed() -> bool:
        return await r.status("research") == "killed"
    await wait_for(killed)
    calls = len(r.research.calls)
    r.gate.set()
    await r.decide("approve")
    result = await r.result()
    assert len(r.research.calls) == calls  # the killed agent never asked its model again
    assert result.final_output.startswith("published: Summary:")
    await r.client.flush()
    assert await r.status(GOAL) == "completed" and await r.status("research") == "killed"
