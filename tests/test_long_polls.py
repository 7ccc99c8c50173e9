"""Long-polls (commands and approvals) hold a slot of their own pool only while they wait, and
never one of the console streams: whether they time out, are answered, or the client leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from conftest import LiveServer, start_server
from factories import agent, started
from waiting import until

AGENTS = 10


def _seed(live: LiveServer) -> None:
    events: list[dict[str, Any]] = []
    for n in range(AGENTS):
        events += [agent(f"ag-{n}"), started(f"se-{n}", f"ag-{n}")]
    events += [{"type": "approval.requested", "approval_id": f"ap-{n}", "session_id": f"se-{n}",
                "summary": "go?"} for n in range(AGENTS)]
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()


def _client(live: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=live.url, headers={"Authorization": f"Bearer {live.token}"}, timeout=40,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


def _commands(c: httpx.AsyncClient, n: int, wait: float) -> Any:
    return c.get(f"/api/v1/agents/ag-{n % AGENTS}/commands", params={"wait": wait})


def _approval(c: httpx.AsyncClient, n: int, wait: float) -> Any:
    return c.get(f"/api/v1/approvals/ap-{n % AGENTS}", params={"wait": wait})


async def test_hundreds_of_long_polls_leave_nothing_behind(tmp_path: Path) -> None:
    # the default stream cap (256): more long-polls than that must not lock consoles out
    live = start_server(tmp_path / "polls.db")
    bus = live.server._app.state.ctx.bus  # type: ignore[union-attr]
    try:
        _seed(live)
        assert (len(bus.streams), len(bus.waiters)) == (0, 0)
        async with _client(live) as c, _client(live) as leaving:
            # ag-5..9 get no command and ap-5..9 no decision: these wait their time out
            timing_out = [_commands(c, 5 + n % 5, 6) for n in range(120)]
            timing_out += [_approval(c, 5 + n % 5, 6) for n in range(60)]
            answered = [_commands(c, n, 30) for n in range(5)]  # ag-0..4 get a pause
            answered += [_approval(c, n, 30) for n in range(5)]  # ap-0..4 are decided
            abandoned = [asyncio.ensure_future(_commands(leaving, n, 30)) for n in range(60)]
            abandoned += [asyncio.ensure_future(_approval(leaving, n + 5, 30)) for n in range(60)]
            quick = asyncio.gather(*timing_out)
            slow = asyncio.gather(*answered)
            await until(lambda: len(bus.waiters) == 310, what="every long-poll to wait")
            assert len(bus.streams) == 0  # none of them takes a console's slot

            # a console can stream while they wait
            async with c.stream("GET", "/api/v1/stream") as stream:
                assert stream.status_code == 200
                assert live.metric("agentops_stream_clients") == 1
                assert live.metric("agentops_long_poll_waiters") == 310

            # the client leaves: its long-polls end now, not when their wait runs out
            for task in abandoned:
                task.cancel()
            await asyncio.gather(*abandoned, return_exceptions=True)
            await leaving.aclose()
            await until(lambda: len(bus.waiters) == 190, 5, what="abandoned long-polls to end")

            for n in range(5):
                (await c.post(f"/api/v1/sessions/se-{n}/pause")).raise_for_status()
                (await c.post(f"/api/v1/approvals/ap-{n}/approve")).raise_for_status()
            for r in await slow:
                body = r.json()
                assert r.status_code == 200
                assert body.get("status") == "approved" or len(body.get("commands", [])) == 1
            for r in await quick:
                body = r.json()
                assert r.status_code == 200
                assert body.get("status") == "pending" or body.get("commands") == []
        await until(lambda: (len(bus.streams), len(bus.waiters)) == (0, 0), what="the baseline")
        assert live.metric("agentops_long_poll_waiters") == 0
        assert live.metric("agentops_stream_clients") == 0
    finally:
        live.server.stop()


async def test_a_full_long_poll_pool_answers_503_and_spares_the_streams(tmp_path: Path) -> None:
    live = start_server(tmp_path / "full.db", max_long_polls=4, max_stream_clients=2)
    bus = live.server._app.state.ctx.bus  # type: ignore[union-attr]
    try:
        _seed(live)
        async with _client(live) as c:
            waiting = [asyncio.ensure_future(_commands(c, n, 30)) for n in range(4)]
            await until(lambda: len(bus.waiters) == 4, what="the pool to fill")
            for refused in (await _commands(c, 5, 5), await _approval(c, 5, 5)):
                assert refused.status_code == 503
                assert refused.json()["error"]["code"] == "too_many_waiters"
                assert int(refused.headers["Retry-After"]) > 0
            assert (await _approval(c, 5, 0)).json()["status"] == "pending"  # no wait: no slot
            async with c.stream("GET", "/api/v1/stream") as first, \
                    c.stream("GET", "/api/v1/agents/ag-1/commands") as second:
                assert (first.status_code, second.status_code) == (200, 200)
                third = await c.get("/api/v1/stream")
                assert third.status_code == 503
                assert third.json()["error"]["code"] == "too_many_streams"
                assert "Retry-After" in third.headers
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
        await until(lambda: (len(bus.streams), len(bus.waiters)) == (0, 0), what="the baseline")
    finally:
        live.server.stop()


async def test_a_stream_abandoned_before_its_first_byte_gives_its_slot_back(
    live: LiveServer,
) -> None:
    """The client sends its request and hangs up at once: the server may not even have
    started the response body when it notices, and must still give the slot back."""
    bus = live.server._app.state.ctx.bus  # type: ignore[union-attr]
    _seed(live)
    host, port = live.url.removeprefix("http://").split(":")
    for _ in range(20):
        for path in ("/api/v1/stream", "/api/v1/agents/ag-1/commands",
                     "/api/v1/agents/ag-1/commands?wait=30", "/api/v1/approvals/ap-1?wait=30"):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                         f"Authorization: Bearer {live.token}\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            await writer.wait_closed()
    await until(lambda: (len(bus.streams), len(bus.waiters)) == (0, 0), 5, what="every slot back")


async def test_one_token_cannot_take_every_stream_slot(tmp_path: Path) -> None:
    live = start_server(tmp_path / "greedy.db", max_stream_clients=8, max_streams_per_token=2)
    bus = live.server._app.state.ctx.bus  # type: ignore[union-attr]
    other = live.token_for("viewer", name="another-console")
    try:
        _seed(live)
        async with _client(live) as c:
            async with c.stream("GET", "/api/v1/stream") as first, \
                    c.stream("GET", "/api/v1/agents/ag-1/commands") as second:
                assert (first.status_code, second.status_code) == (200, 200)
                for path in ("/api/v1/stream", "/api/v1/agents/ag-2/commands"):
                    refused = await c.get(path)
                    assert refused.status_code == 429, refused.text
                    error = refused.json()["error"]
                    assert error["code"] == "too_many_streams"
                    assert "2 streams" in error["message"] and "per-token" in error["message"]
                    assert error["details"]["per_token_limit"] == 2
                    assert int(refused.headers["Retry-After"]) > 0
                # the server has room: another token still gets a stream
                async with c.stream("GET", "/api/v1/stream",
                                    headers={"Authorization": f"Bearer {other}"}) as third:
                    assert third.status_code == 200
                    await until(lambda: len(bus.streams) == 3, what="three streams")
            await until(lambda: not bus.streams and not bus.per_owner, what="slots back")
            async with c.stream("GET", "/api/v1/stream") as again:  # the token's slots are back
                assert again.status_code == 200
    finally:
        live.server.stop()
