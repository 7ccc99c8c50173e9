"""A stand-in for the Anthropic Messages API that the real Claude Code CLI talks to in tests.

It is a real HTTP server on 127.0.0.1, port 0, in a thread. Point the CLI at it with
`ANTHROPIC_BASE_URL=stand_in.url` (the `claude_cli` module does that for you).

A test scripts the model's turns, in order; each main-loop request of the CLI gets the next::

    model = ModelStandIn([
        tool_use("Bash", {"command": "echo hi > out.txt"}),   # turn 1: the model calls a tool
        text("done"),                                          # turn 2: the model answers
    ])
    with model:
        ...run the CLI...
    body = model.turn_requests[1]        # what the CLI sent to get turn 2
    [result] = tool_results(body)        # the tool_result answering turn 1's tool_use
    assert "hi" in result_text(result) and not result.get("is_error")

Every request is recorded (`model.requests`, each a `Recorded` with path, headers and the
parsed body), so a test can assert what the model was shown: an injected text
(`"hold on" in all_text(body)`), a denied tool's reason (`tool_results(body)[0]["is_error"]`).

**Main-loop turns, subagent turns, side requests.** A subagent (the `Agent` tool) talks to
the model on its own, and in the background by default (`run_in_background` is true unless
the tool input says false): its requests interleave with the main loop's. They carry the
header `x-claude-code-agent-id`, so they are served from a second script, `subagent_turns`
(shared by all subagents, in arrival order), and recorded with `kind == "subagent"` and the
agent's id. A background subagent's end reaches the main loop as a new prompt, which takes
one more main-loop turn.

Side requests must not consume scripted turns. The rule (`is_main_loop`): a model request is
an agent-loop turn when it offers the model tools (`tools` non-empty) — the main loop and a
subagent's always do. The CLI's chores (a quota probe, title or topic generation, Bash
command-prefix checks, summaries, usually on the small model) offer none; they are answered
with `side_answer` and recorded with `kind == "side"`. Version 2.1.332 in `-p` mode made no
such call at all (with or without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC); the rule is
there for versions that do. Other paths: `POST /v1/messages/count_tokens` gets an estimate,
`GET /v1/models` lists the models asked for, anything else (2.1.332 sends `HEAD /api/hello`
at start unless non-essential traffic is disabled) gets a 404 in the API's error envelope;
all are recorded with `kind == "other"`.

When the script runs out, a further main-loop request is answered with `text(exhausted_text)`
and counted in `model.unscripted`: assert it is 0 to catch a run that went further than the
test meant. `Turn.delay` holds a turn's answer back for that many seconds (a slow model).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from messages_api import (
    Turn,
    all_text,
    message_json,
    result_text,
    stream_events,
    text,
    tool_results,
    tool_use,
    without_reminders,
)

# The turn builders and request readers are used through this module by the tests.
__all__ = ["ModelStandIn", "Recorded", "Turn", "all_text", "is_main_loop", "result_text",
           "text", "tool_results", "tool_use", "without_reminders"]

SUBAGENT_HEADER = "x-claude-code-agent-id"


@dataclass
class Recorded:
    """One request the CLI made."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON
    kind: str  # "turn" (main loop), "subagent", "side" (a chore), or "other" (not /v1/messages)
    at: float  # time.monotonic() when it arrived
    agent_id: str | None = None  # the subagent's id, for kind "subagent"


def is_main_loop(body: Any) -> bool:
    """A request of an agent loop (the main one or a subagent's) offers tools; the CLI's
    chores (quota, titles) do not."""
    return isinstance(body, dict) and bool(body.get("tools"))


