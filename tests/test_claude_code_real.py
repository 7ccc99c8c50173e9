"""The real Claude Code CLI against the scripted model stand-in: the harness itself, and a
session reported to a real agentops server through the example hook script."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_cli import REAL_CLAUDE_CODE, ClaudeCode, deny_tool, hooks_for
from claude_stand_in import result_text, text, tool_results, tool_use
from conftest import LiveServer, start_server

pytestmark = REAL_CLAUDE_CODE

SCRIPT = Path(__file__).parents[1] / "src/agentops_tui/integrations/claude_code_hook.py"


@pytest.fixture
def cc(tmp_path: Path) -> Iterator[ClaudeCode]:
    with ClaudeCode(tmp_path) as cc:
        yield cc


def test_a_scripted_tool_call_runs_and_its_output_reaches_the_model(cc: ClaudeCode) -> None:
    cc.model.add_turns(
        tool_use("Bash", {"command": "echo made > out.txt && cat out.txt",
                          "description": "write a file"}, id="toolu_echo"),
        text("all done", usage={"input_tokens": 400, "output_tokens": 12}),
    )
    run = cc.run("write the file")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    assert (run.result["result"], run.result["num_turns"]) == ("all done", 2)
    assert (cc.project / "out.txt").read_text() == "made\n"
    first, second = cc.model.turn_requests
    assert first["model"] == "claude-sonnet-4-5-20250929" and first["stream"] is True
    [result] = tool_results(second)
    assert result["tool_use_id"] == "toolu_echo" and not result.get("is_error")
    assert result_text(result) == "made"
    # the CLI adds up the stand-in's usage: 120 + 400 in, 30 + 12 out
    assert (run.result["usage"]["input_tokens"], run.result["usage"]["output_tokens"]) == (
        520, 42)
    assert cc.model.unscripted == 0 and cc.model.side_requests == []


def test_a_denying_pretooluse_hook_keeps_the_tool_from_running(cc: ClaudeCode) -> None:
    cc.model.add_turns(
        tool_use("Bash", {"command": "touch ran.marker", "description": "touch"}),
        text("done"),
    )
    cc.settings(hooks_for(cc.answering_hook({"PreToolUse": deny_tool("not on my watch")})))
    run = cc.run("touch it")
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["terminal_reason"] == "completed"
    assert not (cc.project / "ran.marker").exists()
    [denied] = run.result["permission_denials"]
    assert denied["tool_name"] == "Bash"
    [result] = tool_results(cc.model.turn_requests[1])
    assert result["is_error"] is True
    assert result_text(result) == "PreToolUse:Bash hook error: not on my watch"
    events = [p["hook_event_name"] for p in cc.hook_payloads()]
    assert events == ["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd"]


def test_a_held_hook_holds_the_cli_until_released(cc: ClaudeCode, tmp_path: Path) -> None:
    release = tmp_path / "release"
    cc.model.add_turns(tool_use("Bash", {"command": "touch ran.marker"}), text("done"))
    cc.settings(hooks_for(cc.answering_hook(hold=["PreToolUse"], release=release)))
    run = cc.start("touch it")
    cc.wait_for_hook("PreToolUse")
    time.sleep(0.5)  # time enough for the tool to run, were it not held
    assert run.running and not (cc.project / "ran.marker").exists()
    assert len(cc.model.turn_requests) == 1
    release.touch()
    finished = run.wait()
    assert finished.returncode == 0 and (cc.project / "ran.marker").exists()
    assert len(cc.model.turn_requests) == 2


def test_a_real_session_reaches_the_console_through_the_hook_script(
    cc: ClaudeCode, tmp_path: Path
) -> None:
    live: LiveServer = start_server(tmp_path / "agentops.db")
    try:
        cc.model.add_turns(
            tool_use("Bash", {"command": "echo hi > out.txt", "description": "say hi"},
                     usage={"input_tokens": 1000, "output_tokens": 50}),
            text("done", usage={"input_tokens": 1200, "output_tokens": 20}),
        )
        command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))}"
        cc.settings({"env": {"AGENTOPS_URL": live.url,
                             "AGENTOPS_TOKEN": live.token_for("operator")},
                     **hooks_for(command)})
        run = cc.run("write hi to out.txt")
        assert run.returncode == 0, run.stderr
        assert run.result is not None and (cc.project / "out.txt").exists()
        session_id = f"cc-{run.result['session_id']}"
        with live.client() as client:
            snapshot = client.get("/api/v1/snapshot").json()
            messages = client.get(f"/api/v1/sessions/{session_id}/messages").json()
        [session] = snapshot["sessions"]
        assert session["id"] == session_id
        assert session["status"] == "completed" and session["ended_at"] is not None
        assert session["tool_calls"] == {"Bash": 1}
        assert (session["input_tokens"], session["output_tokens"]) == (2200, 70)
        assert session["title"] == "write hi to out.txt"
        [agent] = snapshot["agents"]
        assert agent["framework"] == "claude-code" and agent["status"] == "idle"
        assert [(m["role"], m["content"]) for m in messages["messages"]] == [
            ("user", "write hi to out.txt"), ("assistant", "done")]
    finally:
        live.server.stop()


def test_subagents_are_served_from_their_own_script(cc: ClaudeCode) -> None:
    cc.model.add_turns(
        tool_use("Agent", {"description": "look around", "prompt": "list the files",
                           "subagent_type": "general-purpose"}),
        text("it is running"),  # a subagent runs in the background by default
        text("done"),  # after the subagent's end reaches the main loop as a new prompt
    )
    cc.model.add_subagent_turns(tool_use("Bash", {"command": "ls"}), text("two files"))
    cc.settings(hooks_for(cc.answering_hook()))
    run = cc.run("delegate the listing")
    assert run.returncode == 0 and run.result is not None and run.result["result"] == "done"
    assert cc.model.unscripted == 0
    sub = cc.model.subagent_requests
    assert len(sub) == 2 and sub[0].agent_id and {r.agent_id for r in sub} == {sub[0].agent_id}
    starts = [p for p in cc.hook_payloads() if p["hook_event_name"] == "SubagentStart"]
    assert [p["agent_id"] for p in starts] == [sub[0].agent_id]
