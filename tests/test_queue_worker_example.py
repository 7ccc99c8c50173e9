"""examples/queue_worker.py run as a user would, against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import LiveServer

EXAMPLE = Path(__file__).parent.parent / "examples" / "queue_worker.py"


def test_queue_worker_takes_works_and_completes_tasks(live: LiveServer) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", live.url, "--token", live.token,
         "--queue", "bug-triage", "--add-tasks", "2", "--max-tasks", "2",
         "--step-seconds", "0.02"],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("completed wt_") == 2
    with live.client() as c:
        [queue] = c.get("/api/v1/work-queues").json()["queues"]
        assert queue["name"] == "bug-triage" and queue["counts"]["complete"] == 2
        tasks = c.get("/api/v1/tasks").json()["tasks"]
        assert all(t["session_count"] == 1 and t["input_tokens"] > 0 for t in tasks)
        assert all(t["sessions"][0]["status"] == "completed" for t in tasks)
