"""Arize Phoenix as the OTLP baseline: start it, and read how many spans it has stored.

Phoenix is never a dependency of the project; the comparison runs when an executable is
found (the `AGENTOPS_BENCH_PHOENIX` variable, else /tmp/phoenix-venv/bin/phoenix, else PATH).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

# every project's span count; Phoenix puts spans without a project name in "default"
_STORED_QUERY = "{ projects { edges { node { recordCount } } } }"


def phoenix_executable() -> str | None:
    candidates = [os.environ.get("AGENTOPS_BENCH_PHOENIX"), "/tmp/phoenix-venv/bin/phoenix",
                  shutil.which("phoenix")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_phoenix(exe: str) -> Iterator[str]:
    """`phoenix serve` on a free loopback port and a scratch directory; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="agentops-bench-phoenix-") as tmp:
        port = _free_port()
        env = {**os.environ, "PHOENIX_WORKING_DIR": tmp, "PHOENIX_PORT": str(port),
               "PHOENIX_GRPC_PORT": str(_free_port()), "PHOENIX_HOST": "127.0.0.1"}
        proc = subprocess.Popen([exe, "serve"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Phoenix did not start")
                time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stored_spans(base: str) -> int:
    """How many spans Phoenix has written to its database (its exports are queued first)."""
    r = httpx.post(f"{base}/graphql", json={"query": _STORED_QUERY}, timeout=30)
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"Phoenix's span count query failed: {r.status_code} {r.text[:200]}")
    return sum(int(edge["node"]["recordCount"]) for edge in body["data"]["projects"]["edges"])
