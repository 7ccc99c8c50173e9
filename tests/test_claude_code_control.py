"""The console acts on a real Claude Code session: the real CLI, its hooks running the real
hook script against a real server, and the model stand-in. Each action is taken through the
API, as the console takes it, while the CLI waits for a (delayed) model answer."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import create_app
from agentops_tui.tui.screens.review import ReviewScreen

from claude_cli import REAL_CLAUDE_CODE, ClaudeCode, eventually, hooks_for
from claude_stand_in import all_text, result_text, text, tool_results, tool_use
from conftest import LiveServer, start_server
from tui_support import frozen_clock, until

pytestmark = REAL_CLAUDE_CODE

SCRIPT = Path(__file__).parents[1] / "src/agentops_tui/integrations/claude_code_hook.py"
THINK = 2.5  # the model's first answer is this slow: time for the operator to act


@dataclass
class Rig:
    cc: ClaudeCode
    live: LiveServer
    api: httpx.Client

    def install(self, approval_wait: float = 300) -> None:
        command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))}"
        self.cc.settings({"env": {"AGENTOPS_URL": self.live.url,
                                  "AGENTOPS_TOKEN": self.live.token_for("operator"),
                                  "AGENTOPS_APPROVAL_WAIT": str(approval_wait)},
                          **hooks_for(command, timeout=600)})

    def sessions(self) -> list[dict[str, Any]]:
        return self.api.get("/api/v1/sessions").json()["sessions"]  # type: ignore[no-any-return]

    def running_session(self) -> str:
        """The CLI's session, once its prompt has reached the console."""
        found = eventually(lambda: [s for s in self.sessions() if s["status"] == "running"],
                           what="the session running in the console")
        return str(found[0]["id"])

    def session(self, session_id: str) -> dict[str, Any]:
        return self.api.get(f"/api/v1/sessions/{session_id}").json()  # type: ignore[no-any-return]

    def act(self, session_id: str, action: str, **body: Any) -> dict[str, Any]:
        r = self.api.post(f"/api/v1/sessions/{session_id}/{action}", json=body or None)
        assert r.status_code == 202, r.text
        return r.json()  # type: ignore[no-any-return]

    def command(self, command_id: str) -> dict[str, Any]:
        """The command as its newest event shows it."""
        events = self.api.get("/api/v1/events", params={"limit": 5000}).json()["events"]
        return [e["data"] for e in events if e["type"].startswith("command.")
                and e["data"]["id"] == command_id][-1]  # type: ignore[no-any-return]

    def messages(self, session_id: str) -> list[tuple[str, str]]:
        found = self.api.get(f"/api/v1/sessions/{session_id}/messages").json()["messages"]
        return [(m["role"], m["content"]) for m in found]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    live = start_server(tmp_path / "agentops.db")
    try:
        with ClaudeCode(tmp_path) as cc, live.client() as api:
            yield Rig(cc, live, api)
    finally:
        live.server.stop()


def touch(marker: str = "ran.marker", **turn: Any) -> Any:
    return tool_use("Bash", {"command": f"touch {marker}", "description": "touch"}, **turn)


def test_kill_denies_the_pending_tool_and_the_session_stays_killed(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(delay=THINK), text("done"))
    rig.install()
    run = rig.cc.start("touch it")
    sid = rig.running_session()
    kill = rig.act(sid, "kill")
    finished = run.wait()
    assert finished.result is not None, finished.stderr
    assert finished.result["terminal_reason"] == "hook_stopped"
    assert not (rig.cc.project / "ran.marker").exists()
    assert len(rig.cc.model.turn_requests) == 1
    session = rig.session(sid)
    assert session["status"] == "killed" and "killed by" in session["error"]
    assert rig.command(kill["id"])["status"] == "acked"
    # the CLI still sent its Stop and SessionEnd: they neither completed nor reopened it
    events = [p for p in rig.api.get("/api/v1/events").json()["events"]
              if p["type"] in ("session.started", "session.ended")]
    assert [(e["type"], e["data"].get("status")) for e in events] == [
        ("session.started", None), ("session.started", None), ("session.ended", "killed")]
    assert [s["id"] for s in rig.sessions()] == [sid]


