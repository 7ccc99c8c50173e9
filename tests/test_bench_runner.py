"""The benchmark runner's own logic (the benchmarks themselves run with `agentops bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentops_tui.bench import Result, check, percentile, runner, unavailable
from agentops_tui.cli import build_parser


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
