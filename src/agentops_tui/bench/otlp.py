"""OTLP/HTTP trace ingest (`POST /v1/traces`, protobuf), against Arize Phoenix in the same run.

Each request is an `ExportTraceServiceRequest` of 100 spans following the OpenTelemetry
GenAI conventions: per trace one `invoke_agent` span, chat spans with token usage and tool
spans. Four requests are in flight. agentops answers after the spans' events are durable.

The comparison with Phoenix runs when its executable is found (see `bench/phoenix.py`). It
acknowledges an export before it writes the spans: for a few seconds it accepts spans into
memory far faster than it stores them. Its figure is therefore the rate at which its stored
span count (its GraphQL API) rises while accepted spans are still queued, the same thing
agentops' figure counts; its acceptance rate is reported beside it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from agentops_tui.bench import Result, check, unavailable
from agentops_tui.bench.phoenix import phoenix_executable, running_phoenix, stored_spans
from agentops_tui.bench.procs import ServerProcess, server_process

SPANS_PER_REQUEST = 100
IN_FLIGHT = 4
MIN_RATIO = 3.0


def _attr(key: str, value: str | int) -> KeyValue:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(
        string_value=value)
    return KeyValue(key=key, value=any_value)


def build_request(n: int) -> bytes:
    """One export of `SPANS_PER_REQUEST` spans in traces of 10 (agent, 6 chats, 3 tools)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    now = time.time_ns()
    spans = []
    for t in range(SPANS_PER_REQUEST // 10):
        trace_id = (n * 1000 + t + 1).to_bytes(16, "big")
        root = (n * 100_000 + t * 100 + 1).to_bytes(8, "big")
        spans.append(Span(trace_id=trace_id, span_id=root, name="invoke_agent coder",
                          kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=now - 5_000_000,
                          end_time_unix_nano=now, attributes=[
                              _attr("gen_ai.operation.name", "invoke_agent"),
                              _attr("gen_ai.agent.name", f"coder-{t % 5}"),
                              _attr("gen_ai.request.model", "claude-sonnet-4-5")]))
        for i in range(9):
            span_id = (n * 100_000 + t * 100 + i + 2).to_bytes(8, "big")
            if i % 3 == 2:
                attrs = [_attr("gen_ai.operation.name", "execute_tool"),
                         _attr("gen_ai.tool.name", "Read")]
                name = "execute_tool Read"
            else:
                attrs = [_attr("gen_ai.operation.name", "chat"),
                         _attr("gen_ai.provider.name", "anthropic"),
                         _attr("gen_ai.request.model", "claude-sonnet-4-5"),
                         _attr("gen_ai.usage.input_tokens", 1200 + i),
                         _attr("gen_ai.usage.output_tokens", 300 + i)]
                name = "chat claude-sonnet-4-5"
            spans.append(Span(trace_id=trace_id, span_id=span_id, parent_span_id=root,
                              name=name, kind=Span.SPAN_KIND_CLIENT,
                              start_time_unix_nano=now - 4_000_000 + i * 100_000,
                              end_time_unix_nano=now - 3_900_000 + i * 100_000,
                              attributes=attrs))
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[_attr("service.name", "bench-agents")]),
        scope_spans=[ScopeSpans(spans=spans)])])
    body: bytes = request.SerializeToString()
    return body


@dataclass(frozen=True)
class Exported:
    spans: int  # answered 2xx
    seconds: float
    failed: int  # the first failing status, 0 if none

    @property
    def rate(self) -> float:
        return self.spans / self.seconds


@dataclass(frozen=True)
class PhoenixRates:
    accepted: float  # spans/s answered 2xx during the export window
    stored: float  # spans/s written to its database while accepted spans were queued
    queued: int  # accepted spans still unwritten when the count was last read


async def _export(url: str, headers: dict[str, str], bodies: list[bytes], seconds: float
                  ) -> Exported:
    """Post `bodies`, `IN_FLIGHT` at a time, for `seconds`; counts the spans answered 2xx."""
    headers = {**headers, "content-type": "application/x-protobuf"}
    accepted = 0
    failed = 0
    index = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:

        async def worker() -> None:
            nonlocal accepted, failed, index
            while time.perf_counter() - start < seconds and index < len(bodies):
                body = bodies[index]
                index += 1
                r = await http.post(url, content=body)
                if r.is_success:
                    accepted += SPANS_PER_REQUEST
                elif not failed:
                    failed = r.status_code

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return Exported(accepted, time.perf_counter() - start, failed)


