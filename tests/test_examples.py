"""The runnable examples, run as their docstrings say, against a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import LiveServer
from waiting import wait_for

EXAMPLES = Path(__file__).parent.parent / "examples"


def example(name: str, *args: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / name), *args]


@pytest.mark.parametrize("name", ["sdk_agent.py", "otel_agent.py"])
def test_every_example_says_how_to_run_it(name: str) -> None:
    text = (EXAMPLES / name).read_text()
    assert "python" in text.split('"""')[1]  # the docstring shows the command
    if name.endswith("agent.py"):
        done = subprocess.run(example(name, "--help"), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "--token" in done.stdout


def test_otel_agent_builds_agents_sessions_and_costs(live: LiveServer) -> None:
    done = subprocess.run(
        example("otel_agent.py", "--url", live.url, "--token", live.token, "--runs", "2",
                "--turns", "2", "--seed", "3"),
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with live.client() as c:
        agents = {a["id"] for a in c.get("/api/v1/agents").json()["agents"]}
        roots = c.get("/api/v1/sessions/tree").json()["roots"]
    assert agents == {"support-desk:support", "support-desk:research"}
    assert len(roots) == 2
    for root in roots:
        top = root["session"]
        assert top["status"] == "completed" and top["title"].startswith("invoke_agent support")
        assert top["input_tokens"] > 0 and top["cost_usd"] > 0
        assert sum(top["tool_calls"].values()) == 2
        [child] = root["children"]
        assert child["session"]["agent_id"] == "support-desk:research"
        assert child["session"]["tool_calls"] == {"web_search": 1}
        assert child["session"]["model"] == "claude-haiku-4-5"


def test_sdk_agent_runs_to_completion(live: LiveServer) -> None:
    done = subprocess.run(
        example("sdk_agent.py", "--url", live.url, "--token", live.token, "--steps", "3",
                "--step-seconds", "0.01"),
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "session completed" in done.stderr
    with live.client() as c:
        [s] = c.get("/api/v1/sessions").json()["sessions"]
    assert s["status"] == "completed" and sum(s["tool_calls"].values()) == 3
    assert s["cost_usd"] > 0


def test_sdk_agent_obeys_inject_pause_and_kill(live: LiveServer) -> None:
    agent = subprocess.Popen(
        example("sdk_agent.py", "--url", live.url, "--token", live.token, "--steps", "1000",
                "--step-seconds", "0.05"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        with live.client() as c:
            def sessions() -> list[dict[str, Any]]:
                return c.get("/api/v1/sessions").json()["sessions"]  # type: ignore[no-any-return]

            [s] = wait_for(sessions)
            sid = s["id"]

            def contents() -> list[str]:
                page = c.get(f"/api/v1/sessions/{sid}/messages", params={"limit": 1000})
                return [m["content"] for m in page.json()["messages"]]

            c.post(f"/api/v1/sessions/{sid}/inject", json={"message": "use the mock"})
            wait_for(lambda: "noted: use the mock" in contents())
            c.post(f"/api/v1/sessions/{sid}/pause").raise_for_status()
            wait_for(lambda: c.get(f"/api/v1/sessions/{sid}").json()["status"] == "paused")
            time.sleep(0.3)  # the agent holds at its checkpoint
            before = len(contents())
            time.sleep(0.4)
            assert len(contents()) == before
            c.post(f"/api/v1/sessions/{sid}/kill").raise_for_status()
            _, err = agent.communicate(timeout=20)
            assert agent.returncode == 0 and "session killed" in err
            assert c.get(f"/api/v1/sessions/{sid}").json()["status"] == "killed"
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()


def test_the_claude_code_hook_script_needs_only_the_standard_library() -> None:
    hook = (EXAMPLES.parent / "src" / "agentops_tui" / "integrations"
            / "claude_code_hook.py").read_text()
    assert "python" in hook.split('"""')[1]  # the docstring shows how to try it
    imports = {line.split()[1].split(".")[0] for line in hook.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "hashlib", "json", "os", "socket", "sys", "tempfile",
                       "time", "urllib", "typing"}