def test_an_injected_message_reaches_the_model_when_it_tries_to_stop(rig: Rig) -> None:
    rig.cc.model.add_turns(text("first answer", delay=THINK), text("obeyed"))
    rig.install()
    run = rig.cc.start("answer me")
    sid = rig.running_session()
    inject = rig.act(sid, "inject", message="also list the files, token=sk-ant-api03-secret0000")
    finished = run.wait()
    assert finished.result is not None and finished.result["result"] == "obeyed", finished.stderr
    first, second = rig.cc.model.turn_requests
    assert "also list the files" in all_text(second) and "also list" not in all_text(first)
    assert "sk-ant-api03-secret0000" not in all_text(second)  # redacted when issued
    assert rig.command(inject["id"])["status"] == "acked"
    roles = rig.messages(sid)
    assert [r for r, _ in roles] == ["user", "assistant", "operator", "assistant"]
    assert roles[2][1].startswith("also list the files")
    assert rig.session(sid)["status"] == "completed"


def test_an_inject_rides_on_the_next_tool_result(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(delay=THINK), text("done"))
    rig.install()
    run = rig.cc.start("touch it")
    sid = rig.running_session()
    rig.act(sid, "inject", message="then stop for today")
    assert run.wait().returncode == 0
    assert (rig.cc.project / "ran.marker").exists()
    assert "then stop for today" in all_text(rig.cc.model.turn_requests[1])
    assert len(rig.cc.model.turn_requests) == 2  # given once, not again at the Stop


def test_pause_holds_the_cli_until_resume(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(delay=THINK), text("done"))
    rig.install()
    run = rig.cc.start("touch it")
    sid = rig.running_session()
    pause = rig.act(sid, "pause")
    assert rig.session(sid)["status"] == "running"  # not paused before the hold begins
    eventually(lambda: rig.session(sid)["status"] == "paused", what="paused")
    assert rig.command(pause["id"])["status"] == "acked"
    time.sleep(2)  # time enough for the tool and the next turn, were it not held
    assert run.running and not (rig.cc.project / "ran.marker").exists()
    assert len(rig.cc.model.turn_requests) == 1
    assert rig.session(sid)["status"] == "paused"
    resume = rig.act(sid, "resume")
    finished = run.wait()
    assert finished.returncode == 0 and finished.result is not None
    assert finished.result["result"] == "done"
    assert (rig.cc.project / "ran.marker").exists()
    assert rig.command(resume["id"])["status"] == "acked"
    assert rig.session(sid)["status"] == "completed"


def test_a_kill_reaches_a_held_session(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(delay=THINK), text("done"))
    rig.install()
    run = rig.cc.start("touch it")
    sid = rig.running_session()
    rig.act(sid, "pause")
    eventually(lambda: rig.session(sid)["status"] == "paused", what="paused")
    rig.act(sid, "kill")
    finished = run.wait()
    assert finished.result is not None and finished.result["terminal_reason"] == "hook_stopped"
    assert not (rig.cc.project / "ran.marker").exists()
    assert rig.session(sid)["status"] == "killed"


def test_redirect_denies_the_pending_tool_with_the_instruction(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(delay=THINK), text("I will use ls"), text("done with ls"))
    rig.install()
    run = rig.cc.start("touch it")
    sid = rig.running_session()
    redirect = rig.act(sid, "redirect", message="do not touch files; run ls instead")
    finished = run.wait()
    assert finished.result is not None and finished.result["result"] == "done with ls"
    assert not (rig.cc.project / "ran.marker").exists()
    _, second, third = rig.cc.model.turn_requests
    [denied] = tool_results(second)
    assert denied["is_error"] is True
    assert "do not touch files; run ls instead" in result_text(denied)
    # it is given again when the model tries to stop, so it is not lost in a tool error
    assert "do not touch files; run ls instead" in all_text(third)
    assert rig.command(redirect["id"])["status"] == "acked"
    assert ("operator", "do not touch files; run ls instead") in rig.messages(sid)


