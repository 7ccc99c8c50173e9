"""A real OpenClaw gateway on a stand-in model, a real agentops server, and `agentops connect
openclaw` between them: what the gateway runs shows up in agentops, and the operator's inject,
redirect, kill and spawn (from the API and from the console) reach the gateway. Then the bad
cases: a token either side refuses, no gateway, a gateway that restarts, a session the gateway
does not have."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openclaw_harness import (
    HOLD,
    NODE_BIN,
    OPENCLAW,
    REPLY,
    TOKEN,
    Bridge,
    Gateway,
    StandInModel,
    free_port,
)

from agentops_tui.client.connection import Connection
from agentops_tui.server.connectors.openclaw_mapping import message_events
from agentops_tui.tui.app import create_app
from agentops_tui.tui.screens.modals import InjectScreen
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import offered, until
from waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model() -> Iterator[StandInModel]:
    stand_in = StandInModel()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, model: StandInModel) -> Iterator[Gateway]:
    if not (OPENCLAW.exists() and (NODE_BIN / "node").exists()):
        pytest.skip("OpenClaw and Node 24 are not installed: npm ci --prefix tests/openclaw")
    gw = Gateway(tmp_path_factory.mktemp("openclaw"), model.url)
    gw.start()
    yield gw
    gw.stop()


def _get(c: httpx.Client, path: str) -> Any:
    response = c.get(path)
    return response.json() if response.status_code == 200 else None


def _session(c: httpx.Client, key: str) -> Any:
    return _get(c, f"/api/v1/sessions/openclaw:agent:main:{key}")


def _messages(c: httpx.Client, key: str) -> list[tuple[str, str]]:
    found = _get(c, f"/api/v1/sessions/openclaw:agent:main:{key}/messages") or {}
    return [(m["role"], m["content"]) for m in found.get("messages", [])]


def _command(c: httpx.Client, command_id: str) -> dict[str, Any] | None:
    events = c.get("/api/v1/events", params={"types": "command.updated", "limit": 5000})
    final = [e["data"] for e in events.json()["events"]
             if e["data"].get("id") == command_id and e["data"]["status"] in ("acked", "failed")]
    return final[-1] if final else None


def test_sessions_messages_and_tokens_appear_and_inject_and_kill_reach_the_gateway(
        gateway: Gateway, model: StandInModel, live: LiveServer, tmp_path: Path) -> None:
    # a session that ran before the bridge started is picked up with its transcript
    gateway.call("sessions.create", {"key": "before", "message": "Say hello"})
    wait_for(lambda: gateway.status("before") == "done", 60, what="the first run to finish")
    bridge = Bridge(tmp_path, gateway.url, TOKEN, live)
    try:
        with live.client() as c:
            wait_for(lambda: len(_messages(c, "before")) == 2, 30, what="the transcript")
            assert _messages(c, "before") == [("user", "Say hello"), ("assistant", REPLY)]
            before = _session(c, "before")
            assert (before["agent_id"], before["status"], before["model"]) == (
                "openclaw:main", "waiting", "stand-in-1")
            # tokens as the model reported them; a model without a price is marked so
            assert (before["input_tokens"], before["output_tokens"], before["priced"]) == (
                120, 7, False)
            agent = _get(c, "/api/v1/agents/openclaw:main")
            assert sorted(agent["capabilities"]) == ["inject", "kill", "redirect", "spawn"]
            assert _get(c, "/api/v1/agents/openclaw:gateway")["status"] == "idle"

            # a session started while the bridge runs arrives live, under its parent's key
            gateway.call("sessions.create", {"key": "live", "message": "Say hello again"})
            wait_for(lambda: ("assistant", REPLY) in _messages(c, "live"), 60,
                     what="the live session's reply")

            # inject: the operator's text is the session's next message, the model sees it
            command = c.post("/api/v1/sessions/openclaw:agent:main:before/inject",
                             json={"message": "operator note: use plan B"}).json()
            done = wait_for(lambda: _command(c, command["id"]), 30, what="the inject's ack")
            assert done["status"] == "acked", done
            wait_for(lambda: model.saw("operator note: use plan B"), 60,
                     what="the model to get the operator's note")
            wait_for(lambda: len(_messages(c, "before")) == 4, 60, what="the reply to it")
            assert _messages(c, "before")[2:] == [
                ("operator", "operator note: use plan B"), ("assistant", REPLY)]
            wait_for(lambda: _session(c, "before")["input_tokens"] == 240, 30,
                     what="the second turn's tokens")

            # redirect: stop whatever runs, take this instead
            command = c.post("/api/v1/sessions/openclaw:agent:main:live/redirect",
                             json={"message": "switch to the billing report"}).json()
            done = wait_for(lambda: _command(c, command["id"]), 30, what="the redirect's ack")
            assert done["status"] == "acked", done
            wait_for(lambda: model.saw("switch to the billing report"), 60,
                     what="the model to get the new instruction")
            wait_for(lambda: _messages(c, "live")[-2:] == [
                ("operator", "switch to the billing report"), ("assistant", REPLY)], 60,
                what="the reply to the new instruction")

            # spawn: a new gateway session with the operator's prompt, shown here with its
            # reply; the command is acknowledged with the session it became
            command = c.post("/api/v1/agents/openclaw:main/spawn",
                             json={"prompt": "Say hello from a spawned session"}).json()
            assert command["session_id"] is None, command
            done = wait_for(lambda: _command(c, command["id"]), 30, what="the spawn's ack")
            assert done["status"] == "acked", done
            key = done["session_id"].removeprefix("openclaw:agent:main:")
            assert key.startswith("spawn-") and gateway.status(key) is not None, done
            # stored before it was acknowledged: the console can name it at once
            assert _session(c, key)["agent_id"] == "openclaw:main"
            wait_for(lambda: _messages(c, key) == [
                ("user", "Say hello from a spawned session"), ("assistant", REPLY)], 60,
                what="the spawned session's transcript")
            # the bridge's own agent stands for the gateway: it starts nothing
            refused = c.post("/api/v1/agents/openclaw:gateway/spawn", json={"prompt": "hi"})
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "not_capable"

            # kill: a run the model is still working on stops, on the gateway and here
            gateway.call("sessions.create", {"key": "slow", "message": f"{HOLD} think long"})
            wait_for(lambda: (_session(c, "slow") or {}).get("status") == "running", 60,
                     what="the slow session to run")
            wait_for(lambda: model.saw(HOLD), 60, what="the slow turn to reach the model")
            command = c.post("/api/v1/sessions/openclaw:agent:main:slow/kill").json()
            done = wait_for(lambda: _command(c, command["id"]), 30, what="the kill's ack")
            assert done["status"] == "acked", done
            assert _session(c, "slow")["status"] == "killed"
            wait_for(lambda: gateway.status("slow") == "killed", 30,
                     what="the gateway to report the run killed")

            # a session the gateway does not have: the command fails, saying so
            c.post("/api/v1/ingest", json={"events": [{
                "type": "session.started", "session_id": "openclaw:agent:main:ghost",
                "agent_id": "openclaw:main"}]}).raise_for_status()
            command = c.post("/api/v1/sessions/openclaw:agent:main:ghost/inject",
                             json={"message": "anyone there?"}).json()
            done = wait_for(lambda: _command(c, command["id"]), 30, what="the failed inject")
            assert done["status"] == "failed"
            assert "no session 'agent:main:ghost'" in done["detail"]
    finally:
        log = bridge.stop()
    assert "Traceback" not in log, log


def test_a_token_agentops_refuses_stops_the_bridge_before_it_starts(live: LiveServer) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "agentops_tui", "connect", "openclaw", "--gateway",
         "ws://127.0.0.1:9", "--gateway-token", TOKEN, "--url", live.url, "--token", "wrong"],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert f"{live.url} refused the token (HTTP 401)" in run.stderr


def test_a_wrong_token_and_a_missing_gateway_are_named_on_the_bridge_agent(
        gateway: Gateway, live: LiveServer, tmp_path: Path) -> None:
    wrong = Bridge(tmp_path, gateway.url, "not-the-token", live, prefix="wrong")
    down = Bridge(tmp_path, f"ws://127.0.0.1:{free_port()}", TOKEN, live, prefix="down")
    try:
        with live.client() as c:
            refused = wait_for(lambda: (_get(c, "/api/v1/agents/wrong:gateway") or {}).get(
                "status") == "error" and _get(c, "/api/v1/agents/wrong:gateway"), 30,
                what="the wrong token to show")
            assert "token mismatch" in refused["name"], refused
            missing = wait_for(lambda: (_get(c, "/api/v1/agents/down:gateway") or {}).get(
                "status") == "offline" and _get(c, "/api/v1/agents/down:gateway"), 30,
                what="the missing gateway to show")
            assert "unreachable" in missing["name"], missing
    finally:
        wrong_log, down_log = wrong.stop(), down.stop()
    assert "gateway token mismatch" in wrong_log
    assert "the gateway is unreachable" in down_log


def _caught_up(gateway: Gateway, c: httpx.Client) -> dict[str, list[tuple[str, str]]] | None:
    """Every gateway session's transcript, once agentops holds as many messages of each as
    the gateway's history has entries to show (not an earlier inject's: agentops records
    the operator's message itself when the inject is acknowledged)."""
    shown = {}
    for row in gateway.call("sessions.list", {"limit": 500})["sessions"]:
        key = row["key"].removeprefix("agent:main:")
        history = gateway.call("chat.history", {"sessionKey": row["key"]})["messages"]
        shown[key] = _messages(c, key)
        if len(shown[key]) != sum(e["type"] == "session.message" for m in history
                                  for e in message_events("s", m, None)):
            return None
    return shown


