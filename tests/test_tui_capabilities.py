"""The console offers only what the selected session's agent obeys, and says why not.

Pilot against a real server: an agent known only from OpenTelemetry spans, REST agents that
declared nothing (the seeded fleet), and an SDK-style agent that declares redirect.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.commands import AgentOpsCommands
from agentops_tui.tui.screens.details import SessionDetails
from agentops_tui.tui.screens.modals import HelpScreen, InjectScreen
from agentops_tui.tui.screens.tree import TreeScreen
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import frozen_clock, offered, seed, select_in_fleet, until

WATCH_ONLY = "it reports only through OpenTelemetry; its sessions can be watched, not acted on"
SESSION_KEYS = {"Pause", "Resume", "Inject", "Redirect", "Kill"}


def _otel_export() -> bytes:
    """A finished `invoke_agent` span of agent `writer` in service `support` (OTLP JSON)."""
    now = time.time()

    def attr(key: str, value: str) -> dict[str, Any]:
        return {"key": key, "value": {"stringValue": value}}

    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "support")]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
            "traceId": "3" * 32, "spanId": "c" * 16, "name": "invoke_agent writer", "kind": 1,
            "startTimeUnixNano": str(int((now - 1) * 1e9)),
            "endTimeUnixNano": str(int(now * 1e9)),
            "attributes": [attr("gen_ai.operation.name", "invoke_agent"),
                           attr("gen_ai.agent.name", "writer")],
            "status": {"code": 0},
        }]}],
    }]}).encode()


@asynccontextmanager
async def console(live: LiveServer) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None]]]:
    with live.client() as c:
        seed(c)
        r = c.post("/v1/traces", content=_otel_export(),
                   headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        r = c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "ag-sdk", "name": "planner-1",
             "framework": "agentops-sdk",
             "capabilities": ["pause", "resume", "inject", "redirect", "kill", "approve"]},
            {"type": "session.started", "session_id": "se-sdk", "agent_id": "ag-sdk",
             "title": "plan the release"}]})
        assert r.status_code == 202, r.text
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.fleet.agents) == 6, what="the snapshot")
        yield app, pilot


def _otel_session(app: AgentOpsApp) -> str:
    [sid] = [s.id for s in app.fleet.sessions.values() if s.agent_id == "support:writer"]
    return sid


def _audit(live: LiveServer) -> list[dict[str, Any]]:
    with live.client() as c:
        return list(c.get("/api/v1/audit", params={"action": "session."}).json()["entries"])


def _notices(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _palette(app: AgentOpsApp) -> set[str]:
    return {name for name, _, _ in AgentOpsCommands(app.screen)._commands()}


async def test_an_otel_session_is_watched_not_acted_on(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        sid = _otel_session(app)
        await select_in_fleet(app, pilot, "support:writer", sid)
        assert not SESSION_KEYS & offered(app)
        assert {"Mark", "Kill all", "Filter"} <= offered(app)
        assert not {"session: pause", "session: kill", "session: redirect"} & _palette(app)
        assert "session: kill all" in _palette(app)

        await pilot.press("p", "k", "R")
        await pilot.pause(0.3)
        assert app.screen.is_current and not isinstance(app.screen, InjectScreen)
        assert _audit(live) == []  # nothing was sent, not even to be refused
        assert f"agent writer cannot pause: {WATCH_ONLY}" in _notices(app)
        assert f"agent writer cannot kill: {WATCH_ONLY}" in _notices(app)

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.unavailable == (
            f"Not offered here: pause, resume, inject, redirect, kill — agent writer: "
            f"{WATCH_ONLY}")
        await pilot.press("escape")

        await pilot.press("enter")
        assert isinstance(app.screen, SessionDetails)
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "none: can be watched, not acted on — it reports only through OpenTelemetry" \
            in text
        await pilot.press("escape")

        # the same rules on the tree screen
        await pilot.press("2")
        tree = app.screen
        assert isinstance(tree, TreeScreen)
        table = tree.query_one("#tree", VirtualTable)
        await until(pilot, lambda: sid in table.keys, what="the span's session in the tree")
        table.move_to(sid)
        await pilot.pause()
        assert not SESSION_KEYS & offered(app)
        table.move_to("se-root")
        await pilot.pause()
        assert {"Pause", "Resume", "Inject", "Kill"} <= offered(app)


async def test_rest_and_sdk_sessions_offer_what_their_agents_obey(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        # a REST agent that declared nothing: the command channel, no redirect
        assert {"Pause", "Resume", "Inject", "Kill"} <= offered(app)
        assert "Redirect" not in offered(app)
        await pilot.press("R")
        await pilot.pause(0.2)
        assert "agent coder-1 cannot redirect: it registered as obeying only pause, resume, " \
            "inject, kill" in _notices(app)
        await pilot.press("p")
        await until(pilot, lambda: any(e["action"] == "session.pause" for e in _audit(live)),
                    what="the pause")

        await select_in_fleet(app, pilot, "ag-sdk", "se-sdk")
        assert SESSION_KEYS <= offered(app)
        assert "session: redirect" in _palette(app)
        await pilot.press("enter")
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "pause resume inject redirect kill approve" in text
        await pilot.press("escape")
        await pilot.press("R")
        assert isinstance(app.screen, InjectScreen)
        assert app.screen.title_text.startswith("Redirect session 'plan the release'")
        await pilot.press(*"fix the tests first", "enter")
        await until(pilot, lambda: any(e["action"] == "session.redirect" for e in _audit(live)),
                    what="the redirect")
        [entry] = [e for e in _audit(live) if e["action"] == "session.redirect"]
        assert entry["target"] == "se-sdk"
        with live.client() as c:
            commands = c.get("/api/v1/agents/ag-sdk/commands", params={"wait": 0}).json()
        assert [(cmd["action"], cmd["payload"]) for cmd in commands["commands"]] == [
            ("redirect", {"message": "fix the tests first"})]


async def test_marked_sessions_skip_the_agents_that_cannot(live: LiveServer) -> None:
    async with console(live) as (app, pilot):
        await select_in_fleet(app, pilot, "ag-coder", "se-root")
        await pilot.press("space")
        sid = _otel_session(app)
        await select_in_fleet(app, pilot, "support:writer", sid)
        await pilot.press("space")
        assert "Pause" in offered(app)  # one of the marked sessions can take it
        await pilot.press("p")
        await until(pilot, lambda: any("pause sent to 1 session" in n for n in _notices(app)),
                    what="the pause notice")
        [notice] = [n for n in _notices(app) if "pause sent to" in n]
        assert notice == ("pause sent to 1 session — ⏳ on the row until the agent acts "
                          f"(1 skipped: agent writer cannot pause: {WATCH_ONLY})")
        assert [e["target"] for e in _audit(live)] == ["se-root"]
