"""The demo's backend process: `python -m agentops_tui.demo_backend`.

Started by `DemoProcess` (demo_process.py). It opens an embedded backend on a temporary
database, starts the simulator against it (with an operator token of its own,
`demo-simulator`; the console's is `demo-console`), prints one JSON line (`{"url", "token"}` or
`{"error"}`) and runs until its input closes, then stops the fleet and removes the database.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentops_tui.demo_backend")
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
            # its own token, so the audit log tells the fleet's doings from the operator's
            assert backend.issue_token is not None  # an embedded backend has one
            simulator_token = backend.issue_token("operator", "demo-simulator")
            simulator = Simulator(backend.url, simulator_token, agents=args.agents,
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