def test_a_gateway_restart_loses_and_repeats_nothing(
        gateway: Gateway, live: LiveServer, tmp_path: Path) -> None:
    gateway.call("sessions.create", {"key": "steady", "message": "Say hello"})
    wait_for(lambda: gateway.status("steady") == "done", 60, what="the run to finish")
    bridge = Bridge(tmp_path, gateway.url, TOKEN, live)
    try:
        with live.client() as c:
            before = wait_for(lambda: _caught_up(gateway, c), 60, what="the catch-up")
            assert before["steady"] == [("user", "Say hello"), ("assistant", REPLY)]
            events = len(c.get("/api/v1/events", params={"limit": 5000}).json()["events"])
            gateway.stop()
            wait_for(lambda: _get(c, "/api/v1/agents/openclaw:gateway")["status"] == "offline",
                     30, what="the bridge to see the gateway go")
            assert _session(c, "steady")["status"] == "waiting"  # nothing shown is lost
            gateway.start()
            wait_for(lambda: _get(c, "/api/v1/agents/openclaw:gateway")["status"] == "idle",
                     60, what="the bridge to reconnect")
            gateway.call("sessions.create", {"key": "after", "message": "Say hello"})
            wait_for(lambda: ("assistant", REPLY) in _messages(c, "after"), 60,
                     what="a session after the restart")
            # the catch-up replayed every transcript: none of it was stored twice
            after = wait_for(lambda: _caught_up(gateway, c), 60, what="the second catch-up")
            assert {k: v for k, v in after.items() if k != "after"} == before
            assert _session(c, "steady")["input_tokens"] == 120
            later = c.get("/api/v1/events", params={"limit": 5000}).json()["events"]
            assert not [e for e in later[events:] if e["type"] == "session.message"
                        and e["data"]["session_id"] != "openclaw:agent:main:after"]
    finally:
        log = bridge.stop()
    assert "Traceback" not in log, log


