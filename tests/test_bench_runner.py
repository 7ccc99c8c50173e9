"""The benchmark runner's own logic (the benchmarks themselves run with `agentops bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentops_tui.bench import Result, check, percentile, runner, unavailable
from agentops_tui.cli import build_parser

from postgres_cluster import Cluster


def test_budgets_and_percentiles() -> None:
    assert check("x", 60_000, "events/s", at_least=50_000).ok is True
    assert check("x", 60.0, "ms", at_most=50).ok is False
    assert check("x", 1.0, "ms").ok is None
    assert unavailable("x", "x", ">= 3", "no Phoenix").ok is None
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 50) == 5.0


def test_suite_reports_a_missed_budget(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    figures = {
        "ingest": [check("ingest_http_events_per_s", 40_000, "events/s", at_least=50_000,
                         baseline=120_000.0)],
        "otlp": [unavailable("ingest_otlp_vs_phoenix", "x", ">= 3", "no Phoenix")],
    }
    monkeypatch.setattr(runner, "run_child", lambda name, quick: figures[name])
    out = tmp_path / "out.json"
    assert runner.run_suite(["ingest", "otlp"], quick=True, json_path=str(out)) == 1
    table = capsys.readouterr().out
    assert "MISS" in table and "n/a" in table
    written = json.loads(out.read_text())["results"]
    assert {r["name"] for r in written} == {"ingest_http_events_per_s", "ingest_otlp_vs_phoenix"}
    assert set(written[0]) >= {"name", "value", "unit", "budget", "ok", "baseline"}
    figures["ingest"] = [Result("ingest_http_events_per_s", 60_000, "events/s", ">= 50000",
                                True, 120_000.0)]
    assert runner.run_suite(["ingest", "otlp"], quick=True, json_path=None) == 0


def test_cli_has_bench() -> None:
    args = build_parser().parse_args(["bench", "--quick", "--json", "o.json", "--only", "tui"])
    assert args.quick and args.json == "o.json" and args.only == ["tui"]


def test_every_benchmark_can_be_chosen_from_the_command_line() -> None:
    for name in runner.NAMES:
        assert build_parser().parse_args(["bench", "--only", name]).only == [name]


def test_the_hook_benchmark_times_the_installed_command_against_a_real_server() -> None:
    from agentops_tui.bench import hooks

    figures = {r.name: r for r in hooks.run(quick=True)}
    assert figures["hook_script_p99_ms"].budget == "<= 50"
    assert figures["hook_http_p99_ms"].budget == "<= 10"
    for figure in figures.values():
        assert figure.value is not None and figure.value > 0 and figure.baseline


def test_a_frame_counter_counts_each_frame_once_however_the_reads_split() -> None:
    from agentops_tui.bench.follow import FrameCounter

    stream = (b"retry: 2000\n: agentops stream\n\n"
              + b"".join(f"id: {i}\nevent: x\ndata: {{}}\n\n".encode() for i in range(1, 40))
              + b": too slow; reconnect with Last-Event-ID to resume\n\n")
    for size in (1, 3, 5, 7, 64, len(stream)):
        counter = FrameCounter()
        for at in range(0, len(stream), size):
            counter.feed(stream[at : at + size])
        assert (counter.frames, counter.cut_off) == (39, True), size


def test_durable_ingest_is_followed_by_a_stream_client_that_gets_every_event() -> None:
    from agentops_tui.bench import ingest

    rate, stats = ingest.http_ingest(0.5)
    assert rate > 0 and stats["sent"] > 0
    client = stats["client"]
    assert client["frames"][0] >= stats["expected_frames"] == 1100 + stats["sent"]
    assert client["cut_off"] == [False]


def test_fan_out_ramps_the_load_and_runs_the_stalled_client_check() -> None:
    from agentops_tui.bench import fanout

    plan = fanout.Plan(seconds=0.5, clients=2, rates=(200, 400), warmup=0.2,
                       stall_order=(False, True))
    figures = {r.name: r for r in fanout.fanout(True, plan)}
    ceiling = figures["fanout_ceiling_deliveries_per_s"]
    assert ceiling.budget == ">= 200000" and ceiling.value and ceiling.value > 0
    assert "ramp: 200 offered" in ceiling.note
    stalled = figures["fanout_with_stalled_client_vs_without"]
    assert stalled.budget == ">= 0.9" and stalled.value and stalled.value > 0
    assert figures["fanout_server_cpu_us_per_delivery"].value


def test_latency_across_two_replicas_streams_every_event_acknowledged_by_the_other(
        postgres: Cluster) -> None:
    from agentops_tui.bench import replicas

    figures = {r.name: r for r in replicas.measure(postgres, seconds=2.0)}
    p99 = figures["ingest_to_sse_two_replicas_p99_ms"]
    assert p99.budget == "<= 60" and p99.value and p99.value > 0 and p99.baseline
    assert "load on replica A, 10 clients on replica B" in p99.note
    assert "each client received all" in p99.note and "FAILED" not in p99.note
    assert figures["ingest_to_sse_two_replicas_p50_ms"].value


def test_a_stream_client_short_of_an_acknowledged_event_fails_the_latency_figure() -> None:
    from agentops_tui.bench.stream import Followers, latency_results

    followers = Followers(clients=2, latencies=[0.010, 0.020])
    followers.counts = [100, 99]
    stats = {"sent": 100, "post_p50_ms": 5.0, "post_p99_ms": 9.0, "events_per_s": 2000.0}
    p50, p99 = latency_results("x", followers, stats, at_most=60, where="here")
    assert p99.value == 20.0 and p99.ok is False
    assert "FAILED: 1 of 2 clients short of the 100 acknowledged events: client 2 got 99" \
        in p99.note
    followers.counts = [100, 100]
    assert latency_results("x", followers, stats, at_most=60, where="here")[1].ok is True
