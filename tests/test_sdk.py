"""The agent SDK against a real server: delivery without loss or duplicates, and obedience."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from agentops_tui.sdk import AgentClient, AsyncAgentClient, IngestRejected, SessionKilled
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token

from conftest import LiveServer
from waiting import until, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_events_survive_an_outage_without_duplicates(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    token = make_token(db, "operator", "agent")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    agent = AsyncAgentClient(url, token, "ag-1", kind="coder", listen_for_commands=False,
                             flush_interval=0.01)
    await agent.start()
    session = agent.session("se-1", title="works through an outage")
    for i in range(50):
        session.message(f"before {i}")
    await asyncio.sleep(0.5)  # nothing listens yet: the SDK keeps retrying
    assert agent.retries >= 1
    server = EmbeddedServer(ServerSettings(db_path=db), port=port)
    server.start()
    try:
        await asyncio.wait_for(agent.flush(), 20)
        server.stop()  # and a second outage in the middle
        for i in range(50):
            session.message(f"after {i}")
        await asyncio.sleep(0.3)  # deliberate: an outage the SDK must ride out
        server = EmbeddedServer(ServerSettings(db_path=db), port=port)
        server.start()
        session.usage(model="claude-sonnet-4", input_tokens=1000, output_tokens=10)
        session.end()
        await asyncio.wait_for(agent.close(), 20)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            s = c.get("/api/v1/sessions/se-1").json()
            msgs = c.get("/api/v1/sessions/se-1/messages", params={"limit": 1000}).json()
        contents = [m["content"] for m in msgs["messages"]]
        assert contents == [f"before {i}" for i in range(50)] + [f"after {i}" for i in range(50)]
        assert s["input_tokens"] == 1000 and s["status"] == "completed"
    finally:
        server.stop()


async def test_invalid_events_surface_on_flush(live: LiveServer) -> None:
    agent = AsyncAgentClient(live.url, live.token, "ag-bad", listen_for_commands=False)
    await agent.start()
    agent.emit({"type": "session.message", "session_id": "nobody", "content": "x"})
    with pytest.raises(IngestRejected, match="unknown session"):
        await agent.flush()
    await agent.close()


async def test_checkpoint_obeys_pause_resume_inject_kill(live: LiveServer) -> None:
    async with AsyncAgentClient(live.url, live.token, "ag-1", kind="coder") as agent:
        session = agent.session("se-1", title="obedient")
        await agent.flush()
        with live.client() as c:
            c.post("/api/v1/sessions/se-1/inject", json={"message": "check the tests"})
            await until(lambda: session.injected)
            assert await session.checkpoint() == ["check the tests"]
            c.post("/api/v1/sessions/se-1/pause").raise_for_status()
            await until(lambda: session.paused)
            waiter = asyncio.create_task(session.checkpoint())
            await asyncio.sleep(0.2)  # deliberate: a window in which nothing may unblock it
            assert not waiter.done()  # blocked while paused
            await until(lambda: c.get("/api/v1/sessions/se-1").json()["status"] == "paused")
            c.post("/api/v1/sessions/se-1/resume").raise_for_status()
            assert await asyncio.wait_for(waiter, 5) == []
            c.post("/api/v1/sessions/se-1/kill").raise_for_status()
            await until(lambda: session.killed)
            with pytest.raises(SessionKilled):
                await session.checkpoint()
            await until(lambda: c.get("/api/v1/sessions/se-1").json()["status"] == "killed")
            messages = c.get("/api/v1/sessions/se-1/messages").json()["messages"]
            assert [m["role"] for m in messages] == ["operator"]


def test_sync_client(live: LiveServer) -> None:
    with AgentClient(live.url, live.token, "ag-sync", kind="triager", model="gpt-5") as agent:
        session = agent.session("se-s", title="sync work")
        child = session.subagent(title="helper")
        child.tool_call("Grep", duration_ms=5)
        child.end()
        session.waiting("needs a decision")
        agent.flush()
        with live.client() as c:
            assert c.get("/api/v1/sessions/se-s").json()["status"] == "waiting"
            tree = c.get("/api/v1/sessions/tree", params={"root": "se-s"}).json()["roots"][0]
            assert tree["children"][0]["session"]["tool_calls"] == {"Grep": 1}
            c.post("/api/v1/sessions/se-s/pause").raise_for_status()
        wait_for(lambda: session.inner.paused, 5, what="the session to pause")
        session.end()