async def test_a_spawn_from_the_console_starts_a_gateway_session(
        gateway: Gateway, live: LiveServer, tmp_path: Path) -> None:
    bridge = Bridge(tmp_path, gateway.url, TOKEN, live)
    app = create_app(Connection(live.url, live.token_for("operator", name="ops")))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            roster = app.screen.query_one("#roster", VirtualTable)
            await until(pilot, lambda: "openclaw:main" in roster.keys, 60,
                        what="the bridge's agent")
            roster.move_to("openclaw:main")
            await until(pilot, lambda: "Spawn" in offered(app), what="spawn offered")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, InjectScreen), what="the dialog")
            await pilot.press(*"Say hello from the console", "enter")

            def spawned() -> str | None:
                """The session the console's spawn started, once the bridge answered."""
                return next((c.session_id for c in app.fleet.commands.values()
                             if c.action == "spawn" and c.status == "acked"), None)

            await until(pilot, lambda: spawned() is not None, 60, what="the spawn's answer")
            sid = spawned()
            assert sid is not None
            await until(pilot, lambda: sid in app.fleet.sessions, 30,
                        what="the spawned session in the fleet")
            await until(pilot, lambda: any("OpenClaw main started session" in str(n.message)
                                           for n in app._notifications), 30,
                        what="the outcome notice")
            key = sid.removeprefix("openclaw:agent:main:")
        with live.client() as c:
            transcript = await asyncio.to_thread(
                wait_for, lambda: len(_messages(c, key)) == 2 and _messages(c, key), 60,
                what="the spawned session's transcript")
        assert transcript == [("user", "Say hello from the console"), ("assistant", REPLY)]
        assert await asyncio.to_thread(gateway.status, key) is not None
    finally:
        log = await asyncio.to_thread(bridge.stop)
    assert "Traceback" not in log, log
