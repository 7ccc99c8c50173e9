"""What a Claude Code hook adds to every event it fires for (DESIGN.md: ≤ 50 ms p99 for the
hook script, ≤ 10 ms for an http hook).

Claude Code waits for a command hook to exit, so a tool call is delayed by the shell, the
interpreter's start, the script's imports and its round trip to the server. The benchmark
runs the hook command exactly as `agentops hooks install` writes it (`sh -c`, the resolved
interpreter, `-I -S`), alternating typical PreToolUse and PostToolUse payloads of one session
on stdin, against the benchmark server; each call's wall time is one sample. Baselines in the
same run: the same shell starting the same interpreter to do nothing (what any command hook
costs), and for the http hook's figure, the server's `GET /healthz` round trip. An http hook
is Claude Code POSTing the payload itself: its cost is the hooks route's round trip, timed
here on a new connection per event as a hook makes it.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentops_tui.bench import Result, check, percentile
from agentops_tui.bench.procs import ServerProcess, server_process
from agentops_tui.integrations.claude_code_setup import python_for_hooks

SCRIPT = Path(__file__).parents[1] / "integrations" / "claude_code_hook.py"
MAX_SCRIPT_P99_MS = 50.0
MAX_HTTP_P99_MS = 10.0
WARMUP = 5


def payloads(session: str) -> Callable[[int], bytes]:
    """The i-th hook payload of a session that calls tools: Pre, Post, Pre, Post, ..."""
    base = {"session_id": session, "cwd": "/home/dev/proj", "permission_mode": "default",
            "transcript_path": f"/home/dev/.claude/projects/-home-dev-proj/{session}.jsonl",
            "prompt_id": str(uuid.uuid4())}
    tool_input = {"command": "pytest -q tests/test_api.py", "description": "Run the API tests"}

    def make(i: int) -> bytes:
        tool_use = f"toolu_bench{i // 2:08d}"
        name = "PreToolUse" if i % 2 == 0 else "PostToolUse"
        event: dict[str, Any] = {**base, "hook_event_name": name, "tool_name": "Bash",
                                 "tool_input": tool_input, "tool_use_id": tool_use}
        if i % 2:
            event.update({"tool_response": {"stdout": "12 passed in 0.84s", "stderr": "",
                                            "interrupted": False}, "duration_ms": 912})
        return json.dumps(event).encode()

    return make


def _spawn_ms(command: str, env: dict[str, str], body: bytes) -> float:
    start = time.perf_counter()
    done = subprocess.run(["/bin/sh", "-c", command], input=body, env=env,
                          capture_output=True, timeout=30)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"`{command}` exited {done.returncode}: {done.stderr[-300:]!r}")
    return elapsed


def _spawns(command: str, env: dict[str, str], make: Callable[[int], bytes], n: int
            ) -> list[float]:
    times = [_spawn_ms(command, env, make(i)) for i in range(n + WARMUP)]
    return times[WARMUP:]


def _round_trip_ms(url: str, method: str, path: str, token: str, body: bytes | None) -> float:
    parts = urlsplit(url)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path} answered HTTP {response.status}")
    return (time.perf_counter() - start) * 1000


def _posts(server: ServerProcess, make: Callable[[int], bytes], n: int) -> list[float]:
    times = [_round_trip_ms(server.url, "POST", "/api/v1/hooks/claude-code", server.token,
                            make(i)) for i in range(n + WARMUP)]
    return times[WARMUP:]


def run(quick: bool) -> list[Result]:
    n = 40 if quick else 150
    python = python_for_hooks()
    with server_process() as server:
        env = {**os.environ, "AGENTOPS_URL": server.url, "AGENTOPS_TOKEN": server.token,
               "AGENTOPS_PYTHON": python, "CLAUDE_PROJECT_DIR": "/home/dev/proj"}
        installed = f'"${{AGENTOPS_PYTHON:-python3}}" -I -S {shlex.quote(str(SCRIPT))}'
        plain = f"python3 {shlex.quote(str(SCRIPT))}"
        started = _spawns('"$AGENTOPS_PYTHON" -I -S -c pass', env, lambda i: b"{}", n)
        script = _spawns(installed, env, payloads(f"bench-{uuid.uuid4()}"), n)
        plain_times = _spawns(plain, env, payloads(f"bench-{uuid.uuid4()}"), n // 2)
        health = [_round_trip_ms(server.url, "GET", "/healthz", server.token, None)
                  for _ in range(n + WARMUP)][WARMUP:]
        posts = _posts(server, payloads(f"bench-{uuid.uuid4()}"), n)
    start50, start99 = percentile(started, 50), percentile(started, 99)
    script50, script99 = percentile(script, 50), percentile(script, 99)
    post50, post99 = percentile(posts, 50), percentile(posts, 99)
    how = (f"{n} PreToolUse/PostToolUse hooks through `sh -c`, {python} -I -S; "
           "baseline: the same shell and interpreter doing nothing")
    return [
        check("hook_script_p50_ms", script50, "ms", baseline=start50, note=how),
        check("hook_script_p99_ms", script99, "ms", at_most=MAX_SCRIPT_P99_MS, baseline=start99,
              note=f"worst {max(script):.0f} ms"),
        check("hook_script_vs_interpreter_start", script50 / start50, "x", baseline=start50,
              note="script p50 / bare interpreter start p50: what the script itself adds"),
        check("hook_script_plain_python3_p99_ms", percentile(plain_times, 99), "ms",
              baseline=script99, note="`python3 script` through PATH (shims included), no "
              f"flags, p50 {percentile(plain_times, 50):.1f} ms; baseline: as installed"),
        check("hook_http_p50_ms", post50, "ms", baseline=percentile(health, 50),
              note="POST of the same payloads, a new connection each, answered after commit; "
                   "baseline: GET /healthz"),
        check("hook_http_p99_ms", post99, "ms", at_most=MAX_HTTP_P99_MS,
              baseline=percentile(health, 99), note=f"worst {max(posts):.0f} ms"),
    ]