def approval_of(rig: Rig) -> dict[str, Any]:
    found = eventually(
        lambda: rig.api.get("/api/v1/approvals", params={"status": "pending"}).json()[
            "approvals"], what="a pending approval")
    return found[0]  # type: ignore[no-any-return]


def test_a_permission_prompt_approved_from_review_runs_the_tool(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(), text("done"))
    rig.install()
    run = rig.cc.start("touch it", permission_mode="default")
    approval = approval_of(rig)
    assert approval["summary"] == "Bash: touch ran.marker"
    assert '"command": "touch ran.marker"' in approval["detail"]
    session = rig.session(approval["session_id"])
    assert session["status"] == "waiting" and session["detail"].startswith("approval: ")
    time.sleep(0.5)  # deliberate: the held tool does not run meanwhile
    assert run.running and not (rig.cc.project / "ran.marker").exists()
    r = rig.api.post(f"/api/v1/approvals/{approval['id']}/approve")
    assert r.status_code == 200, r.text
    finished = run.wait()
    assert finished.result is not None and finished.result["permission_denials"] == []
    assert (rig.cc.project / "ran.marker").exists()


def test_a_rejected_permission_tells_the_model_why(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(), text("understood"))
    rig.install()
    run = rig.cc.start("touch it", permission_mode="default")
    approval = approval_of(rig)
    r = rig.api.post(f"/api/v1/approvals/{approval['id']}/reject",
                     json={"reason": "not in this repo, use a temp dir"})
    assert r.status_code == 200, r.text
    finished = run.wait()
    assert finished.result is not None and finished.result["result"] == "understood"
    assert not (rig.cc.project / "ran.marker").exists()
    [denied] = tool_results(rig.cc.model.turn_requests[1])
    assert denied["is_error"] is True
    assert "not in this repo, use a temp dir" in result_text(denied)


def test_an_undecided_permission_expires_and_claude_code_decides(rig: Rig) -> None:
    rig.cc.model.add_turns(touch(), text("could not"))
    rig.install(approval_wait=1)
    finished = rig.cc.run("touch it", permission_mode="default")
    assert finished.result is not None and finished.result["result"] == "could not"
    assert not (rig.cc.project / "ran.marker").exists()  # -p mode has no one to ask: denied
    [approval] = rig.api.get("/api/v1/approvals").json()["approvals"]
    assert approval["status"] == "expired"
    assert rig.api.get("/api/v1/approvals", params={"status": "pending"}).json()[
        "approvals"] == []


async def test_three_permission_prompts_approved_from_review_one_key_each(rig: Rig) -> None:
    rig.cc.model.add_turns(touch("a.marker"), touch("b.marker"), touch("c.marker"),
                           text("all three"))
    rig.install()
    run = rig.cc.start("touch three files", permission_mode="default")
    app = create_app(Connection(rig.live.url, rig.live.token_for("operator")),
                     clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.approvals) == 1, what="the first prompt",
                    timeout=30)
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)

        def showing() -> str:
            """The summary of the approval Review has under the cursor."""
            kind, _, key = (screen.queue.current or "").partition(":")
            approval = app.fleet.approvals.get(key) if kind == "approval" else None
            return approval.summary if approval is not None else ""

        for marker in ("a", "b", "c"):
            await until(pilot, lambda m=marker: showing() == f"Bash: touch {m}.marker",
                        what=f"the {marker} prompt in Review", timeout=30)
            await pilot.press("a")
            await until(pilot, lambda m=marker: (rig.cc.project / f"{m}.marker").exists(),
                        what=f"{marker}.marker made", timeout=30)
    finished = run.wait()
    assert finished.result is not None and finished.result["result"] == "all three"
    statuses = [a["status"] for a in rig.api.get("/api/v1/approvals").json()["approvals"]]
    assert statuses == ["approved"] * 3
