"""Claude Code hooks against a real server: payloads shaped like the ones Claude Code sends,
posted directly and through the example hook script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import LiveServer

SESSION = "8c35adc1-5f5e-4d4a-9a52-3f1b0e8f2c11"
SID = f"cc-{SESSION}"
HOOK = "/api/v1/hooks/claude-code"
SCRIPT = Path(__file__).parents[1] / "src/agentops_tui/integrations/claude_code_hook.py"


def payload(event: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/-work-shop/{SESSION}.jsonl",
        "cwd": "/work/shop",
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


def bash(event: str, command: str = "pytest -q", **fields: Any) -> dict[str, Any]:
    return payload(event, tool_name="Bash", tool_use_id=f"toolu_{abs(hash(command)) % 10**8}",
                   tool_input={"command": command, "description": "run the tests"}, **fields)


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as c:
        yield c


def send(c: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(HOOK, json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def session(c: httpx.Client, sid: str = SID) -> dict[str, Any]:
    return c.get(f"/api/v1/sessions/{sid}").json()  # type: ignore[no-any-return]


def test_a_session_from_start_to_end(client: httpx.Client) -> None:
    send(client, payload("SessionStart", source="startup", model="claude-sonnet-4-5-20250929"))
    s = session(client)
    assert (s["status"], s["title"], s["model"]) == ("waiting", "shop",
                                                     "claude-sonnet-4-5-20250929")
    [agent] = client.get("/api/v1/agents").json()["agents"]
    assert agent["name"] == "claude-code shop" and agent["framework"] == "claude-code"
    assert agent["status"] == "waiting"

    send(client, payload("UserPromptSubmit", prompt="Fix the failing checkout test\nplease"))
    s = session(client)
    assert (s["status"], s["title"]) == ("running", "Fix the failing checkout test")

    send(client, bash("PreToolUse"))
    time.sleep(0.05)
    send(client, bash("PostToolUse", tool_response={
        "stdout": "1 failed, 41 passed", "stderr": "", "interrupted": False, "isImage": False}))
    send(client, payload("Notification", message="Claude needs your permission to use Write",
                         notification_type="permission_prompt"))
    s = session(client)
    assert (s["status"], s["detail"]) == ("waiting",
                                          "Claude needs your permission to use Write")
    send(client, payload("PreToolUse", tool_name="Write", tool_use_id="toolu_w1",
                         tool_input={"file_path": "/work/shop/x.py", "content": "x"}))
    assert session(client)["status"] == "running"
    send(client, payload("PostToolUseFailure", tool_name="Write", tool_use_id="toolu_w1",
                         tool_input={"file_path": "/work/shop/x.py", "content": "x"},
                         error="permission denied"))
    send(client, payload("Stop", stop_hook_active=False, agentops={"usage": [
        {"id": "msg_1", "model": "claude-sonnet-4-5-20250929", "input_tokens": 1000,
         "output_tokens": 200, "cache_read_tokens": 10_000, "cache_write_tokens": 2000},
    ], "reply": "The test is fixed."}))
    s = session(client)
    assert s["status"] == "waiting" and "next prompt" in s["detail"]
    assert s["tool_calls"] == {"Bash": 1, "Write": 1}
    assert (s["input_tokens"], s["output_tokens"]) == (1000, 200)
    assert (s["cache_read_tokens"], s["cache_write_tokens"]) == (10_000, 2000)
    # 1000*3 + 200*15 + 10000*0.3 + 2000*3.75 per million
    assert s["cost_usd"] == pytest.approx(0.0165)
    messages = client.get(f"/api/v1/sessions/{SID}/messages").json()["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Fix the failing checkout test\nplease"), ("assistant", "The test is fixed.")]
    calls = {e["data"]["tool"]: e["data"] for e in client.get("/api/v1/events").json()["events"]
             if e["type"] == "session.tool_call"}
    assert calls["Bash"]["status"] == "ok" and calls["Bash"]["duration_ms"] >= 40
    assert calls["Bash"]["output"] == "1 failed, 41 passed"
    assert (calls["Write"]["status"], calls["Write"]["output"]) == ("error", "permission denied")

    # a retried Stop with the same responses counts nothing twice
    send(client, payload("Stop", agentops={"usage": [
        {"id": "msg_1", "model": "claude-sonnet-4-5-20250929", "input_tokens": 1000,
         "output_tokens": 200}]}))
    assert session(client)["input_tokens"] == 1000

    send(client, payload("SessionEnd", reason="prompt_input_exit"))
    assert session(client)["status"] == "completed"
    assert client.get("/api/v1/agents").json()["agents"][0]["status"] == "idle"

    # resumed later: a new run of the same Claude Code session
    out = send(client, payload("SessionStart", source="resume"))
    assert out["agentops"]["session_id"] == f"{SID}-2"
    assert session(client)["status"] == "completed"
    assert session(client, f"{SID}-2")["status"] == "waiting"


def test_subagents_are_child_sessions(client: httpx.Client) -> None:
    send(client, payload("UserPromptSubmit", prompt="explore the repo"))
    send(client, payload("SubagentStart", agent_id="a1b2c3", agent_type="Explore"))
    send(client, payload("PreToolUse", agent_id="a1b2c3", agent_type="Explore",
                         tool_name="Grep", tool_use_id="toolu_g", tool_input={"pattern": "x"}))
    send(client, payload("PostToolUse", agent_id="a1b2c3", agent_type="Explore",
                         tool_name="Grep", tool_use_id="toolu_g", tool_input={"pattern": "x"},
                         tool_response={"mode": "files_with_matches", "numFiles": 3}))
    send(client, payload("SubagentStop", agent_id="a1b2c3", agent_type="Explore",
                         agent_transcript_path="/tmp/agent-a1b2c3.jsonl",
                         agentops={"usage": [{"id": "msg_s", "model": "claude-haiku-4-5",
                                              "input_tokens": 500, "output_tokens": 50}]}))
    send(client, payload("SubagentStop"))  # an older Claude Code: no agent id
    [root] = client.get("/api/v1/sessions/tree").json()["roots"]
    assert root["session"]["id"] == SID and root["session"]["status"] == "running"
    children = {c["session"]["title"]: c["session"] for c in root["children"]}
    explore = children["subagent Explore"]
    assert explore["status"] == "completed" and explore["parent_session_id"] == SID
    assert explore["tool_calls"] == {"Grep": 1} and explore["input_tokens"] == 500
    assert children["subagent"]["status"] == "completed"
    assert root["rollup"]["sessions"] == 3


def test_bad_payloads_name_the_problem(live: LiveServer, client: httpx.Client) -> None:
    r = client.post(HOOK, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.post(HOOK, json={"hook_event_name": "Stop"})
    assert r.status_code == 422 and "session_id" in r.json()["error"]["message"]
    r = client.post(HOOK, json=payload("Stop", agentops={"usage": [{"id": "m"
                                                                    , "input_tokens": -1}]}))
    assert r.status_code == 422 and "agentops.usage[0].input_tokens" in r.json()["error"][
        "message"]
    r = client.post(HOOK, json=[1])
    assert r.status_code == 422
    r = client.post(HOOK, json=payload("SubagentStop", agent_id="x" * 65))
    assert r.status_code == 422 and "agent_id" in r.json()["error"]["message"]
    with live.client(live.token_for("viewer")) as viewer:
        assert viewer.post(HOOK, json=payload("Stop")).status_code == 403
    assert client.get("/api/v1/sessions").json()["sessions"] == []
    # an event this server does not know yet still keeps the session
    assert send(client, payload("SomethingNew"))["agentops"]["session_id"] == SID


def run_script(live: LiveServer, body: dict[str, Any], url: str | None = None,
               **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "AGENTOPS_URL": url or live.url, "AGENTOPS_TOKEN": live.token,
                   "CLAUDE_PROJECT_DIR": "/work/shop", **env}
    return subprocess.run([sys.executable, str(SCRIPT)], input=json.dumps(body), text=True,
                          capture_output=True, env=environment, timeout=20)


def transcript_line(msg_id: str, text: str, inp: int, out: int) -> str:
    return json.dumps({
        "type": "assistant", "uuid": f"u-{msg_id}-{text[:3]}", "requestId": f"req_{msg_id}",
        "message": {"id": msg_id, "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": text}],
                    "usage": {"input_tokens": inp, "output_tokens": out,
                              "cache_read_input_tokens": 0,
                              "cache_creation_input_tokens": 0}},
    })


def test_the_hook_script_reports_usage_from_the_transcript(
    live: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    transcript = tmp_path / f"{SESSION}.jsonl"
    transcript.write_text("\n".join([
        json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}),
        transcript_line("msg_a", "Looking", 100, 5),
        transcript_line("msg_a", "Looking at it", 100, 20),  # the same response, two lines
        transcript_line("msg_b", "Done.", 300, 30),
    ]) + "\n")
    env = {"TMPDIR": str(tmp_path)}
    start = run_script(live, payload("UserPromptSubmit", prompt="hi"), **env)
    assert (start.returncode, start.stdout) == (0, "")
    stop = run_script(live, payload("Stop", transcript_path=str(transcript)), **env)
    assert (stop.returncode, stop.stdout, stop.stderr) == (0, "", "")
    s = session(client)
    assert (s["input_tokens"], s["output_tokens"], s["status"]) == (400, 50, "waiting")
    [agent] = client.get("/api/v1/agents").json()["agents"]
    assert agent["name"].startswith("claude-code shop@")
    # the next turn reports only what was written since
    with transcript.open("a") as f:
        f.write(transcript_line("msg_c", "More.", 1000, 100) + "\n")
    run_script(live, payload("Stop", transcript_path=str(transcript)), **env)
    s = session(client)
    assert (s["input_tokens"], s["output_tokens"]) == (1400, 150)
    messages = client.get(f"/api/v1/sessions/{SID}/messages").json()["messages"]
    assert [m["content"] for m in messages] == ["hi", "Done.", "More."]


def test_the_hook_script_never_blocks_or_fails(live: LiveServer, tmp_path: Path) -> None:
    began = time.monotonic()
    down = run_script(live, payload("Stop"), url="http://127.0.0.1:9",
                      AGENTOPS_HOOK_TIMEOUT="1", TMPDIR=str(tmp_path))
    assert down.returncode == 0 and down.stdout == ""
    assert time.monotonic() - began < 10
    refused = run_script(live, payload("Stop"), AGENTOPS_TOKEN="wrong", TMPDIR=str(tmp_path))
    assert refused.returncode == 0 and "401" in refused.stderr
    garbage = subprocess.run([sys.executable, str(SCRIPT)], input="not json", text=True,
                             capture_output=True, timeout=20)
    assert (garbage.returncode, garbage.stdout) == (0, "")
