"""Two `agentops serve` replicas on one real PostgreSQL database and a real console attached
to each at once: both consoles show the same fleet whichever replica an event came in by, an
operator on one console pauses an agent connected to the other replica, and a replica killed
mid-ingest loses nothing it acknowledged while the other replica's console carries on."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

import httpx

from agentops_tui.sdk import AsyncAgentClient
from agentops_tui.tui import render

from attached_consoles import consoles
from conftest import ServeProcess
from factories import agent, ended, message, started, usage
from waiting import until, wait_for

Replicas = tuple[ServeProcess, ServeProcess, str]


def _client(server: ServeProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=15,
                             headers={"Authorization": f"Bearer {token}"})


async def _ingest(client: httpx.AsyncClient, *events: dict[str, Any]) -> int:
    """Post a batch; the id of its last event."""
    response = await client.post("/api/v1/ingest", json={"events": list(events)})
    assert response.status_code == 202, response.text
    return int(response.json()["last_event_id"])


SESSIONS = {f"se-{n}": "ag-1" if n % 2 else "ag-2" for n in range(1, 7)}
ENDINGS = {"se-1": ended("se-1"), "se-2": ended("se-2", status="failed", error="tests fail"),
           "se-3": {"type": "session.status", "session_id": "se-3", "status": "waiting",
                    "detail": "needs a decision"}}
EXPECTED_STATUS = {"se-1": "completed", "se-2": "failed", "se-3": "waiting",
                   "se-4": "running", "se-5": "running", "se-6": "running"}


def _fleet_batches() -> list[list[dict[str, Any]]]:
    """Two agents, six sessions, four rounds of a message and usage each, three endings."""
    batches: list[list[dict[str, Any]]] = [
        [agent("ag-1", name="coder-1"), agent("ag-2", name="reviewer-1", kind="reviewer")]]
    batches += [[started(sid, owner, title=f"work {sid}")] for sid, owner in SESSIONS.items()]
    for round_ in range(4):
        for n, sid in enumerate(SESSIONS, start=1):
            batches.append([message(sid, content=f"{sid} step {round_}"),
                            usage(sid, inp=1000 * n + round_, out=10 * n)])
    batches += [[event] for event in ENDINGS.values()]
    return batches


async def test_both_consoles_show_the_fleet_whichever_replica_took_each_event(
        replicas: Replicas) -> None:
    a, b, token = replicas
    async with consoles(token, a, b) as (on_a, on_b), \
            _client(a, token) as ca, _client(b, token) as cb:
        head = 0
        for n, batch in enumerate(_fleet_batches()):  # alternately into A and into B
            head = max(head, await _ingest((ca, cb)[n % 2], *batch))
        for console in (on_a, on_b):
            await until(lambda c=console: c.app.fleet.last_event_id == head,
                        what="each console to apply every event")

        # the roster: the same agents with the same counts, tokens and cost on both, and
        # the figures are the store's
        expected_agents = {}
        for agent_id in ("ag-1", "ag-2"):
            own = [s for s, owner in SESSIONS.items() if owner == agent_id]
            answers = [(await ca.get(f"/api/v1/sessions/{sid}")).json() for sid in own]
            total = sum(s["input_tokens"] + s["output_tokens"] for s in answers)
            cost = sum(s["cost_usd"] for s in answers)
            assert cost > 0
            expected_agents[agent_id] = (render.tokens(total), render.money(cost))
        await until(lambda: on_a.roster() == on_b.roster() and set(on_a.roster()) == {
            "ag-1", "ag-2"}, what="the same roster on both consoles")
        for agent_id, (tokens, cost) in expected_agents.items():
            assert on_a.roster()[agent_id][5:7] == [tokens, cost]

        # each agent's sessions: the same rows, statuses, tokens and costs on both
        for agent_id in ("ag-1", "ag-2"):
            for console in (on_a, on_b):
                await console.show_agent(agent_id)
            own = {s for s, owner in SESSIONS.items() if owner == agent_id}
            await until(lambda own=own: set(on_a.sessions()) == set(on_b.sessions()) == own,
                        what=f"the sessions of {agent_id} on both consoles")
            assert on_a.sessions() == on_b.sessions()
            for sid, row in on_a.sessions().items():
                answer = (await cb.get(f"/api/v1/sessions/{sid}")).json()
                assert row[2] == EXPECTED_STATUS[sid] == answer["status"]
                assert row[4] == render.tokens(answer["input_tokens"] + answer["output_tokens"])
                assert row[5] == render.money(answer["cost_usd"])

        # one session's log: the same messages in the same order on both, and what comes in
        # by either replica afterwards is added to both
        for console in (on_a, on_b):
            await console.select("ag-2", "se-4")
        wanted = [(n + 1, "assistant", f"se-4 step {n}") for n in range(4)]
        for console in (on_a, on_b):
            await until(lambda c=console: c.feed() == wanted, what="the log of se-4")
        await _ingest(cb, message("se-4", content="by B"))
        await _ingest(ca, message("se-4", content="by A"))
        wanted += [(5, "assistant", "by B"), (6, "assistant", "by A")]
        for console in (on_a, on_b):
            await until(lambda c=console: c.feed() == wanted, what="the new messages in the log")


async def test_a_pause_from_the_console_on_b_reaches_the_agent_connected_to_a(
        replicas: Replicas) -> None:
    a, b, token = replicas
    async with consoles(token, a, b) as (on_a, on_b), \
            AsyncAgentClient(a.url, token, "ag-live", name="builder",
                             flush_interval=0.01) as sdk_agent:
        session = sdk_agent.session("se-live", title="live work")
        session.message("started")
        await sdk_agent.flush()
        for console in (on_a, on_b):
            await console.select("ag-live", "se-live")
            await until(lambda c=console: c.status_of("se-live") == "running",
                        what="the session running on each console")

        def command(action: str) -> str | None:
            """The status of the session's last `action` command, as console B knows it."""
            found = [c for c in on_b.app.fleet.commands.values()
                     if c.session_id == "se-live" and c.action == action]
            return found[-1].status if found else None

        await on_b.pilot.press("p")
        await until(lambda: session.paused, what="the agent to obey the pause")
        await until(lambda: command("pause") == "acked", what="the agent's ack")
        for console in (on_a, on_b):
            await until(lambda c=console: c.status_of("se-live") == "paused",
                        what="the session paused on each console")

        await on_a.pilot.press("r")
        await until(lambda: not session.paused, what="the agent to obey the resume")
        await until(lambda: command("resume") == "acked", what="the agent's ack")
        for console in (on_a, on_b):
            await until(lambda c=console: c.status_of("se-live") == "running",
                        what="the session running again on each console")
    async with _client(b, token) as cb:
        audit = (await cb.get("/api/v1/audit", params={"action": "session."})).json()
    assert sorted(e["action"] for e in audit["entries"]) == ["session.pause", "session.resume"]


