"""Plain text and token counts out of LangChain's messages, for the LangChain integration."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def message_text(message: Any) -> str:
    """The text of a message (or of a tool's output): string content, or its text blocks."""
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [block if isinstance(block, str) else str(block.get("text", ""))
                 for block in content if isinstance(block, str | dict)]
        return "".join(parts)
    return "" if content is None else str(content)


def last_user_text(inputs: Any) -> str | None:
    """The user's prompt in a run's input: a string, or the last human message of
    `{"messages": [...]}`; None for anything else (a resume, a plain state)."""
    if isinstance(inputs, str):
        return inputs
    if isinstance(inputs, Mapping):
        for key in ("input", "query", "question", "task"):
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
        inputs = inputs.get("messages")
    if isinstance(inputs, list):
        for message in reversed(inputs):
            if isinstance(message, tuple) and len(message) == 2 and message[0] in (
                    "user", "human"):
                return str(message[1])
            if getattr(message, "type", None) == "human":
                return message_text(message)
            if isinstance(message, Mapping) and message.get("role") in ("user", "human"):
                return message_text(message.get("content"))
    return None


def usage_fields(message: Any, llm_output: Mapping[str, Any] | None) -> dict[str, int]:
    """Token counts for `session.usage()` from `usage_metadata` (or a provider's
    `token_usage`). LangChain counts cached prompt tokens inside `input_tokens`; agentops
    counts them apart, so they are taken out of the input figure."""
    usage = getattr(message, "usage_metadata", None)
    if usage:
        details = usage.get("input_token_details") or {}
        cache_read = int(details.get("cache_read") or 0)
        cache_write = int(details.get("cache_creation") or 0)
        return {"input_tokens": max(0, int(usage.get("input_tokens") or 0)
                                    - cache_read - cache_write),
                "output_tokens": int(usage.get("output_tokens") or 0),
                "cache_read_tokens": cache_read, "cache_write_tokens": cache_write}
    token_usage = (llm_output or {}).get("token_usage") or {}
    if token_usage:
        return {"input_tokens": int(token_usage.get("prompt_tokens") or 0),
                "output_tokens": int(token_usage.get("completion_tokens") or 0)}
    return {}


def interrupt_summary(value: Any) -> tuple[str, str | None]:
    """An approval's summary and detail for an `interrupt(value)`: a string as it is; a dict's
    `summary`/`question`/`message` (the rest as detail); anything else as JSON."""
    if isinstance(value, str):
        return value[:300], None
    if isinstance(value, Mapping):
        for key in ("summary", "question", "message", "action"):
            if isinstance(value.get(key), str):
                rest = {k: v for k, v in value.items() if k != key}
                return str(value[key])[:300], _json(rest) if rest else None
    return "approve this step?", _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, indent=2)[:4000]
