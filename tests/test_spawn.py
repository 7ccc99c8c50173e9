"""Spawn end to end against a real server: an operator asks an agent for a new session with a
prompt; the agent starts it, acknowledges with its id, and it shows in the fleet. Agents that
do not list `spawn` are refused with 409 `not_capable`; bad input gets a 4xx naming what is
wrong; every attempt is audited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from agentops_tui.action_requests import MAX_PROMPT
from agentops_tui.core.fleet import Fleet
from agentops_tui.sdk import AsyncAgentClient, AsyncSession
from agentops_tui.server.notify.routing import notice_for
from agentops_tui.server.store.write_context import LoggedEvent

from conftest import LiveServer
from waiting import wait_for


def _final(c: httpx.Client, command_id: str) -> dict[str, Any] | None:
    events = c.get("/api/v1/events", params={"types": "command.updated", "limit": 5000})
    final = [e["data"] for e in events.json()["events"]
             if e["data"]["id"] == command_id and e["data"]["status"] in ("acked", "failed")]
    return final[-1] if final else None


def _audit(c: httpx.Client) -> list[dict[str, Any]]:
    return list(c.get("/api/v1/audit", params={"action": "agent.spawn"}).json()["entries"])


def _task(c: httpx.Client) -> str:
    queue = c.post("/api/v1/work-queues", json={"name": "releases"}).json()
    task = c.post(f"/api/v1/work-queues/{queue['id']}/tasks", json={"name": "notes"}).json()
    return str(task["id"])


async def test_an_sdk_agent_starts_the_session_and_it_joins_the_fleet(
        live: LiveServer) -> None:
    started: list[AsyncSession] = []

    async def on_spawn(prompt: str, task_id: str | None) -> AsyncSession:
        session = agent.session(title=prompt[:60], task_id=task_id)
        session.message(f"on it: {prompt}")
        started.append(session)
        return session

    agent = AsyncAgentClient(live.url, live.token_for("operator"), "ag-spawner",
                             name="spawner", flush_interval=0.01, on_spawn=on_spawn)
    await agent.start()
    operator = live.client(live.token_for("operator", name="alice"))
    try:
        await agent.flush()
        assert operator.get("/api/v1/agents/ag-spawner").json()["capabilities"] == [
            "pause", "resume", "inject", "redirect", "kill", "spawn", "approve"]
        task_id = await asyncio.to_thread(_task, operator)
        r = operator.post("/api/v1/agents/ag-spawner/spawn",
                          json={"prompt": "write the release notes", "taskId": task_id})
        assert r.status_code == 202, r.text
        command = r.json()
        assert (command["action"], command["status"], command["session_id"]) == (
            "spawn", "pending", None)
        assert command["payload"] == {"prompt": "write the release notes", "task_id": task_id}

        done = await asyncio.to_thread(
            wait_for, lambda: _final(operator, command["id"]), 10, what="the spawn's ack")
        assert done["status"] == "acked", done
        [session] = started
        assert done["session_id"] == session.id
        await agent.flush()
        shown = operator.get(f"/api/v1/sessions/{session.id}").json()
        assert (shown["agent_id"], shown["task_id"], shown["title"]) == (
            "ag-spawner", task_id, "write the release notes")
        messages = operator.get(f"/api/v1/sessions/{session.id}/messages").json()["messages"]
        assert [m["content"] for m in messages] == ["on it: write the release notes"]

        [entry] = _audit(operator)
        assert (entry["actor"], entry["target"], entry["result"]) == (
            "alice", "ag-spawner", "accepted")
        assert entry["payload"] == {"prompt": "write the release notes", "task_id": task_id}
    finally:
        operator.close()
        await agent.close()


async def test_a_failing_spawn_handler_fails_the_command_with_its_reason(
        live: LiveServer) -> None:
    def on_spawn(prompt: str, task_id: str | None) -> str:
        raise RuntimeError("no workers free")

    agent = AsyncAgentClient(live.url, live.token, "ag-busy", flush_interval=0.01,
                             on_spawn=on_spawn)
    await agent.start()
    try:
        await agent.flush()
        with live.client() as c:
            command = c.post("/api/v1/agents/ag-busy/spawn", json={"prompt": "go"}).json()
            done = await asyncio.to_thread(
                wait_for, lambda: _final(c, command["id"]), 10, what="the failed spawn")
        assert (done["status"], done["session_id"]) == ("failed", None)
        assert done["detail"] == "the agent's spawn handler failed: no workers free"
    finally:
        await agent.close()


def _register(c: httpx.Client, agent_id: str, **kw: Any) -> None:
    r = c.post("/api/v1/ingest", json={"events": [
        {"type": "agent.registered", "agent_id": agent_id, "name": agent_id, **kw}]})
    assert r.status_code == 202, r.text


def _refusal(response: httpx.Response, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    return error["code"], error["message"]


def test_agents_that_do_not_list_spawn_are_refused_and_audited(live: LiveServer) -> None:
    with live.client(live.token_for("operator", name="bob")) as c:
        _register(c, "ag-plain")  # the command channel's defaults: no spawn
        _register(c, "ag-claude", framework="claude-code")
        _register(c, "ag-otel", framework="opentelemetry")
        for agent_id, why in [
            ("ag-plain", "it registered as obeying only pause, resume, inject, kill"),
            ("ag-claude", "its Claude Code hooks obey only pause, resume, inject, redirect, kill"),
            ("ag-otel", "it reports only through OpenTelemetry"),
        ]:
            r = c.post(f"/api/v1/agents/{agent_id}/spawn", json={"prompt": "start"})
            code, message = _refusal(r, 409)
            assert code == "not_capable"
            assert message.startswith(f"agent {agent_id} cannot spawn: {why}"), message
            assert r.json()["error"]["details"]["action"] == "spawn"
        # nothing was queued for any of them
        assert not [c for c in c.get("/api/v1/snapshot").json()["commands"]
                    if c["action"] == "spawn"]
        entries = _audit(c)
    assert len(entries) == 3
    assert {e["target"] for e in entries} == {"ag-plain", "ag-claude", "ag-otel"}
    assert all(e["actor"] == "bob" and e["result"].startswith("rejected: agent ")
               and e["payload"] == {"prompt": "start"} for e in entries)


def test_bad_input_gets_a_4xx_naming_what_is_wrong(live: LiveServer) -> None:
    with live.client() as c:
        _register(c, "ag-able", capabilities=["spawn"])
        path = "/api/v1/agents/ag-able/spawn"
        assert _refusal(c.post("/api/v1/agents/nobody/spawn", json={"prompt": "go"}), 404) == (
            "not_found", "no agent 'nobody'")
        assert _refusal(c.post(path, json={"prompt": "go", "task_id": "wt_gone"}), 404) == (
            "not_found", "no task 'wt_gone'")
        code, message = _refusal(c.post(path, json={"prompt": ""}), 422)
        assert code == "invalid_request" and message.startswith("prompt: "), message
        code, message = _refusal(c.post(path, json={"prompt": "  \n "}), 422)
        assert message == "prompt: Value error, the prompt is blank: say what the new " \
                          "session should do"
        code, message = _refusal(c.post(path, json={"prompt": "x" * (MAX_PROMPT + 1)}), 422)
        assert message.startswith("prompt: ") and str(MAX_PROMPT) in message, message
        assert _refusal(c.post(path, json={}), 422)[1].startswith("prompt: ")
        assert _refusal(c.post(path, json={"prompt": 5}), 422)[1].startswith("prompt: ")
        assert _refusal(c.post(path, content=b"{", headers={"content-type":
                                                             "application/json"}), 400)[0] \
            == "malformed_json"
        # a task that is finished has nothing left to start a session for
        task_id = _task(c)
        c.post(f"/api/v1/work-queue-tasks/{task_id}/complete", json={}).raise_for_status()
        code, message = _refusal(c.post(path, json={"prompt": "go", "task_id": task_id}), 409)
        assert (code, message) == ("conflict", f"task {task_id!r} is already complete: "
                                               "nothing to spawn for")
        # a viewer watches: it spawns nothing
        with live.client(live.token_for("viewer")) as viewer:
            assert _refusal(viewer.post(path, json={"prompt": "go"}), 403)[0] == "forbidden"
        # only a spawn's answer names a session
        c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "ag-s"},
            {"type": "session.started", "session_id": "se-1", "agent_id": "ag-s"}]})
        pause = c.post("/api/v1/sessions/se-1/pause").json()
        r = c.post(f"/api/v1/commands/{pause['id']}/ack", json={"ok": True, "session_id": "x"})
        assert _refusal(r, 409)[0] == "conflict"
        rejected = [e["payload"] for e in _audit(c)]
    # refusals the server reached are audited; a body it could not read never got that far
    assert {"prompt": "go", "task_id": "wt_gone"} in rejected
    assert {"prompt": "go"} in rejected



def test_a_failed_spawn_notice_names_the_agent() -> None:
    fleet = Fleet()
    fleet.apply(1, "agent.registered", 1.0, {"agent_id": "ag-b", "name": "builder"})
    data = {"id": "cmd_1", "session_id": None, "agent_id": "ag-b", "action": "spawn",
            "status": "expired", "issued_by": "alice",
            "detail": "the agent did not acknowledge in time"}
    notice = notice_for(LoggedEvent(7, "command.updated", 2.0, "default", data, json.dumps(data)),
                        lambda workspace: fleet)
    assert notice is not None
    assert notice.headline == "Command spawn expired: the agent did not acknowledge in time"
    assert notice.detail == ("Sent to agent builder by alice. To retry, run `agentops tui` and "
                             "select the agent.")
