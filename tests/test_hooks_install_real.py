"""`agentops hooks install` as an operator runs it, then the real Claude Code CLI: the
installed settings work as written (the hooks fire, the token from settings.local.json
reaches them, the script finds the console) and `agentops hooks check` agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_cli import REAL_CLAUDE_CODE, ClaudeCode
from claude_stand_in import text, tool_use
from conftest import LiveServer

pytestmark = REAL_CLAUDE_CODE


@pytest.fixture
def cc(tmp_path: Path) -> Iterator[ClaudeCode]:
    with ClaudeCode(tmp_path) as cc:
        yield cc


def agentops(cc: ClaudeCode, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, with the CLI's HOME and config folder."""
    env = {**os.environ, "HOME": str(cc.home), "CLAUDE_CONFIG_DIR": str(cc.config_dir),
           "PATH": cc.env()["PATH"]}
    return subprocess.run([sys.executable, "-m", "agentops_tui.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_hooks_installed_by_the_command_report_a_real_session(
    cc: ClaudeCode, live: LiveServer
) -> None:
    installed = agentops(cc, "hooks", "install", "claude-code", "--project", str(cc.project),
                         "--url", live.url, "--token", live.token_for("operator"))
    assert installed.returncode == 0, installed.stderr
    settings = json.loads((cc.project / ".claude" / "settings.json").read_text())
    assert "env" not in settings  # URL and token come from settings.local.json only
    checked = agentops(cc, "hooks", "check", "--project", str(cc.project))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith(f"ok: events reach {live.url}")

    cc.model.add_turns(
        tool_use("Bash", {"command": "echo hi > out.txt", "description": "say hi"}),
        text("done"),
    )
    run = cc.run("write hi to out.txt")
    assert run.returncode == 0, run.stderr
    assert run.result is not None and (cc.project / "out.txt").read_text() == "hi\n"
    session_id = f"cc-{run.result['session_id']}"
    with live.client() as client:
        snapshot = client.get("/api/v1/snapshot").json()
    [session] = snapshot["sessions"]
    assert session["id"] == session_id and session["status"] == "completed"
    assert session["tool_calls"] == {"Bash": 1}
    assert session["title"] == "write hi to out.txt"

    removed = agentops(cc, "hooks", "uninstall", "claude-code", "--project", str(cc.project))
    assert removed.returncode == 0, removed.stderr
    assert not (cc.project / ".claude" / "hooks" / "agentops_hook.py").exists()
