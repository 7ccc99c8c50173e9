"""Span → ingest events, by the OTel GenAI semantic conventions first, then the older names
and two popular instrumentations (OpenLLMetry, OpenInference).

A span is one of four kinds:

- `agent`: `gen_ai.operation.name=invoke_agent`, `traceloop.span.kind` workflow/agent, or
  `openinference.span.kind=AGENT`. It becomes an agent and a session of it.
- `llm`: operation chat/text_completion/generate_content/embeddings, `traceloop.span.kind=llm`,
  `llm.request.type`, `openinference.span.kind` LLM/EMBEDDING, or a span that names a model
  provider (`gen_ai.provider.name`, deprecated `gen_ai.system`). It becomes token usage and
  the model's answer as a message.
- `tool`: operation execute_tool, `traceloop.span.kind=tool`, `openinference.span.kind=TOOL`.
  It becomes a tool call with its duration and ok/error.
- `other` (chains, tasks, HTTP handlers): nothing of its own, but it links children to parents.

The events of `llm` and `tool` spans are made here without a session: which session they
belong to (the nearest enclosing agent span) is decided in `otlp_spans.py`. Their text is
redacted here, as it is made: such events may wait in `otlp_spans` for their parent span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import from_json

from agentops_tui.server.ingest.otlp.decode import STATUS_ERROR, SpanRecord
from agentops_tui.server.redact import redact, redact_optional
from agentops_tui.wire_values import MAX_COST_USD, MAX_DURATION_MS

AGENT, LLM, TOOL, OTHER = "agent", "llm", "tool", "other"
MAX_TEXT = 16_000
MAX_OUTPUT = 4_000

_LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings", "completion"}
_NOT_IN_ID = re.compile(r"[/\x00-\x1f\x7f-\x9f]")


@dataclass
class SpanDraft:
    """What a span turns into before it is placed in the tree."""

    span: SpanRecord
    kind: str
    service: str
    events: list[dict[str, Any]] = field(default_factory=list)  # llm/tool: no session_id yet
    agent_id: str | None = None  # agent spans
    session_id: str | None = None  # agent spans: the session they own
    opening: list[dict[str, Any]] = field(default_factory=list)  # agent: register + start
    closing: list[dict[str, Any]] = field(default_factory=list)  # agent: end


def key(span: SpanRecord, suffix: str) -> str:
    return f"otlp:{span.trace_id}:{span.span_id}:{suffix}"


def classify(span: SpanRecord) -> str:
    a = span.attrs
    op = str(a.get("gen_ai.operation.name") or "").lower()
    loop = str(a.get("traceloop.span.kind") or "").lower()
    oi = str(a.get("openinference.span.kind") or "").upper()
    if op == "invoke_agent" or loop in ("workflow", "agent") or oi == "AGENT":
        return AGENT
    if op == "execute_tool" or loop == "tool" or oi == "TOOL":
        return TOOL
    if op in _LLM_OPERATIONS or loop == "llm" or oi in ("LLM", "EMBEDDING"):
        return LLM
    if "llm.request.type" in a or "gen_ai.system" in a or "gen_ai.provider.name" in a:
        return LLM
    return OTHER


def service_name(span: SpanRecord) -> str:
    name = str(span.resource.get("service.name") or "")
    return "" if name.startswith("unknown_service") else _clip(name, 100)


def framework(span: SpanRecord) -> str:
    if any(k.startswith("traceloop.") for k in span.attrs):
        return "openllmetry"
    if "openinference.span.kind" in span.attrs:
        return "openinference"
    return "opentelemetry"


def draft(span: SpanRecord) -> SpanDraft:
    kind = classify(span)
    out = SpanDraft(span=span, kind=kind, service=service_name(span))
    if kind == AGENT:
        _agent(out)
    elif kind == LLM:
        _llm(out)
    elif kind == TOOL:
        _tool(out)
    return out


def id_from(text: str) -> str:
    """Attribute text made into an id: ids appear in URL paths, so no '/', no control
    characters, and not '.' or '..'."""
    cleaned = _NOT_IN_ID.sub("-", text)[:200]
    return cleaned.replace(".", "-") if cleaned in (".", "..") else cleaned


def session_id_for(span: SpanRecord) -> str:
    return f"otel-{span.trace_id}-{span.span_id}"


def _agent(d: SpanDraft) -> None:
    s, a = d.span, d.span.attrs
    loop = str(a.get("traceloop.span.kind") or "").lower()
    name = _first_str(
        a, "gen_ai.agent.name", "agent.name", "traceloop.entity.name", "traceloop.workflow.name"
    ) or s.name.removeprefix("invoke_agent").strip() or d.service or "agent"
    name = _clip(name, 200)
    agent_id = _first_str(a, "gen_ai.agent.id") or (f"{d.service}:{name}" if d.service else name)
    d.agent_id = id_from(agent_id)
    d.session_id = session_id_for(s)
    model = redact_optional(
        _first_str(a, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"))
    title = s.name or name
    conversation = _first_str(a, "gen_ai.conversation.id", "session.id")
    if conversation:
        title = f"{title} [conversation {conversation}]"
    start = s.start or None
    end = s.end or None
    # no `capabilities`: a new agent gets its framework's, none (spans only report), and
    # an agent that also registered through the SDK keeps the actions it declared there
    d.opening = [
        {"type": "agent.registered", "agent_id": d.agent_id, "name": name,
         "kind": "workflow" if loop == "workflow" else "agent", "framework": framework(s),
         "model": model, "ts": start, "event_key": key(s, "agent")},
        {"type": "session.started", "session_id": d.session_id, "agent_id": d.agent_id,
         "model": model, "title": _clip(title, 1000), "ts": start, "event_key": key(s, "start")},
    ]
    prompt = _input_text(a)
    if prompt:
        d.opening.append({"type": "session.message", "session_id": d.session_id, "role": "user",
                          "content": prompt, "ts": start, "event_key": key(s, "input")})
    failed = s.status_code == STATUS_ERROR
    ending: dict[str, Any] = {
        "type": "session.ended", "session_id": d.session_id,
        "status": "failed" if failed else "completed", "ts": end, "event_key": key(s, "end"),
    }
    if failed:
        ending["error"] = _clip(
            s.status_message or s.exception or _first_str(a, "error.type") or "span status ERROR",
            MAX_TEXT)
    d.closing = [ending]


def _llm(d: SpanDraft) -> None:
    s, a = d.span, d.span.attrs
    model = redact_optional(_first_str(
        a, "gen_ai.response.model", "gen_ai.request.model", "llm.response.model",
        "llm.request.model", "llm.model_name",
    ))
    inp = _first_int(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                     "llm.usage.prompt_tokens", "llm.token_count.prompt")
    out = _first_int(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                     "llm.usage.completion_tokens", "llm.token_count.completion")
    total = _first_int(a, "llm.usage.total_tokens", "gen_ai.usage.total_tokens",
                       "llm.token_count.total")
    cache_read = _first_int(
        a, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read") or 0
    cache_write = _first_int(
        a, "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write") or 0
    if total is not None:
        if inp is None and out is None:
            inp = total  # only a total: counted as input, the cheaper side
        elif out is None:
            out = max(0, total - (inp or 0))
        elif inp is None:
            inp = max(0, total - out)
    ts = s.end or None
    if inp is not None or out is not None or cache_read or cache_write:
        uncached = inp or 0
        if uncached >= cache_read + cache_write:
            uncached -= cache_read + cache_write  # the conventions count cached input in it
        usage: dict[str, Any] = {
            "type": "session.usage", "model": model, "input_tokens": uncached,
            "output_tokens": out or 0, "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write, "ts": ts, "event_key": key(s, "usage"),
        }
        cost = _first_float(a, "gen_ai.usage.cost", "llm.cost.total")
        if cost is not None and 0 <= cost <= MAX_COST_USD:  # else priced from the table
            usage["cost_usd"] = cost
        d.events.append(usage)
    answer = _output_text(a)
    if answer:
        d.events.append({"type": "session.message", "role": "assistant", "content": answer,
                         "ts": ts, "event_key": key(s, "output")})


def _tool(d: SpanDraft) -> None:
    s, a = d.span, d.span.attrs
    name = _first_str(a, "gen_ai.tool.name", "tool.name", "traceloop.entity.name") or (
        s.name.removeprefix("execute_tool").strip() or "tool")
    duration = max(0.0, (s.end - s.start) * 1000) if s.start and s.end else None
    if duration is not None and duration > MAX_DURATION_MS:
        duration = None  # a start time that cannot be this call's
    failed = s.status_code == STATUS_ERROR
    output = (
        s.status_message or s.exception or _first_str(a, "error.type")
        if failed else _first_text(a, "gen_ai.tool.call.result", "output.value",
                                   "traceloop.entity.output")
    )
    d.events.append({
        "type": "session.tool_call", "tool": _clip(name, 200),
        "status": "error" if failed else "ok",
        "duration_ms": duration, "output": _clip(output, MAX_OUTPUT) if output else None,
        "ts": s.end or None, "event_key": key(s, "tool"),
    })


# ---- attribute helpers ---------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """Redacted, then cut to `limit`: a secret cut first might no longer be recognised."""
    return redact(text)[:limit]


def _first_str(a: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = a.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def _first_int(a: dict[str, Any], *names: str) -> int | None:
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


def _first_float(a: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = a.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _first_text(a: dict[str, Any], *names: str) -> str | None:
    value = _first_str(a, *names)
    return _clip(value, MAX_TEXT) if value else None


def _messages_text(value: Any, roles: tuple[str, ...], last: bool) -> str | None:
    """Text of GenAI `gen_ai.input.messages` / `gen_ai.output.messages` (JSON or a list)."""
    if isinstance(value, str):
        try:
            value = from_json(value)  # bounded nesting: deep text is just text
        except ValueError:
            return str(value)
    if not isinstance(value, list):
        return None
    texts = []
    for message in value:
        if not isinstance(message, dict) or message.get("role", roles[0]) not in roles:
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            text = "".join(
                str(p.get("content", "")) for p in parts
                if isinstance(p, dict) and p.get("type", "text") == "text"
            )
        else:
            text = str(message.get("content") or "")
        if text:
            texts.append(text)
    if not texts:
        return None
    return texts[-1] if last else "\n".join(texts)


def _input_text(a: dict[str, Any]) -> str | None:
    text = _messages_text(a.get("gen_ai.input.messages"), ("user",), last=True)
    if text is None:
        for i in range(8):  # indexed prompts (OpenLLMetry): the last user one
            role = a.get(f"gen_ai.prompt.{i}.role")
            if role is None and f"gen_ai.prompt.{i}.content" not in a:
                break
            if role in (None, "user"):
                text = _first_str(a, f"gen_ai.prompt.{i}.content") or text
    text = text or _first_str(a, "input.value", "traceloop.entity.input")
    return _clip(text, MAX_TEXT) if text else None


def _output_text(a: dict[str, Any]) -> str | None:
    text = _messages_text(a.get("gen_ai.output.messages"), ("assistant",), last=False)
    text = text or _first_str(
        a, "gen_ai.completion.0.content", "llm.output_messages.0.message.content",
        "gen_ai.completion", "output.value",
    )
    return _clip(text, MAX_TEXT) if text else None