class ModelStandIn:
    """The scripted Messages API server. Use as a context manager, or start()/stop()."""

    def __init__(self, turns: Iterable[Turn] = (), *, subagent_turns: Iterable[Turn] = (),
                 side_answer: str = "ok",
                 exhausted_text: str = "(no scripted turn left)") -> None:
        self._scripts = {"turn": list(turns), "subagent": list(subagent_turns)}
        self._served = {"turn": 0, "subagent": 0}
        self.side_answer = side_answer
        self.exhausted_text = exhausted_text
        self.requests: list[Recorded] = []
        self.unscripted = 0  # main-loop or subagent requests answered past the script
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- the script ----------------------------------------------------------------------

    def add_turns(self, *turns: Turn) -> None:
        """Append main-loop turns to the script (also while the CLI is running)."""
        with self._changed:
            self._scripts["turn"].extend(turns)

    def add_subagent_turns(self, *turns: Turn) -> None:
        """Append turns to the subagents' script."""
        with self._changed:
            self._scripts["subagent"].extend(turns)

    def _next_turn(self, lane: str) -> Turn:
        with self._changed:
            script, served = self._scripts[lane], self._served[lane]
            if served < len(script):
                self._served[lane] = served + 1
                return script[served]
            self.unscripted += 1
        return text(self.exhausted_text)

    # -- what was asked ------------------------------------------------------------------

    @property
    def turn_requests(self) -> list[dict[str, Any]]:
        """Bodies of the main-loop requests, in order: [i] is what was sent to get turn i."""
        with self._changed:
            return [r.body for r in self.requests if r.kind == "turn"]

    @property
    def subagent_requests(self) -> list[Recorded]:
        """The subagents' requests, in order (`agent_id` says whose)."""
        with self._changed:
            return [r for r in self.requests if r.kind == "subagent"]

    @property
    def side_requests(self) -> list[Recorded]:
        with self._changed:
            return [r for r in self.requests if r.kind == "side"]

    def wait_for_turns(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """Block until `count` main-loop requests have arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(r.kind == "turn" for r in self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sum(r.kind == "turn" for r in self.requests)
                    raise AssertionError(f"{seen} model turns requested in {timeout}s, "
                                         f"expected {count}")
                self._changed.wait(left)
        return self.turn_requests

    def _record(self, entry: Recorded) -> None:
        with self._changed:
            self.requests.append(entry)
            self._changed.notify_all()

    # -- serving -------------------------------------------------------------------------

    def answer(self, body: Any, agent_id: str | None) -> tuple[Turn, str]:
        """Pick the turn for a /v1/messages request; returns it and the request's kind."""
        if is_main_loop(body):
            lane = "subagent" if agent_id else "turn"
            return self._next_turn(lane), lane
        return text(self.side_answer, usage={"input_tokens": 10, "output_tokens": 1}), "side"

    def models(self) -> dict[str, Any]:
        """A model listing naming every model asked for so far (and a default one)."""
        with self._changed:
            asked = [r.body.get("model") for r in self.requests if isinstance(r.body, dict)]
        ids = list(dict.fromkeys([m for m in asked if isinstance(m, str)]
                                 + ["claude-sonnet-4-5-20250929"]))
        data = [{"type": "model", "id": i, "display_name": i, "created_at": "2025-09-29T00:00:00Z"}
                for i in ids]
        return {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}

    def message_id(self) -> str:
        return f"msg_standin_{next(self._ids):04d}"

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         name="model-stand-in", daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ModelStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(stand_in: ModelStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; the close ends a stream

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # every request is in stand_in.requests

        def _read_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode(errors="replace")

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_standin_{time.monotonic_ns()}")
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            body = self._read_body() if self.command in ("POST", "PUT", "PATCH") else None
            path = self.path.split("?", 1)[0]
            kind = "other"
            turn: Turn | None = None
            agent_id = self.headers.get(SUBAGENT_HEADER)
            if self.command == "POST" and path == "/v1/messages":
                turn, kind = stand_in.answer(body, agent_id)
            stand_in._record(Recorded(self.command, self.path, dict(self.headers.items()),
                                      body, kind, time.monotonic(), agent_id))
            if turn is not None:
                self._messages(turn, body)
            elif self.command == "GET" and path == "/v1/models":
                self._json(200, stand_in.models())
            elif self.command == "POST" and path == "/v1/messages/count_tokens":
                size = len(json.dumps(body)) if body is not None else 0
                self._json(200, {"input_tokens": max(1, size // 4)})
            else:
                self._json(404, {"type": "error", "error": {
                    "type": "not_found_error", "message": f"{self.command} {path}: not here"}})

        def _messages(self, turn: Turn, body: Any) -> None:
            if turn.delay:
                time.sleep(turn.delay)
            model = body.get("model", "claude-stand-in") if isinstance(body, dict) else ""
            message_id = stand_in.message_id()
            if not (isinstance(body, dict) and body.get("stream")):
                self._json(200, message_json(turn, model, message_id))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("request-id", f"req_standin_{time.monotonic_ns()}")
            self.end_headers()
            try:
                for chunk in stream_events(turn, model, message_id):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the CLI went away mid-stream (killed): nothing to answer

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler
