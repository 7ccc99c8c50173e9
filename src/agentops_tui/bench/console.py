"""The console under load (headless, through Pilot) and the pause round trip.

The app is the one `agentops tui` runs (`create_app` around a real `Connection`), fed by a
real server in another process. Repaints are timed by wrapping the app's display call (it is
handed every compositor update, after the render): a key's latency runs from sending it to
the first repaint after its action ran. The benchmark process holds only the console, so its
CPU time over wall time and its resident memory are the console's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from agentops_tui.bench import Result, check, percentile
from agentops_tui.bench.procs import (
    LoadProcess,
    ServerProcess,
    read_json_line,
    rss_mb,
    self_cpu_seconds,
    server_process,
)

AGENTS = 1000
SESSIONS = 10_000
RATE = 5000
MAX_KEY_P99_MS = 100.0
MAX_CORES = 0.6
MAX_RSS_MB = 250.0
MAX_PAUSE_P99_MS = 250.0


class Repaints:
    """Times of the app's screen updates (wraps `App._display`)."""

    def __init__(self, app: Any) -> None:
        self.times: list[float] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None:
                self.times.append(time.perf_counter())

        app._display = display

    def first_after(self, moment: float) -> float | None:
        for t in reversed(self.times):
            if t < moment:
                break
        later = [t for t in self.times if t > moment]
        return later[0] if later else None


