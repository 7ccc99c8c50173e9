"""The console's handle on the demo's backend, a process of its own (demo_backend.py).

A throwaway database, the embedded server and the simulated fleet. `agentops demo` starts it
before anything else (its imports take longest) and imports the console meanwhile, so the two
start up on two cores, and the console never shares an interpreter lock with the server and
the simulator. It prints one JSON line, `{"url", "token"}` once it listens or `{"error"}` if
it cannot start, and stops (removing its database) when its standard input closes: the
console quit, or died.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT_SECONDS = 60.0


class DemoNotStarted(Exception):
    """The backend process could not start; the message says why and where its log is."""


class DemoProcess:
    """The console's handle on the demo's backend process, started at construction."""

    def __init__(self, agents: int, seed: int, speed: float, log: Path) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as stray:  # its stray output goes to the log
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentops_tui.demo_backend", "--agents", str(agents),
                 "--seed", str(seed), "--speed", str(speed)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stray, text=True,
                start_new_session=True,  # the terminal's signals are the console's to handle
            )

    def wait_until_listening(self) -> tuple[str, str]:
        """Its URL and token once it listens; stops it and raises DemoNotStarted if it
        cannot start."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT_SECONDS)
        line = self.proc.stdout.readline() if ready else ""
        try:
            info = json.loads(line) if line else {}
        except ValueError:
            info = {"error": f"it said {line[:200]!r}"}
        if "url" in info and "token" in info:
            return str(info["url"]), str(info["token"])
        self.stop()
        why = info.get("error") or (f"it exited with status {self.proc.returncode}" if ready
                                    else "it did not answer within a minute")
        raise DemoNotStarted(f"the demo backend could not start: {why} (log: {self.log})")

    def stop(self) -> None:
        """Close its input (it stops the fleet and the server and removes its database)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        deadline = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