def _phoenix_rates(exe: str, bodies: list[bytes], seconds: float, drain: float
                   ) -> PhoenixRates:
    """Export to Phoenix for `seconds`, then watch its stored count rise for `drain`."""
    with running_phoenix(exe) as base:
        start = time.perf_counter()
        exported = asyncio.run(_export(f"{base}/v1/traces", {}, bodies, seconds))
        if exported.failed and not exported.spans:
            raise RuntimeError(f"Phoenix refused the export (HTTP {exported.failed})")
        before, since = stored_spans(base), time.perf_counter()
        time.sleep(drain)
        after, until = stored_spans(base), time.perf_counter()
    if after <= 0:
        raise RuntimeError(f"Phoenix stored no span within {until - start:.0f} s")
    # While its queue is not empty Phoenix writes as fast as it can, so the rise over the
    # drain window is its sustained rate. Had it caught up early, the rise would understate
    # it; everything stored since the start, over all the time taken, then bounds it.
    stored = max((after - before) / (until - since), after / (until - start))
    return PhoenixRates(exported.rate, stored, max(exported.spans - after, 0))


def _agentops_rate(server: ServerProcess, bodies: list[bytes], seconds: float) -> Exported:
    headers = {"Authorization": f"Bearer {server.token}"}
    return asyncio.run(_export(f"{server.url}/v1/traces", headers, bodies, seconds))


def run(quick: bool, phoenix: bool = True) -> list[Result]:
    seconds = 4.0 if quick else 12.0
    drain = 6.0 if quick else 10.0
    try:
        bodies = [build_request(n) for n in range(int(seconds * 150))]
    except ImportError as exc:
        return [unavailable("ingest_otlp_spans_per_s", "spans/s", "",
                            f"opentelemetry-proto is not installed ({exc})")]
    with server_process() as server:
        probe = httpx.post(f"{server.url}/v1/traces", content=b"",
                           headers={"Authorization": f"Bearer {server.token}"})
        if probe.status_code in (404, 405):
            return [unavailable("ingest_otlp_spans_per_s", "spans/s", "",
                                "this server has no POST /v1/traces")]
        exported = _agentops_rate(server, bodies, seconds)
    if exported.failed and not exported.spans:
        raise RuntimeError(f"POST /v1/traces failed with HTTP {exported.failed}")
    ours = exported.rate
    exe = phoenix_executable() if phoenix else None
    theirs: PhoenixRates | None = None
    why = "no phoenix executable (set AGENTOPS_BENCH_PHOENIX)"
    if exe is not None:
        try:
            theirs = _phoenix_rates(exe, bodies, seconds, drain)
        except (RuntimeError, OSError, ValueError, KeyError, httpx.HTTPError) as exc:
            why = f"Phoenix could not be measured: {exc}"
    if theirs is None:
        return [check("ingest_otlp_spans_per_s", ours, "spans/s", note=why),
                unavailable("ingest_otlp_vs_phoenix", "x", f">= {MIN_RATIO:g}", why)]
    phoenix_note = (f"baseline: Arize Phoenix storing the same exports, {theirs.stored:,.0f} "
                    f"spans/s with {theirs.queued:,} accepted spans still queued; it accepted "
                    f"{theirs.accepted:,.0f} spans/s")
    return [
        check("ingest_otlp_spans_per_s", ours, "spans/s", baseline=theirs.stored,
              note="protobuf exports of 100 GenAI spans, 202 after commit; " + phoenix_note),
        check("ingest_otlp_vs_phoenix", ours / theirs.stored, "x", at_least=MIN_RATIO,
              baseline=theirs.stored, note="agentops spans/s stored / Phoenix spans/s stored"),
        check("ingest_otlp_vs_phoenix_accepted", ours / theirs.accepted, "x",
              baseline=theirs.accepted,
              note="agentops spans/s stored / Phoenix spans/s accepted into its queue"),
    ]
