"""Shared pieces for console tests: a fixed fleet, a frozen clock, waiting under Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from textual.pilot import Pilot

# Every timestamp in the seeded fleet is relative to this: Friday 2036-02-01 08:00 UTC. The
# console's clock is pinned to it; the server's clock is pinned only for the Costs, Alerts and
# Audit snapshots, so elsewhere the seeded fleet must stay in the server's future (nothing is
# stale, late or offline yet). Moving it means updating the snapshots deliberately.
FROZEN = 2_085_465_600.0


def frozen_clock() -> float:
    return FROZEN


class PinnedClock:
    """A server's notion of now that only the test moves (`ServerSettings.clock`)."""

    def __init__(self, t: float = FROZEN) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _ev(type_: str, ts_offset: float, **kw: Any) -> dict[str, Any]:
    return {"type": type_, "ts": FROZEN + ts_offset, **kw}


def seeded_events() -> list[dict[str, Any]]:
    """A small fleet with every status, a three-level subagent tree, costs and a log."""
    ev = [
        _ev("agent.registered", -600, agent_id="ag-coder", name="coder-1", kind="coder",
            model="claude-sonnet-4-5"),
        _ev("agent.registered", -600, agent_id="ag-review", name="reviewer-1", kind="reviewer",
            model="gpt-5"),
        _ev("agent.registered", -600, agent_id="ag-triage", name="triager-1", kind="triager",
            model="claude-haiku-4-5"),
        _ev("agent.registered", -600, agent_id="ag-research", name="researcher-1",
            kind="researcher", model="gemini-2.5-pro"),
        _ev("session.started", -500, session_id="se-root", agent_id="ag-coder",
            task_id="wt_login", title="fix login timeout"),
        _ev("session.started", -400, session_id="se-child", agent_id="ag-research",
            parent_session_id="se-root", title="research cookie flags"),
        _ev("session.started", -300, session_id="se-grand", agent_id="ag-review",
            parent_session_id="se-child", title="review patch"),
        _ev("session.started", -200, session_id="se-wait", agent_id="ag-review",
            title="approve release notes"),
        _ev("session.usage", -190, session_id="se-root", model="claude-sonnet-4-5",
            input_tokens=120_000, output_tokens=8_000),
        _ev("session.usage", -180, session_id="se-child", model="gemini-2.5-pro",
            input_tokens=40_000, output_tokens=2_000),
        _ev("session.usage", -170, session_id="se-grand", model="gpt-5",
            input_tokens=10_000, output_tokens=1_000),
        _ev("session.tool_call", -160, session_id="se-root", tool="Read", duration_ms=12),
        _ev("session.tool_call", -150, session_id="se-root", tool="Bash", duration_ms=900),
        _ev("session.status", -140, session_id="se-wait", status="waiting",
            detail="needs a human to confirm the wording"),
        _ev("session.ended", -130, session_id="se-child", status="failed",
            error="rate limited by the search API"),
    ]
    for i in range(1, 13):
        ev.append(_ev("session.message", -120 + i, session_id="se-root", role="assistant",
                      content=f"step {i}: reading auth/session.py and checking cookie flags"))
    return ev


def seed(client: httpx.Client) -> None:
    r = client.post("/api/v1/ingest", json={"events": seeded_events()})
    assert r.status_code == 202, r.text


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0,
                what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def select_in_fleet(app: Any, pilot: Pilot[None], agent: str, session: str) -> None:
    """On the Fleet screen: highlight `agent` in the roster, then focus its `session`."""
    from agentops_tui.tui.widgets.virtual_table import VirtualTable

    roster = app.screen.query_one("#roster", VirtualTable)
    await until(pilot, lambda: agent in roster.keys, what=f"{agent} listed")
    roster.move_to(agent)
    await pilot.pause()
    sessions = app.screen.query_one("#sessions", VirtualTable)
    await until(pilot, lambda: session in sessions.keys, what=f"{session} listed")
    sessions.move_to(session)
    sessions.focus()
    await pilot.pause()


def offered(app: Any) -> set[str]:
    """What the footer shows (`check_action` keeps refused bindings out of it)."""
    return {b.binding.description for b in app.screen.active_bindings.values()
            if b.binding.show}
