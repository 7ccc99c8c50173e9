#!/usr/bin/env python3
"""Forward Claude Code hook events to an agentops console (standard library only).

Claude Code runs this for each hook event with the event's JSON on stdin. It adds the host
name, the project directory, a timestamp and - when a turn ends - the token usage and last
reply read from the session transcript, then POSTs it to /api/v1/hooks/claude-code.

It never gets in Claude Code's way: it prints nothing, gives up after a short timeout
(AGENTOPS_HOOK_TIMEOUT, default 2 s) and always exits 0.

Try it by hand against a running console (`agentops serve`, `agentops token create --role
operator`):

    echo '{"session_id": "demo-1", "hook_event_name": "UserPromptSubmit", "cwd": "'$PWD'",
           "prompt": "hello"}' \
      | AGENTOPS_URL=http://127.0.0.1:8787 AGENTOPS_TOKEN=<token> \
        python3 src/agentops_tui/integrations/claude_code_hook.py

Install it for Claude Code with the `settings.json` next to this file (see README.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import tempfile
import time
import urllib.request
from typing import Any

TURN_ENDS = {"Stop", "SubagentStop", "SessionEnd", "PreCompact"}
MAX_USAGE = 2000
MAX_READ = 8 * 1024 * 1024  # transcript bytes read per hook, from where the last one stopped


def _state_file(transcript: str) -> str:
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


def main() -> int:
    url = os.environ.get("AGENTOPS_URL", "").rstrip("/")
    token = os.environ.get("AGENTOPS_TOKEN", "")
    timeout = float(os.environ.get("AGENTOPS_HOOK_TIMEOUT", "2"))
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
    request = urllib.request.Request(
        f"{url}/api/v1/hooks/claude-code",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            ok = 200 <= response.status < 300
    except Exception as exc:  # the console is down or refused it: Claude Code goes on
        print(f"agentops hook: {exc}", file=sys.stderr)
        return 0
    if ok and transcript:
        try:
            with open(_state_file(transcript), "w") as f:
                f.write(str(offset))
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
