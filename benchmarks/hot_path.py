"""Micro-benchmark of the ingest hot path, stage by stage, in µs of CPU per event.

    python benchmarks/hot_path.py [--events 20000]

Stages: decode + validate (the pydantic models against the msgspec structs), enrich,
the log's copy of an event's fields, encoding that copy (pydantic-core against msgspec),
the stream's SSE frame, and `Fleet.apply` per event type. One thread, no I/O: these are the
parts of a durable ingest that are pure Python work. The end-to-end figure is
`agentops bench --only ingest`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from agentops_tui.bench.load import Batches, seed_events


def per_event(run: Callable[[], object], events: int, repeat: int = 5) -> float:
    """The best of `repeat` runs of `run`, in µs per event."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()  # CPU time: other processes on the machine add none
        run()
        best = min(best, time.process_time() - start)
    return best / events * 1e6


def bodies(count: int, size: int = 1000) -> list[bytes]:
    batches = Batches(100, 1000, prefix="h")
    return [batches.body(size) for _ in range(max(count // size, 1))]


def decode_figures(body_list: list[bytes], events: int) -> dict[str, float]:
    from pydantic import TypeAdapter

    from agentops_tui.models import IngestBatch

    adapter: TypeAdapter[IngestBatch] = TypeAdapter(IngestBatch)
    out = {"decode_validate_pydantic": per_event(
        lambda: [adapter.validate_json(b) for b in body_list], events)}
    try:
        from agentops_tui.server.ingest.wire import decode_fast
    except ImportError:  # a tree without the structs
        return out
    out["decode_validate_msgspec"] = per_event(
        lambda: [decode_fast(b) for b in body_list], events)
    return out


def enrich_figures(body_list: list[bytes], events: int) -> dict[str, float]:
    """Redaction and pricing, then the log's copy of each event's fields."""
    from agentops_tui.pricing import PriceTable
    from agentops_tui.server.ingest import rest

    prices = PriceTable.load()

    def cost(usage: Any) -> Any:
        return prices.cost(usage.model, usage.input_tokens, usage.output_tokens,
                           usage.cache_read_tokens, usage.cache_write_tokens)

    batches = [rest.parse_batch(b) for b in body_list]
    out = {"enrich": per_event(lambda: [rest.enrich(b, cost) for b in batches], events)}
    copy = getattr(rest, "event_data", None)  # a tree without the structs has it here
    if copy is None:
        from agentops_tui.server.ingest.wire import event_data as copy
    out["event_data"] = per_event(
        lambda: [copy(e) for b in batches for e in b.events], events)
    return out


def encode_figures(datas: list[dict[str, Any]]) -> dict[str, float]:
    import msgspec
    from pydantic_core import to_json

    encode = msgspec.json.Encoder().encode
    n = len(datas)
    assert all(json.loads(to_json(d)) == json.loads(encode(d)) for d in datas[:200])
    return {
        "encode_pydantic_core_to_json": per_event(
            lambda: [to_json(d).decode() for d in datas], n),
        "encode_msgspec": per_event(lambda: [encode(d).decode() for d in datas], n),
        "encode_json_dumps": per_event(
            lambda: [json.dumps(d, separators=(",", ":")) for d in datas], n),
    }


def frame_figures(datas: list[dict[str, Any]]) -> dict[str, float]:
    """The stream's SSE frame of each event, built once for every client (`encode_frame`)."""
    try:
        from agentops_tui.server.bus import encode_frame
        from agentops_tui.server.store.write_context import LoggedEvent
    except ImportError:  # a tree without them
        return {}
    logged = [LoggedEvent(i, d["type"], 1.8e9 + i / 7, "default", d,
                          json.dumps(d, separators=(",", ":"))) for i, d in enumerate(datas)]
    return {"sse_frame": per_event(lambda: [encode_frame(e) for e in logged], len(logged))}


def fleet_figures(datas: list[dict[str, Any]]) -> dict[str, float]:
    """`Fleet.apply` per event type, over a fleet of 100 agents and 1000 sessions."""
    seed = seed_events(100, 1000, time.time())
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for data in datas:
        by_type[data["type"]].append(data)
    by_type["session.started"] = [
        {**e, "session_id": f"{e['session_id']}-{i}"} for i, e in enumerate(seed[100:] * 4)]
    by_type["agent.registered"] = seed[:100] * 10
    return {f"fleet_apply {type_}": min(_apply_time(seed, type_, items) for _ in range(5))
            / len(items) * 1e6 for type_, items in sorted(by_type.items())}


def _apply_time(seed: list[dict[str, Any]], type_: str, items: list[dict[str, Any]]) -> float:
    """CPU seconds to apply `items` to a freshly seeded fleet."""
    from agentops_tui.core.fleet import Changes, Fleet

    fleet = Fleet()
    for i, e in enumerate(seed):
        fleet.apply(i + 1, e["type"], e["ts"], e)
    changes = Changes()
    start = time.process_time()
    for i, data in enumerate(items):
        fleet.apply(10_000 + i, type_, 1.8e9 + i, data, changes)
    return time.process_time() - start


def pipeline_figure(body_list: list[bytes], events: int) -> dict[str, float]:
    """CPU of the whole durable path but HTTP (parse, enrich, the writer's group commit
    with every observer), one batch at a time, all threads counted."""
    import tempfile
    from pathlib import Path

    from agentops_tui.server.app import create_app
    from agentops_tui.server.ingest.rest import IngestJob, enrich, parse_batch

    with tempfile.TemporaryDirectory(prefix="agentops-hot-path-") as tmp:
        from agentops_tui.server.context import ServerSettings

        app = create_app(ServerSettings(db_path=Path(tmp) / "hot.db"))
        ctx = app.state.ctx
        store = ctx.store
        store.start()
        try:
            seed = seed_events(100, 1000, time.time())
            for i in range(0, len(seed), 1000):
                part = json.dumps({"events": seed[i : i + 1000]}).encode()
                store.writer.submit(IngestJob(store, "default", parse_batch(part))).result()

            def cost(usage: Any) -> Any:
                return ctx.prices.cost(usage.model, usage.input_tokens, usage.output_tokens,
                                       usage.cache_read_tokens, usage.cache_write_tokens)

            start = time.process_time()
            for body in body_list:
                batch = parse_batch(body)
                enrich(batch, cost)
                store.writer.submit(IngestJob(store, "default", batch)).result()
            spent = time.process_time() - start
        finally:
            store.close()
    return {"whole path but HTTP (CPU, all threads)": spent / events * 1e6}


def logged_data(body_list: list[bytes]) -> list[dict[str, Any]]:
    """What `IngestJob` hands `emit`: each event's fields but `ts` and `event_key`."""
    out = []
    seq: dict[str, int] = defaultdict(int)
    for body in body_list:
        for event in json.loads(body)["events"]:
            event.pop("ts"), event.pop("event_key")
            if event["type"] == "session.message":
                seq[event["session_id"]] += 1
                event["seq"] = seq[event["session_id"]]
            out.append(event)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    body_list = bodies(args.events)
    events = sum(len(json.loads(b)["events"]) for b in body_list)
    datas = logged_data(body_list)
    figures = {**decode_figures(body_list, events), **enrich_figures(body_list, events),
               **encode_figures(datas), **frame_figures(datas),
               **pipeline_figure(body_list, events),
               **fleet_figures(datas)}
    mix = defaultdict(int)
    for data in datas:
        mix[data["type"]] += 1
    figures["fleet_apply (this mix)"] = sum(
        figures[f"fleet_apply {t}"] * c for t, c in mix.items()) / len(datas)
    for name, value in figures.items():
        print(f"{name:40s} {value:7.2f} µs/event")


if __name__ == "__main__":
    main()