async def until(pilot: Any, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def _keypresses(pilot: Any, table: Any, repaints: Repaints, count: int,
                      spacing: float) -> list[float]:
    """Latency of `count` cursor moves in `table`, each from key sent to repaint."""
    handled: list[float] = []
    original = table.action_cursor

    def action_cursor(delta: int) -> None:
        original(delta)
        handled.append(time.perf_counter())

    table.action_cursor = action_cursor
    out: list[float] = []
    try:
        for i in range(count):
            handled.clear()
            t0 = time.perf_counter()
            await pilot.press("down" if i % 2 == 0 else "up")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if handled and (t1 := repaints.first_after(handled[0])) is not None:
                    out.append(t1 - t0)
                    break
                await asyncio.sleep(0.002)
            await asyncio.sleep(spacing)
    finally:
        table.action_cursor = original
    return out


async def _tui_under_load(server: ServerProcess, seconds: float, presses: int
                          ) -> dict[str, Any]:
    from agentops_tui.client.connection import Connection
    from agentops_tui.tui.app import create_app

    load = LoadProcess(server, agents=AGENTS, sessions=SESSIONS, rate=RATE,
                       duration=seconds + 5, batch=100, concurrency=4)
    connection = Connection(server.url, server.token)
    app = create_app(connection)
    out: dict[str, Any] = {}
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            repaints = Repaints(app)
            await until(pilot, lambda: len(app.fleet.sessions) >= SESSIONS, 60, "the snapshot")
            roster: Any = app.screen.query_one("#roster")
            await until(pilot, lambda: len(roster.keys) >= AGENTS, 30, "the roster")
            roster.focus()
            await pilot.pause(0.5)
            # baseline: the same console, same fleet, no events arriving
            cpu0, wall0 = self_cpu_seconds(), time.perf_counter()
            out["idle_keys"] = await _keypresses(pilot, roster, repaints, 20, 0.1)
            out["idle_cores"] = (self_cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
            out["idle_rss"] = rss_mb()
            load.go()
            await pilot.pause(2.0)  # let the load settle
            applied0 = connection.state.events_applied
            cpu0, wall0 = self_cpu_seconds(), time.perf_counter()
            spacing = max(0.05, seconds / presses - 0.05)
            out["load_keys"] = await _keypresses(pilot, roster, repaints, presses, spacing)
            left = seconds - (time.perf_counter() - wall0)
            if left > 0:
                await pilot.pause(left)
            wall = time.perf_counter() - wall0
            out["load_cores"] = (self_cpu_seconds() - cpu0) / wall
            out["applied_per_s"] = (connection.state.events_applied - applied0) / wall
            out["rss"] = rss_mb()
            out["rss_peak"] = rss_mb(field="VmHWM")
            out["repaints_per_s"] = sum(1 for t in repaints.times if t >= wall0) / wall
            out["load"] = load.stop()
    finally:
        load.kill()
    return out


def tui(quick: bool) -> list[Result]:
    seconds = 12.0 if quick else 30.0
    presses = 40 if quick else 120
    with server_process() as server:
        m = asyncio.run(_tui_under_load(server, seconds, presses))
    idle99 = percentile(m["idle_keys"], 99) * 1000
    load99 = percentile(m["load_keys"], 99) * 1000
    sent = m["load"]["events_per_s"]
    feed = (f"{AGENTS} agents, {SESSIONS:,} sessions, {sent:,.0f} events/s sent, "
            f"{m['applied_per_s']:,.0f}/s applied by the console")
    return [
        check("tui_keypress_repaint_p99_ms", load99, "ms", at_most=MAX_KEY_P99_MS,
              baseline=idle99, note=f"baseline: same console with no events arriving; {feed}; "
              f"p50 {percentile(m['load_keys'], 50) * 1000:.0f} ms, {len(m['load_keys'])} keys"),
        check("tui_cpu_cores", m["load_cores"], "cores", at_most=MAX_CORES,
              baseline=m["idle_cores"], note=f"baseline: idle console; "
              f"{m['repaints_per_s']:.1f} repaints/s under load"),
        check("tui_rss_mb", m["rss_peak"], "MB", at_most=MAX_RSS_MB, baseline=m["idle_rss"],
              note=f"peak (VmHWM) of the console's process; baseline: RSS with the fleet "
              f"loaded, before the load; RSS at the end {m['rss']:.0f} MB"),
    ]


# ---- pause key → agent ack → shown -------------------------------------------------------

AGENT_ID = "bench-agent"


def _has_status(app: Any, session_id: str, status: str) -> bool:
    return bool(app.fleet.sessions[session_id].status == status)


class Drawn:
    """When a table's line for one row was rendered, and the text of one of its cells.

    Wraps the table's `render_line`, which Textual calls only to paint that line, so the
    first display after a line showing a new status is when an operator sees it, whichever
    path (a tick, a command's mark) asked for the repaint.
    """

    def __init__(self, table: Any, key: str, column: str) -> None:
        self.seen: list[tuple[float, str]] = []
        index = [c.title for c in table.columns].index(column)
        original = table.render_line

        def render_line(y: int) -> Any:
            strip = original(y)
            row = int(table.scroll_offset.y) + y - 1
            if y > 0 and 0 <= row < len(table.keys) and table.keys[row] == key:
                cells = table._shown.get(key)
                if cells is not None:
                    self.seen.append((time.perf_counter(), cells[index][0]))
            return strip

        table.render_line = render_line

    def first(self, text: str, since: float) -> float | None:
        """The first time after `since` the line was painted with `text` in the cell."""
        for moment, shown in self.seen:
            if moment > since and shown == text:
                return moment
        return None

    def has(self, text: str, since: float) -> bool:
        return self.first(text, since) is not None


def _repainted(repaints: Repaints, moment: float) -> bool:
    return repaints.first_after(moment) is not None


async def _pause_round_trips(server: ServerProcess, rounds: int) -> dict[str, Any]:
    import httpx

    from agentops_tui.client.connection import Connection
    from agentops_tui.tui.app import create_app

    agent = subprocess.Popen(
        [sys.executable, "-m", "agentops_tui.bench.agent", server.url, server.token,
         "--agent-id", AGENT_ID, "--sessions", "3"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out: dict[str, Any] = {"pause": [], "resume": [], "trips": []}
    try:
        assert agent.stdout is not None
        read_json_line(agent.stdout, "the benchmark agent")
        headers = {"Authorization": f"Bearer {server.token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
            trips = []
            for _ in range(50):
                t0 = time.perf_counter()
                await http.get("/api/v1/snapshot")
                trips.append(time.perf_counter() - t0)
            out["http"] = trips
        app = create_app(Connection(server.url, server.token))
        sid = f"{AGENT_ID}-s0"
        async with app.run_test(size=(120, 40)) as pilot:
            repaints = Repaints(app)
            await until(pilot, lambda: sid in app.fleet.sessions, 20, "the agent's sessions")
            roster: Any = app.screen.query_one("#roster")
            await until(pilot, lambda: AGENT_ID in roster.keys, 10, "the roster")
            roster.move_to(AGENT_ID)
            await pilot.pause(0.3)
            sessions: Any = app.screen.query_one("#sessions")
            await until(pilot, lambda: sid in sessions.keys, 10, "the sessions")
            sessions.move_to(sid)
            sessions.focus()
            drawn = Drawn(sessions, sid, "status")
            await pilot.pause(0.3)
            for _ in range(rounds):
                for key, status, name in (("p", "paused", "pause"), ("r", "running", "resume")):
                    wall0, t0 = time.time(), time.perf_counter()
                    await pilot.press(key)
                    await until(pilot, partial(_has_status, app, sid, status), 5,
                                f"the session {status}")
                    wall_seen, seen = time.time(), time.perf_counter()
                    # shown = the first display after the session's line was painted with
                    # the new status (often before this poll noticed the state had changed)
                    await until(pilot, partial(drawn.has, status, t0), 2, "the line painted")
                    painted = drawn.first(status, t0)
                    assert painted is not None
                    await until(pilot, partial(_repainted, repaints, painted), 2, "the repaint")
                    shown = repaints.first_after(painted)
                    assert shown is not None
                    out[name].append(shown - t0)
                    # the hops, so a slow round trip says where it lost its time
                    command = max((c for c in app.fleet.commands.values()
                                   if c.session_id == sid), key=lambda c: c.issued_at)
                    out["trips"].append({
                        "total": shown - t0, "ack": command.updated_at - wall0,
                        "state": wall_seen - command.updated_at,
                        "paint": max(0.0, painted - seen), "display": shown - painted,
                    })
                    await pilot.pause(0.1)
    finally:
        if agent.stdin is not None:
            agent.stdin.close()
        try:
            agent.wait(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
    return out


def control(quick: bool) -> list[Result]:
    rounds = 15 if quick else 50
    with server_process() as server:
        m = asyncio.run(_pause_round_trips(server, rounds))
    http99 = percentile(m["http"], 99) * 1000
    pauses = m["pause"]
    trips = m["trips"]
    acked = [trip["ack"] for trip in trips]
    streamed = [trip["state"] for trip in trips]
    worst = max(trips, key=lambda trip: trip["total"])
    hops = ", ".join(f"{hop} {worst[hop] * 1000:.0f}"
                     for hop in ("ack", "state", "paint", "display"))
    return [
        check("control_pause_ack_shown_p99_ms", percentile(pauses, 99) * 1000, "ms",
              at_most=MAX_PAUSE_P99_MS, baseline=http99,
              note=f"baseline: GET /snapshot round trip p99 on the same server; p50 "
              f"{percentile(pauses, 50) * 1000:.0f} ms over {len(pauses)} pauses; resume p99 "
              f"{percentile(m['resume'], 99) * 1000:.0f} ms; key to the agent's ack p50/p99 "
              f"{percentile(acked, 50) * 1000:.0f}/{percentile(acked, 99) * 1000:.0f}"
              f" ms; ack to the console's state p99 {percentile(streamed, 99) * 1000:.0f} ms"
              f"; slowest round trip {worst['total'] * 1000:.0f} ms ({hops} ms)"
              "; includes the console's 10 Hz tick"),
    ]

