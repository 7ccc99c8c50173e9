"""Span → ingest events, by the OTel GenAI semantic conventions first, then the older names
and two popular instrumentations (OpenLLMetry, OpenInference).

A span is one of four kinds:

- `agent`: `gen_ai.operation.name=invoke_agent`, `traceloop.span.kind` workflow/agent, or
  `openinference.span.kind=AGENT`, unless `frameworks.py` knows it for a framework's wrapper
  (a LangGraph node, a workflow root); also a LangGraph run nested in a node, as OpenLLMetry
  traces it. It becomes an agent (one per agent name and service) and a session: one run.
- `llm`: operation chat/text_completion/generate_content/embeddings, `traceloop.span.kind=llm`,
  `llm.request.type`, `openinference.span.kind` LLM/EMBEDDING, or a span that names a model
  provider (`gen_ai.provider.name`, deprecated `gen_ai.system`). It becomes token usage, the
  prompt (once per session) and the model's answer (or the tool calls it asked for).
- `tool`: operation execute_tool, `traceloop.span.kind=tool`, `openinference.span.kind=TOOL`.
  It becomes a tool call with its duration and ok/error.
- `other` (chains, tasks, graph nodes, HTTP handlers): nothing of its own, but it links
  children to parents.

The events of `llm` and `tool` spans are made here without a session: which session they
belong to (the nearest enclosing agent span) is decided in `spans.py`. Their text is
redacted here, as it is made: such events may wait in `otlp_spans` for their parent span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentops_tui.server.ingest.otlp import frameworks
from agentops_tui.server.ingest.otlp.decode import STATUS_ERROR, SpanRecord
from agentops_tui.server.ingest.otlp.texts import (
    MAX_OUTPUT,
    MAX_TEXT,
    clip,
    first_float,
    first_int,
    first_str,
    input_text,
    langchain_tool_output,
    output_text,
)
from agentops_tui.server.redact import redact_optional
from agentops_tui.wire_values import MAX_COST_USD, MAX_DURATION_MS

AGENT, LLM, TOOL, OTHER = "agent", "llm", "tool", "other"
# the prompt of a run is one message per session, whichever of its spans reports it first:
# `spans.py` puts the session in this key once it knows it
PROMPT_KEY = "otlp:session-prompt"

_LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings", "completion"}
# GenAI operations that are neither model calls nor agent runs, though they name a provider
_NOT_MODEL_CALLS = {"execute_task", "create_agent", "invoke_workflow"}
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
        return OTHER if frameworks.is_wrapper(span) else AGENT
    if frameworks.nested_graph_name(span):
        return AGENT
    if op == "execute_tool" or loop == "tool" or oi == "TOOL":
        return TOOL
    if op in _LLM_OPERATIONS or loop == "llm" or oi in ("LLM", "EMBEDDING"):
        return LLM
    if op in _NOT_MODEL_CALLS or loop == "task":
        return OTHER
    if "llm.request.type" in a or "gen_ai.system" in a or "gen_ai.provider.name" in a:
        return LLM
    return OTHER


def service_name(span: SpanRecord) -> str:
    name = str(span.resource.get("service.name") or "")
    return "" if name.startswith("unknown_service") else clip(name, 100)


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
    graph = frameworks.nested_graph_name(s)
    name = graph or first_str(
        a, "gen_ai.agent.name", "agent.name", "traceloop.entity.name", "traceloop.workflow.name"
    ) or s.name.removeprefix("invoke_agent").strip() or d.service or "agent"
    name = clip(name, 200)
    stable_id = None if frameworks.run_scoped_agent_id(s) else first_str(a, "gen_ai.agent.id")
    agent_id = stable_id or (f"{d.service}:{name}" if d.service else name)
    d.agent_id = id_from(agent_id)
    d.session_id = session_id_for(s)
    model = redact_optional(
        first_str(a, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"))
    # OpenLLMetry names a LangGraph run `<graph>.workflow` / `execute_task <graph>`
    title = name if graph or s.name == f"{name}.workflow" else (s.name or name)
    conversation = first_str(a, "gen_ai.conversation.id", "session.id")
    if conversation:
        title = f"{title} [conversation {conversation}]"
    start = s.start or None
    end = s.end or None
    # no `capabilities`: a new agent gets its framework's, none (spans only report), and
    # an agent that also registered through the SDK keeps the actions it declared there
    d.opening = [
        {"type": "agent.registered", "agent_id": d.agent_id, "name": name,
         "kind": "workflow" if loop == "workflow" and "gen_ai.agent.name" not in a else "agent",
         "framework": framework(s), "model": model, "ts": start, "event_key": key(s, "agent")},
        {"type": "session.started", "session_id": d.session_id, "agent_id": d.agent_id,
         "model": model, "title": clip(title, 1000), "ts": start, "event_key": key(s, "start")},
    ]
    prompt = input_text(a, plain_fallback=True)
    if prompt:
        d.opening.append({"type": "session.message", "session_id": d.session_id, "role": "user",
                          "content": prompt, "ts": start,
                          "event_key": f"otlp:{d.session_id}:prompt"})
    failed = s.status_code == STATUS_ERROR
    ending: dict[str, Any] = {
        "type": "session.ended", "session_id": d.session_id,
        "status": "failed" if failed else "completed", "ts": end, "event_key": key(s, "end"),
    }
    if failed:
        ending["error"] = clip(
            s.status_message or s.exception or first_str(a, "error.type") or "span status ERROR",
            MAX_TEXT)
    d.closing = [ending]


def _llm(d: SpanDraft) -> None:
    s, a = d.span, d.span.attrs
    model = redact_optional(first_str(
        a, "gen_ai.response.model", "gen_ai.request.model", "llm.response.model",
        "llm.request.model", "llm.model_name",
    ))
    inp = first_int(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                    "llm.usage.prompt_tokens", "llm.token_count.prompt")
    out = first_int(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                    "llm.usage.completion_tokens", "llm.token_count.completion")
    total = first_int(a, "llm.usage.total_tokens", "gen_ai.usage.total_tokens",
                      "llm.token_count.total")
    cache_read = first_int(
        a, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read") or 0
    cache_write = first_int(
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
    prompt = input_text(a, plain_fallback=False)
    if prompt:  # the run's prompt, if no span of the run reported it before
        d.events.append({"type": "session.message", "role": "user", "content": prompt,
                         "ts": s.start or ts, "event_key": PROMPT_KEY})
    if inp is not None or out is not None or cache_read or cache_write:
        uncached = inp or 0
        if uncached >= cache_read + cache_write:
            uncached -= cache_read + cache_write  # the conventions count cached input in it
        usage: dict[str, Any] = {
            "type": "session.usage", "model": model, "input_tokens": uncached,
            "output_tokens": out or 0, "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write, "ts": ts, "event_key": key(s, "usage"),
        }
        cost = first_float(a, "gen_ai.usage.cost", "llm.cost.total")
        if cost is not None and 0 <= cost <= MAX_COST_USD:  # else priced from the table
            usage["cost_usd"] = cost
        latency = (s.end - s.start) * 1000 if s.start and s.end else None
        if latency is not None and 0 <= latency <= MAX_DURATION_MS:  # else not this call's
            usage["latency_ms"] = latency
        d.events.append(usage)
    answer = output_text(a)
    if answer:
        d.events.append({"type": "session.message", "role": "assistant", "content": answer,
                         "ts": ts, "event_key": key(s, "output")})


def _tool(d: SpanDraft) -> None:
    s, a = d.span, d.span.attrs
    name = first_str(a, "gen_ai.tool.name", "tool.name", "traceloop.entity.name") or (
        s.name.removeprefix("execute_tool").strip() or "tool")
    duration = max(0.0, (s.end - s.start) * 1000) if s.start and s.end else None
    if duration is not None and duration > MAX_DURATION_MS:
        duration = None  # a start time that cannot be this call's
    failed = s.status_code == STATUS_ERROR
    output = (
        s.status_message or s.exception or first_str(a, "error.type")
        if failed else first_str(a, "gen_ai.tool.call.result", "output.value",
                                  "traceloop.entity.output")
    )
    if output and not failed:
        output = langchain_tool_output(output)
    d.events.append({
        "type": "session.tool_call", "tool": clip(name, 200),
        "status": "error" if failed else "ok",
        "duration_ms": duration, "output": clip(output, MAX_OUTPUT) if output else None,
        "ts": s.end or None, "event_key": key(s, "tool"),
    })
