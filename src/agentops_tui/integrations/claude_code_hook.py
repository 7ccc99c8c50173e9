#!/usr/bin/env python3
"""Forward Claude Code hook events to an agentops console (standard library only).

Claude Code runs this for each hook event with the event's JSON on stdin. It adds the host
name, the project directory, a timestamp and - when a turn ends - the token usage and last
reply read from the session transcript, then POSTs it to /api/v1/hooks/claude-code.

It prints the console's answer, which is how the console acts on the session: deny a tool
and stop after a kill, carry an injected message, hold the session while it is paused, wait
for an operator's decision on a permission prompt (AGENTOPS_APPROVAL_WAIT seconds, default
300; then Claude Code asks its own user). A held event is polled until the console answers
it, through console restarts, for as long as the hook's `timeout` in the Claude Code
settings allows: set it long (see settings.json next to this file).

Otherwise it never gets in Claude Code's way: when the console is down or refuses the event
it gives up after a short timeout (AGENTOPS_HOOK_TIMEOUT, default 2 s), prints nothing and
Claude Code goes on. It always exits 0.

Try it by hand against a running console (`agentops serve`, `agentops token create --role
operator`):

    echo '{"session_id": "demo-1", "hook_event_name": "UserPromptSubmit", "cwd": "'$PWD'",
           "prompt": "hello"}' \
      | AGENTOPS_URL=http://127.0.0.1:8787 AGENTOPS_TOKEN=<token> \
        python3 src/agentops_tui/integrations/claude_code_hook.py

Install it for Claude Code with the `settings.json` next to this file (see README.md).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

# Claude Code waits for this script at every tool call, so it starts lean: plain HTTP is
# spoken over a socket (urllib.request and http.client import email and ssl, about half of
# the script's cost), and what only turn ends or https need is imported there.

TURN_ENDS = {"Stop", "SubagentStop", "SessionEnd", "PreCompact"}
MAX_USAGE = 2000
MAX_READ = 8 * 1024 * 1024  # transcript bytes read per hook, from where the last one stopped
POLL_SECONDS = 50.0  # one long-poll of a held event; the server allows up to 60


def _state_file(transcript: str) -> str:
    import hashlib
    import tempfile

    digest = hashlib.sha1(transcript.encode()).hexdigest()[:20]
    folder = os.path.join(tempfile.gettempdir(), "agentops-claude-code")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, digest + ".offset")


def _offset(transcript: str) -> int:
    try:
        with open(_state_file(transcript)) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def read_transcript(path: str) -> tuple[list[dict[str, Any]], str | None, int]:
    """Usage per model response and the last reply, from the part not yet reported."""
    start = _offset(path)
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < start:  # rewritten (e.g. /clear): start over
            start = 0
        f.seek(start)
        data = f.read(MAX_READ)
    end = start + (data.rfind(b"\n") + 1 if b"\n" in data else 0)
    usage: dict[str, dict[str, Any]] = {}
    reply = None
    for line in data[: end - start].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if entry.get("type") != "assistant" or not isinstance(message, dict):
            continue
        model = message.get("model")
        counts = message.get("usage") or {}
        key = message.get("id") or entry.get("requestId") or entry.get("uuid")
        if key and model and model != "<synthetic>" and isinstance(counts, dict):
            seen = usage.setdefault(key, {"id": key, "model": model})
            for ours, theirs in (
                ("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                ("cache_read_tokens", "cache_read_input_tokens"),
                ("cache_write_tokens", "cache_creation_input_tokens"),
            ):
                value = counts.get(theirs) or 0
                if isinstance(value, int) and value > seen.get(ours, 0):
                    seen[ours] = value  # one response spans several lines; keep the largest
        text = "".join(
            block.get("text", "") for block in message.get("content") or []
            if isinstance(block, dict) and block.get("type") == "text"
        )
        if text.strip():
            reply = text
    return list(usage.values())[-MAX_USAGE:], reply, end


class Refused(Exception):
    """The console answered with an error status."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"the console answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def call(method: str, url: str, token: str, body: bytes | None, timeout: float) -> dict[str, Any]:
    """One request to the console; its JSON object answer, or Refused for a 4xx/5xx."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        status, retry, raw = _call_with_urllib(method, url, token, body, timeout)
    else:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        status, retry, raw = _call_over_socket(
            method, parts.hostname or "127.0.0.1", parts.port or 80, parts.netloc, target,
            token, body, timeout)
    if status >= 400:
        raise Refused(status, retry)
    answer = json.loads(raw or b"{}")
    return answer if isinstance(answer, dict) else {}


def _call_over_socket(method: str, host: str, port: int, netloc: str, target: str, token: str,
                      body: bytes | None, timeout: float) -> tuple[int, str | None, bytes]:
    head = (f"{method} {target} HTTP/1.1\r\nHost: {netloc}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n")
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    raw = b"".join(chunks)
    header, _, content = raw.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip()
              for k, _, v in (line.partition(":") for line in lines[1:])}
    if fields.get("transfer-encoding", "").lower() == "chunked":
        content = _unchunk(content)
    return status, fields.get("retry-after"), content


def _unchunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(data[:size])
        data = data[size + 2:]
    return b"".join(out)


def _call_with_urllib(method: str, url: str, token: str, body: bytes | None,
                      timeout: float) -> tuple[int, str | None, bytes]:
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, None, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After") if exc.headers else None, b""


def _wait_of(reply: dict[str, Any]) -> dict[str, Any] | None:
    meta = reply.get("agentops")
    wait = meta.get("wait") if isinstance(meta, dict) else None
    return wait if isinstance(wait, dict) and isinstance(wait.get("id"), str) else None


def follow(reply: dict[str, Any], url: str, token: str, approval_wait: float) -> dict[str, Any]:
    """The answer to print. A held event (a pause, a permission awaiting its decision) is
    polled until the console answers it. A pause is held through console restarts and
    outages, as long as Claude Code's hook timeout allows; an approval is given up after
    `approval_wait` seconds, and then Claude Code asks its own user."""
    deadline = time.monotonic() + approval_wait
    backoff = 0.5
    while (wait := _wait_of(reply)) is not None:
        approval = wait.get("kind") == "approval"
        left = deadline - time.monotonic()
        give_up = approval and left <= 0
        seconds = 0.0 if give_up else min(POLL_SECONDS, left) if approval else POLL_SECONDS
        query = f"wait={seconds:.1f}&give_up={'true' if give_up else 'false'}"
        poll = f"{url}/api/v1/hooks/claude-code/waits/{quote(wait['id'], safe='')}?{query}"
        try:
            reply = call("GET", poll, token, None, seconds + 15)
            backoff = 0.5
        except Refused as exc:
            if exc.status < 500 and exc.status != 429:  # forgotten or refused: Claude goes on
                print(f"agentops hook: {exc}", file=sys.stderr)
                return {}
            retry = exc.retry_after
            time.sleep(float(retry) if retry and retry.isdigit() else backoff)
            backoff = min(backoff * 2, 10.0)
        except Exception as exc:  # the console is away: keep holding, ask again
            if give_up:
                return {}
            print(f"agentops hook: still held; {exc}", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
    return {k: v for k, v in reply.items() if k != "agentops"}


def main() -> int:
    url = os.environ.get("AGENTOPS_URL", "").rstrip("/")
    token = os.environ.get("AGENTOPS_TOKEN", "")
    timeout = _seconds("AGENTOPS_HOOK_TIMEOUT", 2.0)
    approval_wait = _seconds("AGENTOPS_APPROVAL_WAIT", 300.0)
    try:
        payload = json.loads(sys.stdin.read())
    except ValueError:
        return 0
    if not url or not isinstance(payload, dict):
        return 0
    extras: dict[str, Any] = {
        "host": socket.gethostname(),
        "project_dir": os.environ.get("CLAUDE_PROJECT_DIR") or payload.get("cwd"),
        "ts": time.time(),
    }
    transcript, offset = None, 0
    if payload.get("hook_event_name") in TURN_ENDS:
        transcript = payload.get("agent_transcript_path") or payload.get("transcript_path")
        if isinstance(transcript, str) and os.path.isfile(transcript):
            try:
                extras["usage"], extras["reply"], offset = read_transcript(transcript)
            except OSError:
                transcript = None
        else:
            transcript = None
    payload["agentops"] = extras
    try:
        reply = call("POST", f"{url}/api/v1/hooks/claude-code", token,
                     json.dumps(payload).encode(), timeout)
    except Exception as exc:  # the console is down or refused it: Claude Code goes on
        print(f"agentops hook: {exc}", file=sys.stderr)
        return 0
    if transcript:
        try:
            with open(_state_file(transcript), "w") as f:
                f.write(str(offset))
        except OSError:
            pass
    answer = follow(reply, url, token, approval_wait)
    if answer:
        print(json.dumps(answer))
    return 0


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


if __name__ == "__main__":
    sys.exit(main())
