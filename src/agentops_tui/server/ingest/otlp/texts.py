"""Reading span attributes: numbers, and the plain text of prompts, answers and tool calls.

Instrumentations carry messages in several shapes: GenAI `gen_ai.input.messages` /
`gen_ai.output.messages` (JSON, with typed `parts`), OpenLLMetry's indexed
`gen_ai.prompt.N.*` / `gen_ai.completion.N.*`, OpenInference's flattened
`llm.input_messages.N.message.*` / `llm.output_messages.N.message.*`, and LangChain's own
serialisation inside `input.value` / `traceloop.entity.input` (a graph's input state). Each
reader returns plain text, or None: a JSON blob is never shown as if it were the message.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import from_json

from agentops_tui.server.redact import redact

MAX_TEXT = 16_000
MAX_OUTPUT = 4_000
_INDEXED = 64  # how many indexed messages / tool calls are read at most
_USER_ROLES = ("user", "human")


def clip(text: str, limit: int) -> str:
    """Redacted, then cut to `limit`: a secret cut first might no longer be recognised."""
    return redact(text)[:limit]


def first_str(a: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = a.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def first_int(a: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = a.get(name)
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = int(float(value))
        except (TypeError, ValueError, OverflowError):  # not a number, NaN, infinite
            continue
        return min(max(number, 0), 10**12)
    return None


def first_float(a: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = a.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def parse_json(value: Any) -> Any:
    """A JSON string's value (bounded nesting: deep text is just text); else None."""
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return None
    try:
        return from_json(value)
    except ValueError:
        return None


def tool_call_text(name: str, arguments: Any) -> str:
    """A model's request to call a tool, as the console shows it: `→ name(arguments)`."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    return f"→ {name}({arguments})"


def _genai_messages(value: Any, roles: tuple[str, ...], last: bool) -> str | None:
    """Text of GenAI `gen_ai.input.messages` / `gen_ai.output.messages` (JSON or a list);
    an answer made only of tool calls is shown as those calls."""
    if isinstance(value, str):
        parsed = parse_json(value)
        if parsed is None:
            return value
        value = parsed
    if not isinstance(value, list):
        return None
    texts = []
    for message in value:
        if not isinstance(message, dict) or message.get("role", roles[0]) not in roles:
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            said = [p for p in parts if isinstance(p, dict)]
            text = "".join(str(p.get("content", "")) for p in said
                           if p.get("type", "text") == "text")
            text = text or "\n".join(
                tool_call_text(str(p.get("name") or "tool"), p.get("arguments") or {})
                for p in said if p.get("type") == "tool_call")
        else:
            text = str(message.get("content") or "")
        if text:
            texts.append(text)
    if not texts:
        return None
    return texts[-1] if last else "\n".join(texts)


def _indexed_user_text(a: dict[str, Any], prefix: str, role_key: str, content_key: str) -> (
        str | None):
    """The last user message of indexed attributes (`<prefix>.N.<role_key>`)."""
    text = None
    for i in range(_INDEXED):
        role = a.get(f"{prefix}.{i}.{role_key}")
        content = a.get(f"{prefix}.{i}.{content_key}")
        if role is None and content is None:
            break
        if role in (None, *_USER_ROLES) and content:
            text = str(content)
    return text


def _indexed_tool_calls(a: dict[str, Any], prefix: str, name_key: str, args_key: str) -> (
        str | None):
    calls = []
    for i in range(_INDEXED):
        name = a.get(f"{prefix}.{i}.{name_key}")
        if name is None:
            break
        calls.append(tool_call_text(str(name), a.get(f"{prefix}.{i}.{args_key}") or {}))
    return "\n".join(calls) or None


def langchain_user_text(value: Any) -> str | None:
    """The last human message of a LangChain/LangGraph input (`{"messages": [...]}`, maybe
    under `inputs`), whether the messages are tuples, dicts or LangChain's serialisation."""
    data = parse_json(value) if isinstance(value, str) else value
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        data = data["inputs"]
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return None
    text = None
    for message in messages:
        if isinstance(message, list) and len(message) == 2 and message[0] in _USER_ROLES:
            text = str(message[1])
        elif isinstance(message, dict):
            body = message.get("kwargs") or message.get("data") or message
            kind = body.get("type") or body.get("role") if isinstance(body, dict) else None
            if isinstance(body, dict) and (kind in _USER_ROLES or "HumanMessage" in str(
                    message.get("id", ""))) and isinstance(body.get("content"), str):
                text = body["content"]
    return text


def langchain_tool_output(value: str) -> str:
    """A LangChain tool result's content when the value is its serialised ToolMessage."""
    data = parse_json(value)
    if isinstance(data, dict):
        inner = data.get("output", data)
        if isinstance(inner, dict):
            body = inner.get("kwargs") or inner.get("data") or inner
            if isinstance(body, dict) and isinstance(body.get("content"), str):
                return str(body["content"])
    return value


def input_text(a: dict[str, Any], plain_fallback: bool) -> str | None:
    """The prompt: the last user message. `plain_fallback` also reads the span's whole input
    (`input.value`, `traceloop.entity.input`) when it is a message or plain text."""
    text = _genai_messages(a.get("gen_ai.input.messages"), ("user",), last=True)
    text = text or _indexed_user_text(a, "gen_ai.prompt", "role", "content")
    text = text or _indexed_user_text(a, "llm.input_messages", "message.role", "message.content")
    if text is None and plain_fallback:
        raw = first_str(a, "input.value", "traceloop.entity.input")
        if raw is not None:
            parsed = parse_json(raw)
            text = raw if parsed is None else langchain_user_text(parsed)
    return clip(text, MAX_TEXT) if text else None


def output_text(a: dict[str, Any]) -> str | None:
    """The model's answer: its text, else the tool calls it asked for. `output.value` only
    when it is not JSON (OpenInference puts the whole raw response there)."""
    text = _genai_messages(a.get("gen_ai.output.messages"), ("assistant",), last=False)
    text = text or first_str(
        a, "gen_ai.completion.0.content", "llm.output_messages.0.message.content")
    text = text or _indexed_tool_calls(
        a, "llm.output_messages.0.message.tool_calls", "tool_call.function.name",
        "tool_call.function.arguments")
    text = text or _indexed_tool_calls(a, "gen_ai.completion.0.tool_calls", "name", "arguments")
    if text is None:
        raw = first_str(a, "gen_ai.completion", "output.value")
        if raw is not None and a.get("output.mime_type") != "application/json" and (
                parse_json(raw) is None):
            text = raw
    return clip(text, MAX_TEXT) if text else None
