"""What OpenClaw gateway frames become in agentops (the frames as the gateway sends them,
captured from OpenClaw 2026.9.6), and the bridge command's refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentops_tui.server.connectors.openclaw_mapping import (
    message_events,
    started_event,
    status_event,
)

ASSISTANT = {
    "role": "assistant", "content": [{"type": "text", "text": "Hello."}],
    "api": "openai-completions", "provider": "standin", "model": "stand-in-1",
    "usage": {"input": 120, "output": 7, "totalTokens": 127, "cacheRead": 3, "cacheWrite": 0},
    "stopReason": "stop", "timestamp": 1796429191436,
    "__openclaw": {"runId": "r1", "id": "29b48e78", "seq": 2},
}
USER = {"role": "user", "content": "Say hello", "timestamp": 1796429183211,
        "idempotencyKey": "r1:user", "__openclaw": {"id": "a5489928", "seq": 1}}
ROW = {"key": "agent:main:demo1", "agentId": "main", "sessionId": "74a1", "status": "done",
       "hasActiveRun": False, "model": "stand-in-1", "parentSessionKey": "agent:main:main",
       "createdAt": 1796429183183, "inputTokens": 120, "outputTokens": 7}


def test_a_transcript_entry_is_a_message_and_its_usage_keyed_by_the_entry_id() -> None:
    message, usage = message_events("s", ASSISTANT, None)
    assert message == {"type": "session.message", "session_id": "s", "role": "assistant",
                       "content": "Hello.", "event_key": "openclaw:msg:29b48e78",
                       "ts": 1796429191.436}
    assert usage["event_key"] == "openclaw:msg:29b48e78:usage"
    assert (usage["model"], usage["input_tokens"], usage["output_tokens"],
            usage["cache_read_tokens"], usage.get("cost_usd")) == ("stand-in-1", 120, 7, 3, None)
    # a live event names the entry by messageId: the same key as its history replay
    assert message_events("s", USER, "a5489928") == message_events("s", USER, None)
    assert message_events("s", USER, None)[0]["role"] == "user"


def test_entries_the_bridge_cannot_key_or_sent_itself_are_not_reported() -> None:
    assert message_events("s", {"role": "user", "content": "no id"}, None) == []
    sent = {**USER, "idempotencyKey": "agentops:cmd_1:user"}
    assert message_events("s", sent, None) == []


def test_tool_calls_and_tool_results() -> None:
    call = {"role": "assistant", "__openclaw": {"id": "t1"}, "content": [
        {"type": "text", "text": "checking"},
        {"type": "toolCall", "name": "exec", "arguments": {}}]}
    kinds = [(e["type"], e.get("tool") or e.get("role")) for e in message_events("s", call, None)]
    assert kinds == [("session.message", "assistant"), ("session.tool_call", "exec")]
    result = {"role": "toolResult", "__openclaw": {"id": "t2"},
              "content": [{"type": "text", "text": "ok"}]}
    assert message_events("s", result, None)[0]["role"] == "tool"


def test_session_rows_become_starts_and_states() -> None:
    started = started_event("openclaw:main", "openclaw:agent:main:demo1", ROW, None)
    assert (started["event_key"], started["model"], started["title"], started["ts"]) == (
        "openclaw:started:74a1", "stand-in-1", "agent:main:demo1", 1796429183.183)
    assert status_event("x", ROW) == {"type": "session.status", "session_id": "x",
                                      "status": "waiting",
                                      "detail": "waiting for the next message"}
    assert status_event("x", {**ROW, "status": "running"})["status"] == "running"
    killed = status_event("x", {**ROW, "status": "killed"})
    assert (killed["type"], killed["status"], killed["event_key"]) == (
        "session.ended", "killed", "openclaw:ended:74a1")
    assert status_event("x", {**ROW, "status": "failed"})["status"] == "failed"
    assert status_event("x", {"key": "k"}) is None


@pytest.mark.integration  # starts the CLI
def test_the_command_says_what_is_missing() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "agentops_tui", "connect", "openclaw", "--gateway", "http://x"],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    for words in ("give --url", "give --gateway-token", "must be a ws:// or wss:// URL"):
        assert words in run.stderr