class IngestIntoA(threading.Thread):
    """Posts batches of messages to one replica until it stops answering, keeping what each
    202 acknowledged: (first id, last id, contents)."""

    def __init__(self, server: ServeProcess, token: str) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.token = token
        self.acked: list[tuple[int, int, list[str]]] = []
        self.refused: list[int] = []
        self.stopped_by: Exception | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=15) as c:
            for n in range(100_000):
                contents = [f"a{n}-{k}" for k in range(20)]
                try:
                    r = c.post("/api/v1/ingest", json={"events": [
                        message(content=text) for text in contents]})
                except httpx.HTTPError as exc:
                    self.stopped_by = exc
                    return
                if r.status_code == 202:
                    body = r.json()
                    self.acked.append((body["first_event_id"], body["last_event_id"], contents))
                else:
                    self.refused.append(r.status_code)


async def test_a_replica_killed_mid_ingest_leaves_the_other_console_whole(
        replicas: Replicas) -> None:
    a, b, token = replicas
    async with consoles(token, a, b) as (on_a, on_b), _client(b, token) as cb:
        await _ingest(cb, agent("ag-1", name="coder-1"), started("se-1", title="busy"))
        for console in (on_a, on_b):
            await console.select("ag-1", "se-1")
        writer = IngestIntoA(a, token)
        writer.start()
        await until(lambda: len(writer.acked) >= 10, what="A to acknowledge some batches")
        a.proc.send_signal(signal.SIGKILL)
        await until(lambda: a.proc.poll() is not None and not writer.is_alive(),
                    what="A to die and its writer to stop")
        assert writer.stopped_by is not None and not writer.refused
        acked_through = writer.acked[-1][1]

        # every event A acknowledged is in B's log, and the log has no gap
        def log_head() -> int:
            with httpx.Client(base_url=b.url, headers={"Authorization": f"Bearer {token}"}) as c:
                return int(c.get("/api/v1/events", params={"limit": 1}).json()["last_event_id"])

        # (in a thread, so that both consoles go on meanwhile)
        await asyncio.to_thread(wait_for, lambda: log_head() >= acked_through, 15,
                                what="B's log to reach what A acknowledged")
        log: dict[int, dict[str, Any]] = {}
        after = 0
        while True:
            page = (await cb.get("/api/v1/events", params={"after": after, "limit": 1000})
                    ).json()
            log.update({e["id"]: e for e in page["events"]})
            if not page["has_more"]:
                break
            after = page["events"][-1]["id"]
        assert sorted(log) == list(range(1, max(log) + 1))
        for first, last, contents in writer.acked:
            assert [log[i]["data"]["content"] for i in range(first, last + 1)] == contents
        # the batch whose answer the kill cut off is in the log whole, or not at all
        unanswered = [log[i]["data"]["content"] for i in range(acked_through + 1, max(log) + 1)]
        assert unanswered in ([], [f"a{len(writer.acked)}-{k}" for k in range(20)])

        # console B has all of it, and keeps following what comes in by B
        head = max(log)
        await until(lambda: on_b.app.fleet.last_event_id == head, what="console B at the head")
        in_log = sum(1 for e in log.values() if e["type"] == "session.message")
        assert on_b.app.fleet.sessions["se-1"].messages == in_log
        await _ingest(cb, message(content="after the crash"))
        await until(lambda: on_b.feed()[-1:] == [(in_log + 1, "assistant", "after the crash")],
                    what="console B's log to show what came in after the crash")
        assert on_b.app.connection.status.state == "live"

        # console A says its backend is gone, and keeps what it had
        await until(lambda: ("Reconnecting" in on_a.header() or "Offline" in on_a.header())
                    and "cannot reach" in on_a.header(), what="console A to say it is cut off")
        assert on_a.app.is_running and on_a.app._exception is None
        assert "ag-1" in on_a.roster()
