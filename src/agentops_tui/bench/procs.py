"""Processes the benchmarks start and watch: the server, load generators, CPU and memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def bench_env(folder: Path) -> dict[str, str]:
    """The environment for child processes: config and data kept out of the user's dirs."""
    env = dict(os.environ)
    env["AGENTOPS_CONFIG_DIR"] = str(folder / "config")
    env["AGENTOPS_DATA_DIR"] = str(folder / "data")
    env.pop("AGENTOPS_TOKEN", None)
    env.pop("AGENTOPS_URL", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def read_json_line(stream: IO[str], what: str) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise RuntimeError(f"{what} exited before it said anything")
    try:
        value: dict[str, Any] = json.loads(line)
    except ValueError:
        raise RuntimeError(f"{what} said {line.strip()[:200]!r}") from None
    return value


@dataclass
class ServerProcess:
    url: str
    token: str
    pid: int
    proc: subprocess.Popen[str]

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)


@contextmanager
def server_process(folder: Path | None = None, db: str | None = None
                   ) -> Iterator[ServerProcess]:
    """`agentops_tui.bench.serve` on a fresh database in `folder` (or a temporary one), or on
    the database URL `db`."""
    with tempfile.TemporaryDirectory(prefix="agentops-bench-") as tmp:
        base = folder or Path(tmp)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentops_tui.bench.serve", db or str(base / "bench.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=bench_env(base),
        )
        assert proc.stdout is not None and proc.stdin is not None
        try:
            info = read_json_line(proc.stdout, "the benchmark server")
            yield ServerProcess(info["url"], info["token"], int(info["pid"]), proc)
        finally:
            proc.stdin.close()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


class LoadProcess:
    """`agentops_tui.bench.load` against a server; seeded on start, loading on `go()`."""

    def __init__(self, server: ServerProcess, *, agents: int = 0, sessions: int = 0,
                 rate: float = 0.0, duration: float = 10.0, batch: int = 100,
                 concurrency: int = 2, seed: int = 1, prefix: str = "b",
                 seed_only: bool = False, seed_fleet: bool = True) -> None:
        args = [sys.executable, "-m", "agentops_tui.bench.load", server.url, server.token,
                "--agents", str(agents), "--sessions", str(sessions), "--rate", str(rate),
                "--duration", str(0 if seed_only else duration), "--batch", str(batch),
                "--concurrency", str(concurrency), "--seed", str(seed), "--prefix", prefix,
                "--wait", *([] if seed_fleet else ["--no-seed"])]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        read_json_line(self.proc.stdout, "the load generator")  # seeded

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120.0) -> dict[str, Any]:
        """Wait for the load to end (or stop it) and return its statistics."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            stats = read_json_line(self.proc.stdout, "the load generator")
        finally:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        return stats

    def stop(self) -> dict[str, Any]:
        """End the load now."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.finish()

    def kill(self) -> None:
        """Stop it if it still runs, and let go of its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class FollowerProcess:
    """`agentops_tui.bench.follow`: stream clients counting frames, in a process of their own.

    Started before the load, so every event the load gets acknowledged must reach them."""

    def __init__(self, server: ServerProcess, *, clients: int = 1, drain: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentops_tui.bench.follow", server.url, server.token,
             "--clients", str(clients), "--drain", str(drain)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        try:
            read_json_line(self.proc.stdout, "the stream client")  # streams open
        except BaseException:
            self.kill()
            raise
        self.drain = drain

    def finish(self, expected_frames: int) -> dict[str, Any]:
        """Wait until each client has `expected_frames` (or the drain time passed); counts."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{expected_frames}\n")
            self.proc.stdin.flush()
            return read_json_line(self.proc.stdout, "the stream client")
        finally:
            self.proc.stdin.close()
            self.proc.wait(timeout=self.drain + 30)

    def kill(self) -> None:
        """Stop it if it still runs, and let go of its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory in MB (VmRSS now, or VmHWM for the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")
