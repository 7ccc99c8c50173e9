"""An agent instrumented with the OpenTelemetry SDK, exporting GenAI spans to the console.

Nothing here knows about agentops: it is plain OpenTelemetry (the SDK and the OTLP/HTTP
exporter, `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`) following
the GenAI semantic conventions. Each run is an `invoke_agent` span holding `chat` spans
(model and token usage), `execute_tool` spans (one fails now and then) and a nested
`invoke_agent` span for a research subagent. The console turns them into an agent, a
session with a child session, tokens, cost and tool calls.

Try it:

    agentops serve                                     # the backend on :8787
    export AGENTOPS_URL=http://127.0.0.1:8787
    export AGENTOPS_TOKEN=$(agentops token create --role operator)
    python examples/otel_agent.py --runs 3
    agentops tui --url $AGENTOPS_URL --token $AGENTOPS_TOKEN

Any OTLP exporter works the same way; with environment variables only:

    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$AGENTOPS_URL/v1/traces \
    OTEL_EXPORTER_OTLP_TRACES_HEADERS="Authorization=Bearer $AGENTOPS_TOKEN" your-agent
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer

MODEL = "claude-sonnet-4-5"
TOOLS = ["search_docs", "read_ticket", "run_query"]


def chat(tracer: Tracer, rng: random.Random, model: str = MODEL) -> None:
    with tracer.start_as_current_span(f"chat {model}", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": model,
    }) as span:
        time.sleep(rng.uniform(0.01, 0.05))  # the model thinks
        span.set_attribute("gen_ai.response.model", model)
        span.set_attribute("gen_ai.usage.input_tokens", rng.randint(1_000, 6_000))
        span.set_attribute("gen_ai.usage.output_tokens", rng.randint(100, 800))


def tool(tracer: Tracer, rng: random.Random, name: str) -> None:
    with tracer.start_as_current_span(f"execute_tool {name}", attributes={
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
    }) as span:
        time.sleep(rng.uniform(0.005, 0.03))
        if rng.random() < 0.2:
            span.set_status(Status(StatusCode.ERROR, f"{name} timed out"))


def run_agent(tracer: Tracer, rng: random.Random, turns: int) -> None:
    """One run of the support agent, with a research subagent halfway."""
    with tracer.start_as_current_span("invoke_agent support", attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support",
        "gen_ai.conversation.id": f"conv-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}",
        "gen_ai.request.model": MODEL,
    }):
        for turn in range(turns):
            chat(tracer, rng)
            tool(tracer, rng, TOOLS[turn % len(TOOLS)])
            if turn == turns // 2:
                with tracer.start_as_current_span("invoke_agent research", attributes={
                    "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "research",
                }):
                    chat(tracer, rng, "claude-haiku-4-5")
                    tool(tracer, rng, "web_search")
        chat(tracer, rng)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("AGENTOPS_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--token", default=os.environ.get("AGENTOPS_TOKEN"),
                        help="operator token (default: $AGENTOPS_TOKEN)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--service", default="support-desk", help="service.name of the spans")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set AGENTOPS_TOKEN (agentops token create --role operator)")
    exporter = OTLPSpanExporter(
        endpoint=f"{args.url.rstrip('/')}/v1/traces",
        headers={"Authorization": f"Bearer {args.token}"},
        compression=Compression.Gzip,
        timeout=10,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": args.service}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    tracer = provider.get_tracer("otel_agent_example")
    rng = random.Random(args.seed)
    for _ in range(args.runs):
        run_agent(tracer, rng, args.turns)
    provider.shutdown()  # exports what is left
    print(f"sent {args.runs} runs to {args.url}/v1/traces", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
