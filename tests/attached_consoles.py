"""Several real consoles running at once under Pilot, each attached to its own server: a
console a test can look at as its operator does (roster, sessions, log, header)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

from textual.pilot import Pilot

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.fleet import FleetScreen
from agentops_tui.tui.widgets.log_tail import LogTail
from agentops_tui.tui.widgets.status_line import StatusLine
from agentops_tui.tui.widgets.virtual_table import VirtualTable

from conftest import ServeProcess
from waiting import until


@dataclass
class Console:
    """A console app under Pilot, attached to one replica. Two run in one event loop: a
    widget finds its app through a context variable, so every look at this console's widgets
    from the test is made with that variable pointing at this console's app."""

    app: AgentOpsApp
    pilot: Pilot[None]

    @contextmanager
    def _looking(self) -> Iterator[FleetScreen]:
        with self.app._context():
            screen = self.app.screen
            assert isinstance(screen, FleetScreen), screen
            yield screen

    def header(self) -> str:
        with self._looking() as screen:
            shown = screen.query_one(StatusLine)._shown
            return str(shown) if shown is not None else ""

    def roster(self) -> dict[str, list[str]]:
        """Each agent row as drawn: status glyph, name, kind, model, sessions, tokens, cost
        (not `last seen`, which moves with the clock)."""
        with self._looking() as screen:
            table = screen.query_one("#roster", VirtualTable)
            return {key: [text for text, _ in table._cells(key)[1:8]] for key in table.keys}

    def sessions(self) -> dict[str, list[str]]:
        """Each row of the highlighted agent's sessions: glyph, title, status, model, tokens,
        cost (not the running time)."""
        with self._looking() as screen:
            table = screen.query_one("#sessions", VirtualTable)
            return {key: [text for text, _ in table._cells(key)[1:7]] for key in table.keys}

    def status_of(self, session_id: str) -> str | None:
        row = self.sessions().get(session_id)
        return row[2] if row is not None else None

    def feed(self) -> list[tuple[int, str, str]]:
        """The log pane's messages: sequence number, role, text."""
        with self._looking() as screen:
            return [(m.seq, m.role, m.content) for m in screen.query_one(LogTail).messages]

    async def show_agent(self, agent_id: str) -> None:
        await until(lambda: agent_id in self.roster(), what=f"{agent_id} on the roster")
        with self._looking() as screen:
            screen.query_one("#roster", VirtualTable).move_to(agent_id)
        await until(lambda: self._looking_at()[0] == agent_id, what=f"{agent_id} highlighted")

    async def select(self, agent_id: str, session_id: str) -> None:
        """As the operator does: the agent on the roster, then its session (the log shows
        it; the keys act on it)."""
        await self.show_agent(agent_id)
        await until(lambda: session_id in self.sessions(), what=f"{session_id} listed")
        with self._looking() as screen:
            table = screen.query_one("#sessions", VirtualTable)
            table.move_to(session_id)
            table.focus()
        await until(lambda: self._looking_at() == (agent_id, session_id),
                    what=f"{session_id} highlighted")

    def _looking_at(self) -> tuple[str | None, str | None]:
        with self._looking() as screen:
            return screen.agent_id, screen.session_id


@asynccontextmanager
async def consoles(token: str, *servers: ServeProcess) -> AsyncIterator[list[Console]]:
    """One console attached to each server, all running at once, each with its snapshot."""
    async with AsyncExitStack() as stack:
        attached = []
        for server in servers:
            app = create_app(Connection(server.url, token))
            pilot = await stack.enter_async_context(app.run_test(size=(140, 40)))
            attached.append(Console(app, pilot))
        for console, server in zip(attached, servers, strict=True):
            await until(lambda c=console: c.app.connection.status.state == "live"
                        and c.app.role is not None, what="each console to be live")
            # each console's widgets are looked at as its own (the header names its replica)
            host = server.url.split("://", 1)[1]
            await until(lambda c=console, h=host: h in c.header(),
                        what=f"the console on {host} to say so")
        yield attached
