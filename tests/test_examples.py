"""The runnable examples, run as their docstrings say, against a real server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentops_tui import paths
from agentops_tui.server.embedded import make_token

from conftest import LiveServer, ServeProcess
from waiting import wait_for

EXAMPLES = Path(__file__).parent.parent / "examples"


def example(name: str, *args: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / name), *args]


@pytest.mark.parametrize("name", ["sdk_agent.py", "otel_agent.py", "langgraph_agent.py",
                                  "openai_agents_agent.py"])
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


def documented_commands(name: str) -> list[str]:
    """The command lines of an example's "Try it" block, as a reader copies them."""
    block = (EXAMPLES / name).read_text().split('"""')[1].split("Try it", 1)[1]
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()
            if line.startswith("    ")]


def test_sdk_agent_runs_as_its_docstring_says_and_obeys(tmp_path: Path) -> None:
    """The documented commands, run in a shell as written (the port aside: the backend
    takes a free one), then the console's actions: inject, pause, kill."""
    serve, *shell, console = documented_commands("sdk_agent.py")
    assert serve == "agentops serve" and console.startswith("agentops tui --url $AGENTOPS_URL")
    env = {**os.environ,  # this environment's `agentops` and `python` come first
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "examples").symlink_to(EXAMPLES)  # the repository's folder, as documented
    backend = ServeProcess(env=env)
    script = "\n".join(shell).replace(":8787", f":{backend.url.rsplit(':', 1)[1]}")
    agent = subprocess.Popen(["bash", "-c", f"set -e\n{script}\nwait $!"], cwd=tmp_path,
                             env=env, start_new_session=True)
    try:
        token = make_token(paths.default_db(), "operator", "test-console")
        with httpx.Client(base_url=backend.url, headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as c:
            [s] = wait_for(lambda: c.get("/api/v1/sessions").json()["sessions"], 30,
                           what="the agent's session")
            sid = s["id"]

            def said() -> list[tuple[str, str]]:
                page = c.get(f"/api/v1/sessions/{sid}/messages", params={"limit": 1000})
                return [(m["role"], m["content"]) for m in page.json()["messages"]]

            c.post(f"/api/v1/sessions/{sid}/inject", json={"message": "use the mock"})
            wait_for(lambda: ("assistant", "noted: use the mock") in said(),
                     what="the agent to answer")
            assert [m for m in said() if "use the mock" in m[1]] == [
                ("operator", "use the mock"), ("assistant", "noted: use the mock")]
            c.post(f"/api/v1/sessions/{sid}/pause").raise_for_status()
            wait_for(lambda: c.get(f"/api/v1/sessions/{sid}").json()["status"] == "paused")
            # Deliberate windows: the step under way (a second long) still reports, then the
            # paused agent says nothing more for longer than a step takes.
            time.sleep(1.2)
            before = len(said())
            time.sleep(1.5)
            assert len(said()) == before
            c.post(f"/api/v1/sessions/{sid}/kill").raise_for_status()
            assert agent.wait(timeout=20) == 0
            assert "session killed" in (tmp_path / "agent.log").read_text()
            assert c.get(f"/api/v1/sessions/{sid}").json()["status"] == "killed"
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
        log = backend.stop()
    assert '"GET /api/v1/' not in log  # no access log unless asked for


def test_the_claude_code_hook_script_needs_only_the_standard_library() -> None:
    hook = (EXAMPLES.parent / "src" / "agentops_tui" / "integrations"
            / "claude_code_hook.py").read_text()
    assert "python" in hook.split('"""')[1]  # the docstring shows how to try it
    imports = {line.split()[1].split(".")[0] for line in hook.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "hashlib", "json", "os", "socket", "sys", "tempfile",
                       "time", "urllib", "typing"}
