"""OTLP/HTTP trace ingest (`POST /v1/traces`, protobuf), against Arize Phoenix in the same run.

Each request is an `ExportTraceServiceRequest` of 100 spans following the OpenTelemetry
GenAI conventions: per trace one `invoke_agent` span, chat spans with token usage and tool
spans. Four requests are in flight. agentops answers after the spans' events are durable.

Phoenix is optional: the comparison runs when a `phoenix` executable is found (the
`AGENTOPS_BENCH_PHOENIX` variable, else /tmp/phoenix-venv/bin/phoenix, else PATH). Phoenix
acknowledges an export before it writes the spans, so its figure is its acceptance rate,
which flatters it; the ratio is the lower bound of agentops' advantage.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from agentops_tui.bench import Result, check, unavailable
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


async def _export(url: str, headers: dict[str, str], bodies: list[bytes], seconds: float
                  ) -> tuple[float, int]:
    """Spans/s accepted at `url` (2xx), and the first failing status (0 if none)."""
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
    return accepted / (time.perf_counter() - start), failed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def phoenix_executable() -> str | None:
    candidates = [os.environ.get("AGENTOPS_BENCH_PHOENIX"), "/tmp/phoenix-venv/bin/phoenix",
                  shutil.which("phoenix")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _phoenix_rate(exe: str, bodies: list[bytes], seconds: float) -> float:
    with tempfile.TemporaryDirectory(prefix="agentops-bench-phoenix-") as tmp:
        port = _free_port()
        env = {**os.environ, "PHOENIX_WORKING_DIR": tmp, "PHOENIX_PORT": str(port),
               "PHOENIX_GRPC_PORT": str(_free_port()), "PHOENIX_HOST": "127.0.0.1"}
        proc = subprocess.Popen([exe, "serve"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Phoenix did not start")
                time.sleep(0.5)
            rate, failed = asyncio.run(_export(f"{base}/v1/traces", {}, bodies, seconds))
            if failed and not rate:
                raise RuntimeError(f"Phoenix refused the export (HTTP {failed})")
            return rate
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _agentops_rate(server: ServerProcess, bodies: list[bytes], seconds: float
                   ) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {server.token}"}
    return asyncio.run(_export(f"{server.url}/v1/traces", headers, bodies, seconds))


def run(quick: bool, phoenix: bool = True) -> list[Result]:
    seconds = 4.0 if quick else 12.0
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
        ours, failed = _agentops_rate(server, bodies, seconds)
    if failed and not ours:
        raise RuntimeError(f"POST /v1/traces failed with HTTP {failed}")
    exe = phoenix_executable() if phoenix else None
    theirs: float | None = None
    why = "no phoenix executable (set AGENTOPS_BENCH_PHOENIX)"
    if exe is not None:
        try:
            theirs = _phoenix_rate(exe, bodies, seconds)
        except (RuntimeError, OSError, httpx.HTTPError) as exc:
            why = f"Phoenix could not be measured: {exc}"
    results = [check("ingest_otlp_spans_per_s", ours, "spans/s", baseline=theirs,
                     note="protobuf exports of 100 GenAI spans, 202 after commit; baseline: "
                     "Arize Phoenix accepting the same exports" if theirs else why)]
    if theirs:
        results.append(check("ingest_otlp_vs_phoenix", ours / theirs, "x", at_least=MIN_RATIO,
                             baseline=theirs, note="agentops spans/s / Phoenix spans/s"))
    else:
        results.append(unavailable("ingest_otlp_vs_phoenix", "x", f">= {MIN_RATIO:g}", why))
    return results

