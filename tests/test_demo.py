"""`agentops demo` as an operator runs it: a real process on a pseudo-terminal, with its
backend and simulated fleet in a child process that must not outlive it."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.bench.procs import bench_env
from agentops_tui.bench.terminal import DEMO_AGENTS, Terminal
from agentops_tui.demo_process import DemoProcess

from waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def demo(tmp_path: Path) -> Terminal:
    env = bench_env(tmp_path)
    env["TMPDIR"] = str(tmp_path)  # where the demo's throwaway database goes
    return Terminal([sys.executable, "-m", "agentops_tui.cli", "demo"], (120, 40), env)


def demo_folders(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("agentops-demo-*"))


def wait_until_gone(tmp_path: Path, timeout: float) -> None:
    wait_for(lambda: not demo_folders(tmp_path), timeout,
             what="the demo's database to go with the console")


def test_demo_draws_the_fleet_and_quits_cleanly(tmp_path: Path) -> None:
    term = demo(tmp_path)
    try:
        term.wait_for(DEMO_AGENTS, 60)
        assert len(demo_folders(tmp_path)) == 1
        term.write(b"q")
        assert term.proc.wait(timeout=20) == 0
    finally:
        term.close()
    wait_until_gone(tmp_path, 5)  # removed before the console exits; no grace needed
    log = (tmp_path / "data" / "agentops.log")
    assert "Traceback" not in (log.read_text() if log.exists() else "")


def test_demo_backend_stops_when_the_console_is_killed(tmp_path: Path) -> None:
    term = demo(tmp_path)
    try:
        term.wait_for(DEMO_AGENTS, 60)
        os.kill(term.proc.pid, signal.SIGKILL)  # no cleanup of its own can run
        term.proc.wait(timeout=10)
        wait_until_gone(tmp_path, 20)  # the child saw its input close and cleaned up
    finally:
        term.close()


def test_demo_says_why_its_backend_could_not_start(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "pricing.toml").write_text("models = [unclosed\n")
    term = demo(tmp_path)
    try:
        assert term.proc.wait(timeout=60) == 2
        wait_for(lambda: b"line 1" in term.text, 5, what="the end of its message")
        said = term.text.decode(errors="replace")
    finally:
        term.close()
    assert "the demo backend could not start" in said
    assert "pricing.toml" in said and "line 1" in said
    assert "Traceback" not in said
    assert not demo_folders(tmp_path)


def test_demo_audit_names_the_simulator_apart_from_the_console(tmp_path: Path) -> None:
    """The fleet's own doings (its queues and tasks) are audited under its token's name, the
    operator's actions under the console's."""
    demo = DemoProcess(agents=3, seed=7, speed=4.0, log=tmp_path / "demo.log")
    try:
        url, token = demo.wait_until_listening()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as c:
            def audit() -> list[dict[str, Any]]:
                return c.get("/api/v1/audit", params={"limit": 500}).json()["entries"]  # type: ignore[no-any-return]

            made = wait_for(lambda: [e for e in audit() if e["action"] == "queue.create"],
                            timeout=30, what="the simulator's queues")
            assert {e["actor"] for e in made} == {"demo-simulator"}
            running = wait_for(lambda: [s for s in c.get("/api/v1/sessions").json()["sessions"]
                                        if s["status"] == "running"],
                               timeout=30, what="a running session")
            sid = running[0]["id"]
            assert c.post(f"/api/v1/sessions/{sid}/pause").status_code in (200, 202)
            [paused] = [e for e in audit() if e["action"] == "session.pause"]
            assert paused["actor"] == "demo-console" and paused["target"] == sid
    finally:
        demo.stop()
