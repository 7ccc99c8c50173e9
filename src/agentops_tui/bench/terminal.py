"""The console as a user runs it: a real process on a pseudo-terminal.

startup: `agentops demo` from exec to the first full paint, i.e. until the roster shows the
simulated fleet's first six agents. Baseline: a one-label Textual app on the same terminal
(the floor any Textual console pays for Python, imports and the first frame).

output: `agentops tui --url` on a 200×50 terminal against a server taking 1,000 events/s
over 100 agents and 1,000 sessions; every byte the console writes to the terminal is
counted. Baseline: the same console with no events arriving.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from agentops_tui.bench import Result, check
from agentops_tui.bench.procs import LoadProcess, bench_env, server_process

MAX_STARTUP_S = 1.5
MAX_OUTPUT_KB_S = 30.0
DEMO_AGENTS = ("coder-1", "researcher-2", "reviewer-3", "reviewer-4", "triager-5", "coder-6")
_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()=>78]")

BASELINE_APP = "agentops_tui.tui.baseline"  # a one-label app, run with -m


class Terminal:
    """A child process on a pseudo-terminal of a given size; counts what it writes."""

    def __init__(self, argv: Sequence[str], size: tuple[int, int], env: dict[str, str]
                 ) -> None:
        master, slave = os.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**env, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                     env=env, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.chunks: list[tuple[float, int]] = []
        self.text = b""  # plain text (escapes removed) until `keep_text` is switched off
        self.keep_text = True
        self._tail = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self._lock:
                self.chunks.append((now, len(data)))
                if self.keep_text:
                    raw = self._tail + data
                    self._tail = raw[-64:]
                    self.text += _ANSI.sub(b"", raw)

    def wait_for(self, markers: Sequence[str], timeout: float) -> float:
        """Seconds from exec until every marker has been written (as plain text)."""
        wanted = [m.encode() for m in markers]
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                text = self.text
                last = self.chunks[-1][0] if self.chunks else 0.0
            if all(w in text for w in wanted):
                return last - self.started
            if self.proc.poll() is not None:
                raise RuntimeError(f"the console exited ({self.proc.returncode}) before "
                                   f"drawing {markers}: {text[-300:]!r}")
            time.sleep(0.005)
        raise RuntimeError(f"{markers} not drawn within {timeout:.0f} s")

    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(n for t, n in self.chunks if start <= t < end)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.write(b"q")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        os.close(self.master)


def _first_paint(argv: Sequence[str], markers: Sequence[str], folder: Path) -> float:
    term = Terminal(argv, (120, 40), bench_env(folder))
    try:
        return term.wait_for(markers, 30)
    finally:
        term.close()


def _compile_package() -> None:
    """Compile the package's bytecode, as `pip install` does for an installed package.

    An editable install under `PYTHONDONTWRITEBYTECODE` (set on some machines) never writes
    it, so every start would compile ~100 modules (~0.2 s) that Textual, the baseline, does
    not. Where the package is not writable this fails quietly: pip compiled it there.
    """
    import agentops_tui

    package = Path(agentops_tui.__file__).parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def startup(quick: bool) -> list[Result]:
    runs = 3 if quick else 7
    demo: list[float] = []
    base: list[float] = []
    _compile_package()
    with tempfile.TemporaryDirectory(prefix="agentops-bench-term-") as tmp:
        folder = Path(tmp)
        for _ in range(runs):
            base.append(_first_paint([sys.executable, "-m", BASELINE_APP], ["baseline-ready"],
                                     folder))
            demo.append(_first_paint([sys.executable, "-m", "agentops_tui.cli", "demo"],
                                     DEMO_AGENTS, folder))
    median = sorted(demo)[len(demo) // 2]
    base_median = sorted(base)[len(base) // 2]
    return [
        check("startup_demo_first_paint_s", median, "s", at_most=MAX_STARTUP_S,
              baseline=base_median,
              note=f"median of {runs} (worst {max(demo):.2f} s) on a 120x40 pty, until the "
              f"roster shows the fleet, bytecode compiled; baseline: a one-label Textual "
              f"app's first paint"),
    ]


def output(quick: bool) -> list[Result]:
    seconds = 8.0 if quick else 20.0
    with tempfile.TemporaryDirectory(prefix="agentops-bench-term-") as tmp, \
            server_process() as server:
        load = LoadProcess(server, agents=100, sessions=1000, rate=1000,
                           duration=seconds + 3, batch=50, concurrency=2)
        term = Terminal([sys.executable, "-m", "agentops_tui.cli", "tui", "--url", server.url,
                         "--token", server.token], (200, 50), bench_env(Path(tmp)))
        try:
            term.wait_for(["agent-0"], 30)
            term.keep_text = False
            time.sleep(1.0)
            t0 = time.perf_counter()
            time.sleep(min(5.0, seconds / 2))
            t1 = time.perf_counter()
            idle = term.bytes_between(t0, t1) / (t1 - t0)
            load.go()
            time.sleep(1.5)
            t2 = time.perf_counter()
            time.sleep(seconds)
            t3 = time.perf_counter()
            loaded = term.bytes_between(t2, t3) / (t3 - t2)
            stats = load.stop()
        finally:
            term.close()
            load.kill()
    return [
        check("output_terminal_kb_per_s", loaded / 1000, "KB/s", at_most=MAX_OUTPUT_KB_S,
              baseline=idle / 1000,
              note=f"200x50 pty, {stats['events_per_s']:,.0f} events/s sent; baseline: the "
              "same console with no events arriving (1 KB = 1000 bytes)"),
    ]
