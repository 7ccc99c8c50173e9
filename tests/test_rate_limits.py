"""Rate limits: failed auth per address, expensive reads per token; 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentops_tui.cli import build_parser
from agentops_tui.server.context import ServerSettings

from conftest import LiveServer, start_server

READS = 5  # expensive reads a minute per token in these tests


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    srv = start_server(tmp_path / "agentops.db", expensive_reads_per_minute=READS)
    try:
        yield srv
    finally:
        srv.server.stop()


def assert_429(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_the_31st_failed_auth_from_an_address_is_429_but_valid_tokens_pass(
    limited: LiveServer,
) -> None:
    assert ServerSettings(db_path=limited.db).auth_failures_per_minute == 30  # the default
    with httpx.Client(base_url=limited.url) as c:
        for attempt in range(30):
            headers = {"Authorization": f"Bearer wrong-{attempt}"} if attempt % 2 else {}
            assert c.get("/api/v1/snapshot", headers=headers).status_code == 401, attempt
        assert_429(c.get("/api/v1/snapshot", headers={"Authorization": "Bearer wrong"}))
        assert_429(c.get("/api/v1/snapshot"))
        # someone else's failures from this address never lock out a valid token
        ok = {"Authorization": f"Bearer {limited.token}"}
        assert c.get("/api/v1/snapshot", headers=ok).status_code == 200
        assert c.post("/api/v1/work-queues", headers=ok, json={"name": "q"}).status_code == 201


@pytest.mark.parametrize("path", [
    "/api/v1/audit", "/api/v1/costs", "/api/v1/costs/timeline", "/api/v1/metrics/current",
    "/api/v1/metrics/tools", "/api/v1/events", "/api/v1/sessions",
])
def test_expensive_reads_are_limited_per_token(limited: LiveServer, path: str) -> None:
    other = limited.token_for("viewer")
    with limited.client() as c, limited.client(other) as d:
        for _ in range(READS):
            assert c.get(path).status_code == 200
        assert_429(c.get(path))
        assert c.get("/api/v1/snapshot").status_code == 200  # cheap reads are not counted
        assert d.get(path).status_code == 200  # another token has its own budget


def test_agent_metrics_count_but_a_sessions_messages_do_not(limited: LiveServer) -> None:
    paths = ["/api/v1/sessions?limit=1", "/api/v1/metrics/agents/a"]
    with limited.client() as c:
        codes = [c.get(paths[i % 2]).status_code for i in range(READS)]
        assert 429 not in codes  # 404s for unknown ids, but each counted
        assert_429(c.get(paths[1]))
        # the log tail of the session on screen is read far more often than this
        for _ in range(READS * 3):
            assert c.get("/api/v1/sessions/se-1/messages").status_code == 404


def test_zero_turns_the_limits_off(tmp_path: Path) -> None:
    srv = start_server(
        tmp_path / "agentops.db", auth_failures_per_minute=0, expensive_reads_per_minute=0
    )
    try:
        with httpx.Client(base_url=srv.url) as c:
            assert {c.get("/api/v1/events").status_code for _ in range(40)} == {401}
        with srv.client() as c:
            assert {c.get("/api/v1/events").status_code for _ in range(40)} == {200}
    finally:
        srv.server.stop()


def test_serve_takes_the_limits_as_options() -> None:
    args = build_parser().parse_args(
        ["serve", "--auth-failures-per-minute", "0", "--expensive-reads-per-minute", "50"]
    )
    assert (args.auth_failures_per_minute, args.expensive_reads_per_minute) == (0, 50)
    defaults = build_parser().parse_args(["serve"])
    assert (defaults.auth_failures_per_minute, defaults.expensive_reads_per_minute) == (30, 300)
