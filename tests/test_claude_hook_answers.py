"""What the server answers each Claude Code hook event with, per command and event type,
and what a killed session does with the events that still arrive (payloads posted directly
to a real server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_claude_hooks import HOOK, SID, bash, payload

from conftest import LiveServer, start_server

WAITS = "/api/v1/hooks/claude-code/waits"


@pytest.fixture
def c(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        yield client


def hook(c: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(HOOK, json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def answer(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k != "agentops"}


def act(c: httpx.Client, action: str, sid: str = SID, **body: Any) -> dict[str, Any]:
    r = c.post(f"/api/v1/sessions/{sid}/{action}", json=body or None)
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def started(c: httpx.Client) -> None:
    hook(c, payload("SessionStart", source="startup"))
    hook(c, payload("UserPromptSubmit", prompt="fix it"))


def status(c: httpx.Client, sid: str = SID) -> str:
    return str(c.get(f"/api/v1/sessions/{sid}").json()["status"])


def commands(c: httpx.Client) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in c.get("/api/v1/events", params={"limit": 5000}).json()["events"]:
        if e["type"].startswith("command."):
            out[e["data"]["id"]] = e["data"]["status"]
    return out


def test_nothing_to_say_is_an_empty_answer_and_the_agent_can_be_acted_on(
        c: httpx.Client) -> None:
    reply = hook(c, payload("SessionStart", source="startup"))
    assert answer(reply) == {}
    assert reply["agentops"]["session_id"] == SID and reply["agentops"]["wait"] is None
    assert reply["agentops"]["accepted"] >= 2
    registered = [e for e in c.get("/api/v1/events").json()["events"]
                  if e["type"] == "agent.registered"]
    assert registered and registered[0]["data"]["framework"] == "claude-code"


@pytest.mark.parametrize(("event", "expected"), [
    (bash("PreToolUse"), {"continue": False, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny"}}),
    (bash("PermissionRequest"), {"hookSpecificOutput": {
        "hookEventName": "PermissionRequest", "decision": {"behavior": "deny",
                                                          "interrupt": True}}}),
    (payload("Stop", stop_hook_active=False), {"continue": False}),
    (payload("UserPromptSubmit", prompt="more"), {"continue": False}),
])
def test_kill_answers_per_event(c: httpx.Client, event: dict[str, Any],
                                expected: dict[str, Any]) -> None:
    started(c)
    kill = act(c, "kill")
    got = answer(hook(c, event))

    def contains(big: Any, small: Any) -> bool:
        if isinstance(small, dict):
            return isinstance(big, dict) and all(contains(big.get(k), v)
                                                 for k, v in small.items())
        return bool(big == small)

    assert contains(got, expected), got
    reason = got.get("stopReason") or got["hookSpecificOutput"]["decision"]["message"]
    assert reason.startswith("killed by test-admin")
    assert status(c) == "killed" and commands(c)[kill["id"]] == "acked"


def test_a_killed_session_is_never_reopened_nor_completed(c: httpx.Client) -> None:
    started(c)
    act(c, "kill")
    hook(c, bash("PreToolUse"))  # delivers the kill
    for event in (bash("PreToolUse", "ls"), payload("UserPromptSubmit", prompt="again"),
                  payload("Stop", stop_hook_active=False), payload("SessionEnd", reason="other")):
        got = answer(hook(c, event))
        assert got["continue"] is False or got["hookSpecificOutput"]["decision"]["interrupt"]
    sessions = c.get("/api/v1/sessions").json()["sessions"]
    assert [(s["id"], s["status"]) for s in sessions] == [(SID, "killed")]
    # a new start of the CLI on the same session (claude --resume) is a new run
    reply = hook(c, payload("SessionStart", source="resume"))
    assert reply["agentops"]["session_id"] == f"{SID}-2" and answer(reply) == {}


def test_inject_waits_for_a_carrier_and_never_loops_a_stop(c: httpx.Client) -> None:
    started(c)
    inject = act(c, "inject", message="use the staging database")
    assert answer(hook(c, bash("PreToolUse"))) == {}  # cannot carry text
    # a Stop already continued by a hook must not be blocked again: it would loop
    assert answer(hook(c, payload("Stop", stop_hook_active=True))) == {}
    assert commands(c)[inject["id"]] == "pending"
    got = answer(hook(c, payload("Stop", stop_hook_active=False)))
    assert got["decision"] == "block" and "use the staging database" in got["reason"]
    assert commands(c)[inject["id"]] == "acked"
    roles = [(m["role"], m["content"]) for m in
             c.get(f"/api/v1/sessions/{SID}/messages").json()["messages"]]
    assert ("operator", "use the staging database") in roles
    act(c, "inject", message="and hurry")
    got = answer(hook(c, bash("PostToolUse", tool_response={"stdout": "ok"})))
    assert "and hurry" in got["hookSpecificOutput"]["additionalContext"]


def test_redirect_denies_the_tool_then_blocks_the_stop(c: httpx.Client) -> None:
    started(c)
    act(c, "redirect", message="write the test first")
    got = answer(hook(c, bash("PreToolUse")))
    out = got["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "write the test first" in out["permissionDecisionReason"]
    assert "continue" not in got  # the session goes on, with the instruction
    got = answer(hook(c, payload("Stop", stop_hook_active=False)))
    assert got["decision"] == "block" and "write the test first" in got["reason"]
    assert answer(hook(c, payload("Stop", stop_hook_active=False))) == {}  # given once


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose commands expire after 0.3 s unless acknowledged."""
    server = start_server(tmp_path / "quick.db", command_expiry_seconds=0.3)
    try:
        yield server
    finally:
        server.server.stop()


