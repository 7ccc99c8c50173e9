"""`agentops demo` as an operator runs it: a real process on a pseudo-terminal, with its
backend and simulated fleet in a child process that must not outlive it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from agentops_tui.bench.procs import bench_env
from agentops_tui.bench.terminal import DEMO_AGENTS, Terminal

pytestmark = pytest.mark.slow


def demo(tmp_path: Path) -> Terminal:
    env = bench_env(tmp_path)
    env["TMPDIR"] = str(tmp_path)  # where the demo's throwaway database goes
    return Terminal([sys.executable, "-m", "agentops_tui.cli", "demo"], (120, 40), env)


def demo_folders(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("agentops-demo-*"))


def wait_until_gone(tmp_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while demo_folders(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not demo_folders(tmp_path), "the demo's database outlived the console"


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
        time.sleep(0.2)  # the reader thread takes the last of its output
        said = term.text.decode(errors="replace")
    finally:
        term.close()
    assert "the demo backend could not start" in said
    assert "pricing.toml" in said and "line 1" in said
    assert "Traceback" not in said
    assert not demo_folders(tmp_path)
