"""`agentops bench [--quick] [--json PATH] [--only NAME]`: run the suite, print a table.

Each benchmark runs in a fresh Python process (`--child NAME`), so one's threads, memory and
warm caches never colour another's figures. Exit status 1 when a figure misses its budget
(or a benchmark could not run), 0 otherwise; a figure that cannot be measured on this
machine (an optional comparison) is reported as not available and does not fail the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agentops_tui.bench import Result

Bench = Callable[[bool], list[Result]]
NAMES = ("ingest", "latency", "fanout", "tui", "control", "startup", "output", "otlp", "hooks",
         "notify", "postgres")
CHILD_TIMEOUT = 600


def _bench(name: str) -> Bench:
    from agentops_tui.bench import (
        console,
        fanout,
        hooks,
        ingest,
        notify,
        otlp,
        postgres,
        stream,
        terminal,
    )

    table: dict[str, Bench] = {
        "ingest": ingest.run, "latency": stream.latency, "fanout": fanout.fanout,
        "tui": console.tui, "control": console.control, "startup": terminal.startup,
        "output": terminal.output, "otlp": otlp.run, "hooks": hooks.run,
        "notify": notify.run, "postgres": postgres.run,
    }
    return table[name]


def run_child(name: str, quick: bool) -> list[Result]:
    """Run one benchmark in its own process; a crash becomes a failed result."""
    argv = [sys.executable, "-m", "agentops_tui.bench.runner", "--child", name]
    if quick:
        argv.append("--quick")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [Result(f"{name}_benchmark", None, "", "runs", False, None,
                       f"did not finish in {CHILD_TIMEOUT} s")]
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        try:
            return [Result(**r) for r in json.loads(lines[-1])]
        except (ValueError, TypeError):
            pass
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return [Result(f"{name}_benchmark", None, "", "runs", False, None, f"failed: {tail[:300]}")]


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: Sequence[Result]) -> str:
    rows = [("figure", "value", "unit", "budget", "baseline", "ok")]
    for r in results:
        ok = "n/a" if r.ok is None else ("ok" if r.ok else "MISS")
        rows.append((r.name, _fmt(r.value), r.unit, r.budget or "—", _fmt(r.baseline), ok))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in (1, 4) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(results: Sequence[Result]) -> str:
    return "\n".join(f"- {r.name}: {r.note}" for r in results if r.note)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="agentops bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (about 3 minutes)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    p.add_argument("--child", choices=NAMES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        results = _bench(args.child)(args.quick)
        print(json.dumps([r.to_json() for r in results]))
        return 0
    return run_suite(args.only or list(NAMES), quick=args.quick, json_path=args.json)


def run_suite(names: Sequence[str], *, quick: bool, json_path: str | None) -> int:
    results: list[Result] = []
    started = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"running {name} …", file=sys.stderr, flush=True)
        got = run_child(name, quick)
        results.extend(got)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(results))
    print()
    print(notes(results))
    print(f"\n{len(results)} figures in {time.perf_counter() - started:.0f} s "
          f"({'quick' if quick else 'full'} run)")
    if json_path:
        Path(json_path).write_text(json.dumps(
            {"quick": quick, "results": [r.to_json() for r in results]}, indent=2) + "\n")
    missed = [r.name for r in results if r.ok is False]
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
