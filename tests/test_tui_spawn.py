"""Spawn from the console: on the roster's agent, a prompt dialog, the request, and the outcome.

Pilot against a real server with a real SDK agent that starts sessions on request: the key
is offered only for an agent that lists `spawn` and a token that may act; the new session
the agent starts is named in a notice and shows under the agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.sdk import AsyncAgentClient, AsyncSession
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.commands import AgentOpsCommands
from agentops_tui.tui.screens.modals import HelpScreen, InjectScreen
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import LiveServer
from tui_support import frozen_clock, offered, seed, until


def _palette(app: AgentOpsApp) -> set[str]:
    return {name for name, _, _ in AgentOpsCommands(app.screen)._commands()}


def _notices(app: AgentOpsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@asynccontextmanager
async def console(live: LiveServer, role: str, *, read_only: bool = False
                  ) -> AsyncIterator[tuple[AgentOpsApp, Pilot[None], list[tuple[str, Any]]]]:
    """A console with the seeded fleet (agents that start no sessions on request) and
    `builder`, an SDK agent whose handler starts one for each prompt."""
    asked: list[tuple[str, Any]] = []

    async def on_spawn(prompt: str, task_id: str | None) -> AsyncSession:
        if prompt == "refuse":
            raise RuntimeError("the build farm is full")
        asked.append((prompt, task_id))
        session = agent.session(f"se-built-{len(asked)}", title=prompt)
        session.message(f"starting: {prompt}")
        return session

    with live.client() as c:
        seed(c)
    agent = AsyncAgentClient(live.url, live.token_for("operator"), "ag-builder",
                             name="builder", flush_interval=0.01, on_spawn=on_spawn)
    await agent.start()
    await agent.flush()
    app = create_app(Connection(live.url, live.token_for(role, name=f"{role}-1")),
                     clock=frozen_clock, read_only=read_only)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.fleet.agents) == 5, what="the snapshot")
            await until(pilot, lambda: app.role == role, what="the role")
            await pilot.pause(0.2)  # a tick: the footer follows the role
            yield app, pilot, asked
    finally:
        await agent.close()


async def _highlight(app: AgentOpsApp, pilot: Pilot[None], agent_id: str) -> None:
    roster = app.screen.query_one("#roster", VirtualTable)
    roster.move_to(agent_id)
    roster.focus()
    await until(pilot, lambda: getattr(app.screen, "agent_id", None) == agent_id,
                what=f"{agent_id} highlighted")
    await pilot.pause(0.1)


async def test_spawn_asks_for_a_prompt_and_tells_which_session_started(
        live: LiveServer) -> None:
    async with console(live, "operator") as (app, pilot, asked):
        await _highlight(app, pilot, "ag-builder")
        assert "Spawn" in offered(app)
        assert "agent: spawn" in _palette(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert ("Agent", [("n", "Spawn")]) in app.screen.sections
        await pilot.press("escape")

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, InjectScreen), what="the dialog")
        assert app.screen.title_text == "Spawn a new session of builder"
        await pilot.press(*"write the changelog", "enter")
        await until(pilot, lambda: asked == [("write the changelog", None)],
                    what="the agent to get the prompt")
        await until(pilot, lambda: "se-built-1" in app.fleet.sessions, what="the new session")
        await until(pilot, lambda: any("builder started session write the changelog" in n
                                       for n in _notices(app)), what="the outcome")
        assert any(n.startswith("spawn sent to builder") for n in _notices(app))
        sessions = app.screen.query_one("#sessions", VirtualTable)
        await until(pilot, lambda: "se-built-1" in sessions.keys,
                    what="the session under its agent")

        # the agent's refusal is told, with its reason
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, InjectScreen), what="the dialog")
        await pilot.press(*"refuse", "enter")
        await until(pilot, lambda: any("the agent's spawn handler failed: the build farm is "
                                       "full" in n for n in _notices(app)),
                    what="the failure")

        # an agent that starts no sessions on request: not offered; its key says why
        await _highlight(app, pilot, "ag-coder")
        assert "Spawn" not in offered(app)
        assert "agent: spawn" not in _palette(app)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, InjectScreen)
        assert "agent coder-1 cannot spawn: it registered as obeying only pause, resume, " \
               "inject, kill" in _notices(app)
    with live.client() as c:
        spawns = c.get("/api/v1/audit", params={"action": "agent.spawn"}).json()["entries"]
    assert [(e["actor"], e["payload"]["prompt"]) for e in reversed(spawns)] == [
        ("operator-1", "write the changelog"), ("operator-1", "refuse")]


async def test_a_viewer_is_not_offered_spawn(live: LiveServer) -> None:
    async with console(live, "viewer") as (app, pilot, asked):
        await _highlight(app, pilot, "ag-builder")
        assert "Spawn" not in offered(app)
        assert "agent: spawn" not in _palette(app)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, InjectScreen)
        assert "this token is a viewer: it can watch, not act" in _notices(app)
    assert asked == []


async def test_a_read_only_console_does_not_offer_spawn(live: LiveServer) -> None:
    async with console(live, "operator", read_only=True) as (app, pilot, asked):
        await _highlight(app, pilot, "ag-builder")
        assert "Spawn" not in offered(app)
        assert "agent: spawn" not in _palette(app)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, InjectScreen)
        assert "read-only console: actions that change agents are off" in _notices(app)
    assert asked == []
