"""Approval requested → notification delivered: the time from an agent's POST of an
`approval.requested` event until a local webhook (an apprise `json://` channel) has the
message, through the real server (commit, routing, the rule's thread, apprise, HTTP).

The server runs in this process (it needs a `[[notify]]` rule; the bench's own server
process reads none), the webhook on a thread beside it. One approval at a time, cooldown 0,
so each sample is one message's whole path, not a batch.
"""

from __future__ import annotations

import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from agentops_tui.bench import Result, check, percentile
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token
from agentops_tui.server.notify.rules import NotifyRule

MAX_P99_MS = 2000.0
WARMUP = 3
TIMEOUT = 10.0


class _Webhook:
    """Records when each message arrived, by title."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                import json

                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with hook.cond:
                    hook.arrived[str(body.get("title"))] = time.perf_counter()
                    hook.cond.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, title: str) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: title in self.arrived, TIMEOUT)
            return self.arrived.get(title)


def _samples(url: str, token: str, hook: _Webhook, n: int) -> tuple[list[float], list[float]]:
    """Delivery and POST round-trip times (ms) of `n` approvals after the warm-up ones."""
    delivered, posted = [], []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as c:
        c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "ag-1", "name": "bench", "kind": "coder"},
            {"type": "session.started", "session_id": "se-1", "agent_id": "ag-1",
             "title": "bench"}]}).raise_for_status()
        for i in range(n + WARMUP):
            summary = f"approve step {i}?"
            start = time.perf_counter()
            c.post("/api/v1/ingest", json={"events": [{
                "type": "approval.requested", "approval_id": f"ap-{i}", "session_id": "se-1",
                "summary": summary}]}).raise_for_status()
            answered = time.perf_counter()
            arrived = hook.wait(f"agentops: Approval needed: {summary}")
            if arrived is None:
                raise RuntimeError(f"approval {i} was not delivered within {TIMEOUT:g} s")
            if i >= WARMUP:
                delivered.append((arrived - start) * 1000)
                posted.append((answered - start) * 1000)
    return delivered, posted


def run(quick: bool) -> list[Result]:
    n = 30 if quick else 100
    hook = _Webhook()
    with tempfile.TemporaryDirectory(prefix="agentops-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        token = make_token(db, "admin", "bench")
        rule = NotifyRule(name="bench", url=f"json://127.0.0.1:{hook.port}/hook",
                          on=("approval",), cooldown_seconds=0)
        server = EmbeddedServer(ServerSettings(db_path=db, notify=(rule,)))
        url = server.start()
        try:
            delivered, posted = _samples(url, token, hook, n)
        finally:
            server.stop()
            hook.server.shutdown()
            hook.server.server_close()
    return [
        check("notify_approval_delivered_p50_ms", percentile(delivered, 50), "ms",
              baseline=percentile(posted, 50),
              note=f"{n} approvals one at a time to a local json:// webhook; "
                   "baseline: the POST → 202 round trip"),
        check("notify_approval_delivered_p99_ms", percentile(delivered, 99), "ms",
              at_most=MAX_P99_MS, baseline=percentile(posted, 99),
              note=f"worst {max(delivered):.0f} ms"),
    ]