def test_pause_holds_until_resume_and_commands_to_idle_sessions_wait(
        quick: LiveServer) -> None:
    live = quick
    with live.client() as c:
        pause_and_resume(live, c)


def pause_and_resume(live: LiveServer, c: httpx.Client) -> None:
    started(c)
    hook(c, payload("Stop", stop_hook_active=False))  # idle at its prompt
    pause = act(c, "pause")
    time.sleep(1.5)  # well past the agents' acknowledgement deadline
    assert commands(c)[pause["id"]] == "pending" and status(c) == "waiting"
    reply = hook(c, payload("UserPromptSubmit", prompt="next"))
    wait = reply["agentops"]["wait"]
    assert wait["kind"] == "hold" and answer(reply) == {}
    assert status(c) == "paused" and commands(c)[pause["id"]] == "acked"
    still = c.get(f"{WAITS}/{wait['id']}", params={"wait": 0.2}).json()
    assert still["agentops"]["wait"]["id"] == wait["id"]
    # an inject issued while held is carried by the held event once released
    act(c, "inject", message="mind the migrations")
    result: dict[str, Any] = {}

    def poll() -> None:
        with httpx.Client(base_url=live.url, timeout=30,
                          headers={"Authorization": f"Bearer {live.token}"}) as other:
            result.update(other.get(f"{WAITS}/{wait['id']}", params={"wait": 20}).json())

    waiter = threading.Thread(target=poll)
    waiter.start()
    resume = act(c, "resume")
    waiter.join(10)
    assert not waiter.is_alive()
    assert result["agentops"]["wait"] is None
    assert "mind the migrations" in result["hookSpecificOutput"]["additionalContext"]
    assert status(c) == "running" and commands(c)[resume["id"]] == "acked"
    assert c.get(f"{WAITS}/{wait['id']}").status_code == 404


def test_a_paused_session_stays_paused_when_a_cut_off_hook_lets_the_cli_go_on(
        c: httpx.Client) -> None:
    started(c)
    act(c, "pause")
    assert hook(c, bash("PreToolUse"))["agentops"]["wait"]["kind"] == "hold"
    # Claude Code killed the held hook (its timeout) and ran the tool: held again, still paused
    reply = hook(c, bash("PostToolUse", tool_response={"stdout": "ok"}))
    assert reply["agentops"]["wait"]["kind"] == "hold" and status(c) == "paused"
    assert answer(hook(c, payload("Notification", message="idle"))) == {}  # not held


def test_permission_requests_become_approvals_that_expire_with_their_session(
        c: httpx.Client) -> None:
    started(c)
    reply = hook(c, bash("PermissionRequest", "rm -rf build/ # key=sk-ant-api03-abcdefabcdef"))
    wait = reply["agentops"]["wait"]
    assert wait["kind"] == "approval" and answer(reply) == {}
    approval = c.get(f"/api/v1/approvals/{wait['approval_id']}").json()
    assert approval["summary"].startswith("Bash: rm -rf build/ # key=")
    assert "sk-ant-api03-abcdefabcdef" not in approval["summary"] + approval["detail"]
    assert status(c) == "waiting"
    hook(c, payload("SessionEnd", reason="other"))
    approval = c.get(f"/api/v1/approvals/{wait['approval_id']}").json()
    assert approval["status"] == "expired"
    assert c.get("/api/v1/approvals", params={"status": "pending"}).json()["approvals"] == []


def test_an_approval_decision_or_give_up_answers_the_held_permission(c: httpx.Client) -> None:
    started(c)
    wait = hook(c, bash("PermissionRequest"))["agentops"]["wait"]
    r = c.post(f"/api/v1/approvals/{wait['approval_id']}/reject", json={"reason": "not now"})
    assert r.status_code == 200
    got = answer(c.get(f"{WAITS}/{wait['id']}", params={"wait": 5}).json())
    assert got["hookSpecificOutput"]["decision"] == {"behavior": "deny", "message": "not now"}
    wait = hook(c, bash("PermissionRequest", "ls"))["agentops"]["wait"]
    reply = c.get(f"{WAITS}/{wait['id']}", params={"give_up": "true"}).json()
    assert answer(reply) == {} and reply["agentops"]["wait"] is None
    assert c.get(f"/api/v1/approvals/{wait['approval_id']}").json()["status"] == "expired"
    r = c.post(f"/api/v1/approvals/{wait['approval_id']}/approve")
    assert r.status_code == 409 and "expired" in r.json()["error"]["message"]
    assert c.get(f"{WAITS}/nope").status_code == 404
    assert c.get(f"{WAITS}/nope", params={"wait": 61}).status_code == 422


def test_redirect_is_an_operator_action(live: LiveServer, c: httpx.Client) -> None:
    started(c)
    with live.client(live.token_for("viewer")) as viewer:
        assert viewer.post(f"/api/v1/sessions/{SID}/redirect",
                           json={"message": "x"}).status_code == 403
    assert c.post(f"/api/v1/sessions/{SID}/redirect", json={}).status_code == 422
    assert c.post("/api/v1/sessions/nope/redirect", json={"message": "x"}).status_code == 404
    command = act(c, "redirect", message="stop; password=hunter2hunter2")
    assert command["action"] == "redirect" and "hunter2hunter2" not in str(command["payload"])
    audit = c.get("/api/v1/audit").json()
    assert any(e["action"] == "session.redirect" for e in audit["entries"])
