"""What an SDK agent declares it obeys, and how it takes a redirect."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from agentops_tui.sdk import AsyncAgentClient, AsyncSession

from conftest import LiveServer

EVERYTHING = ["pause", "resume", "inject", "redirect", "kill", "approve"]


async def _registered(live: LiveServer, agent_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    async with httpx.AsyncClient(base_url=live.url,
                                 headers={"Authorization": f"Bearer {live.token}"}) as c:
        while True:
            r = await c.get(f"/api/v1/agents/{agent_id}")
            if r.status_code == 200:
                return dict(r.json())
            assert time.monotonic() < deadline, f"{agent_id} never registered"
            await asyncio.sleep(0.05)


async def test_sdk_agents_declare_what_they_obey(live: LiveServer) -> None:
    listening = AsyncAgentClient(live.url, live.token, "ag-listens", flush_interval=0.01)
    deaf = AsyncAgentClient(live.url, live.token, "ag-deaf", listen_for_commands=False,
                            flush_interval=0.01)
    narrow = AsyncAgentClient(live.url, live.token, "ag-narrow", flush_interval=0.01,
                              capabilities=["pause", "resume"])
    for client in (listening, deaf, narrow):
        await client.start()
    narrow.session("se-narrow", title="only pauses")
    try:
        assert (await _registered(live, "ag-listens"))["capabilities"] == EVERYTHING
        # no command loop: only the approvals it waits for itself
        assert (await _registered(live, "ag-deaf"))["capabilities"] == ["approve"]
        assert (await _registered(live, "ag-narrow"))["capabilities"] == ["pause", "resume"]
        await narrow.flush()
        async with httpx.AsyncClient(base_url=live.url,
                                     headers={"Authorization": f"Bearer {live.token}"}) as c:
            r = await c.post("/api/v1/sessions/se-narrow/kill")
            assert r.status_code == 409 and r.json()["error"]["code"] == "not_capable"
            assert (await c.post("/api/v1/sessions/se-narrow/pause")).status_code == 202
    finally:
        for client in (listening, deaf, narrow):
            await client.close()


def _redirect(session_id: str, instruction: str) -> dict[str, Any]:
    return {"id": "cmd_test", "session_id": session_id, "action": "redirect",
            "payload": {"message": instruction}}


async def test_a_redirect_without_a_handler_arrives_like_a_message(live: LiveServer) -> None:
    agent = AsyncAgentClient(live.url, live.token, "ag-1", listen_for_commands=False)
    session = agent.session("se-1")
    assert session.receive(_redirect("se-1", "fix the login test first"))
    assert await session.checkpoint() == ["fix the login test first"]
    await agent.close()


async def test_on_redirect_takes_the_instruction(live: LiveServer) -> None:
    taken: list[tuple[str, str]] = []

    async def on_redirect(session: AsyncSession, instruction: str) -> None:
        taken.append((session.id, instruction))

    agent = AsyncAgentClient(live.url, live.token, "ag-1", listen_for_commands=False,
                             on_redirect=on_redirect)
    session = agent.session("se-1")
    assert await agent._redirect(session, _redirect("se-1", "stop; summarise")) == (True, None)
    assert taken == [("se-1", "stop; summarise")]
    assert await session.checkpoint() == []  # the handler took it, not the next checkpoint

    def broken(session: AsyncSession, instruction: str) -> None:
        raise RuntimeError("no step to stop")

    agent.on_redirect = broken
    ok, detail = await agent._redirect(session, _redirect("se-1", "again"))
    assert not ok and detail == "the agent's redirect handler failed: no step to stop"
    await agent.close()
