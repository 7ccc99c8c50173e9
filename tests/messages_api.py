"""The Messages API's shapes for the model stand-in: scripted turns, written out as the API
streams them (or answers them whole), and readers for the requests the CLI sends."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_USAGE = {"input_tokens": 120, "output_tokens": 30}
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


@dataclass
class Turn:
    """One scripted model response: content blocks, usage, and why it stopped."""

    blocks: list[dict[str, Any]]
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    stop_reason: str | None = None  # default: "tool_use" if a block calls a tool, else end_turn
    delay: float = 0.0  # seconds to wait before answering

    def finish_reason(self) -> str:
        if self.stop_reason:
            return self.stop_reason
        calls = any(b["type"] == "tool_use" for b in self.blocks)
        return "tool_use" if calls else "end_turn"


def text(message: str, **turn: Any) -> Turn:
    """A turn where the model answers with text and ends its turn."""
    return Turn([{"type": "text", "text": message}], **turn)


def tool_use(name: str, tool_input: dict[str, Any], *, id: str | None = None,
             say: str | None = None, **turn: Any) -> Turn:
    """A turn where the model calls one tool (optionally saying `say` first)."""
    block = {"type": "tool_use", "id": id or f"toolu_{uuid.uuid4().hex[:20]}",
             "name": name, "input": tool_input}
    blocks = ([{"type": "text", "text": say}] if say else []) + [block]
    return Turn(blocks, **turn)


def _content(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of a request's last user message (answers to the last turn)."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return [b for b in _content(users[-1]) if b.get("type") == "tool_result"] if users else []


def without_reminders(message: str) -> str:
    """The text without the `<system-reminder>` parts the CLI appends to what the model sees
    (e.g. a tool's output gets "<total_tokens>N tokens left</total_tokens>" with some models)."""
    return _REMINDER.sub("", message).strip()


def result_text(block: dict[str, Any], *, raw: bool = False) -> str:
    """The text of a tool_result block (its content is a string or a list of blocks),
    without the CLI's system reminders unless `raw`."""
    content = block.get("content")
    if not isinstance(content, str):
        content = "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))
    return content if raw else without_reminders(content)


def all_text(body: dict[str, Any]) -> str:
    """Every text the request shows the model in its messages (texts and tool results)."""
    parts: list[str] = []
    for message in body.get("messages", []):
        for block in _content(message):
            if block.get("type") == "text":
                parts.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                parts.append(result_text(block, raw=True))
    return "\n".join(parts)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(turn: Turn, model: str, message_id: str) -> Iterator[bytes]:
    """The Messages API's streaming event sequence for one turn."""
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    usage.update({k: v for k, v in turn.usage.items() if k != "output_tokens"})
    yield _sse("message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1}}})
    yield _sse("ping", {"type": "ping"})
    for index, block in enumerate(turn.blocks):
        if block["type"] == "text":
            yield _sse("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {"type": "text", "text": ""}})
            words = block["text"].split(" ")
            for i, word in enumerate(words):  # several deltas, as the real API sends
                piece = word if i == len(words) - 1 else word + " "
                yield _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "text_delta", "text": piece}})
        else:
            start = {**block, "input": {}}
            yield _sse("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": start})
            raw = json.dumps(block["input"])
            for i in range(0, len(raw), 16):
                yield _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": raw[i:i + 16]}})
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": turn.finish_reason(),
                                           "stop_sequence": None},
                                 "usage": {"output_tokens": turn.usage.get("output_tokens", 0)}})
    yield _sse("message_stop", {"type": "message_stop"})


def message_json(turn: Turn, model: str, message_id: str) -> dict[str, Any]:
    """The non-streaming answer for one turn."""
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0, **turn.usage}
    return {"id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": turn.blocks, "stop_reason": turn.finish_reason(),
            "stop_sequence": None, "usage": usage}
