"""The demo's backend in a process of its own: `python -m agentops_tui.demo_process`.

A throwaway database, the embedded server and the simulated fleet. `agentops demo` starts it
before anything else (its imports take longest) and imports the console meanwhile, so the two
start up on two cores, and the console never shares an interpreter lock with the server and
the simulator. It prints one JSON line, `{"url", "token"}` once it listens or `{"error"}` if
it cannot start, and stops (removing its database) when its standard input closes: the
console quit, or died. `DemoProcess` is the console's side; this module imports little so
that starting it costs little.
"""

from __future__ import annotations

import argparse
import json
import logging
import select
import shutil
import subprocess
import sys
import tempfile
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
                [sys.executable, "-m", "agentops_tui.demo_process", "--agents", str(agents),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentops_tui.demo_process")
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        folder = Path(tempfile.mkdtemp(prefix="agentops-demo-"))
    except OSError as exc:
        print(json.dumps({"error": f"no temporary folder for its database: {exc}"}), flush=True)
        return 1
    try:
        from agentops_tui.launch import LaunchError, embedded_backend
        from agentops_tui.simulator import Simulator

        try:
            backend = embedded_backend(folder / "demo.db", "demo", time_scale=args.speed,
                                       token_name="demo-console")
        except LaunchError as exc:  # something the user can fix: the console says what
            print(json.dumps({"error": str(exc)}), flush=True)
            return 1
        except Exception as exc:  # a bug: the console says it, the traceback is in the log
            logging.getLogger("agentops.demo").exception("the demo backend could not start")
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
            return 1
        try:
            simulator = Simulator(backend.url, backend.token, agents=args.agents,
                                  seed=args.seed, speed=args.speed)
            simulator.start_in_thread()
            backend.cleanups.append(simulator.stop)
            print(json.dumps({"url": backend.url, "token": backend.token}), flush=True)
            sys.stdin.read()
        finally:
            backend.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
