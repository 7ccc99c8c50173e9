"""Shared fixtures: a real uvicorn server on 127.0.0.1:0 over a real SQLite file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token

from postgres_cluster import Cluster, running_cluster
from waiting import wait_for


@dataclass
class LiveServer:
    url: str
    db: Path | str  # a SQLite file, or a PostgreSQL URL (AGENTOPS_TEST_BACKEND=postgresql)
    token: str  # admin
    server: EmbeddedServer

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=10,
        )

    def token_for(self, role: str, workspace: str = "default", name: str | None = None) -> str:
        return make_token(self.db, role, name or f"{role}-{workspace}", workspace)

    def open_streams(self) -> int:
        """SSE streams the server holds open: a test waits for its reader to subscribe."""
        return len(self.server._app.state.ctx.bus.streams)  # type: ignore[union-attr]

    def metric(self, name: str, token: str | None = None) -> float:
        """One unlabelled (or single-series) figure from `GET /metrics`."""
        with self.client(token) as c:
            response = c.get("/metrics")
        response.raise_for_status()
        for line in response.text.splitlines():
            if line.split("{")[0].split(" ")[0] == name:
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} is not in /metrics")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the developer's real config or data directories."""
    monkeypatch.setenv("AGENTOPS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTOPS_TOKEN", raising=False)
    monkeypatch.delenv("AGENTOPS_URL", raising=False)


def start_server(db: Path | str, **overrides: object) -> LiveServer:
    token = make_token(db, "admin", "test-admin")
    settings = ServerSettings(db_path=db, **overrides)  # type: ignore[arg-type]
    server = EmbeddedServer(settings)
    url = server.start()
    return LiveServer(url=url, db=db, token=token, server=server)


# `AGENTOPS_TEST_BACKEND=postgresql pytest ...` runs the tests on `live` servers against a
# PostgreSQL database (tests that open the SQLite file themselves do not apply then).
TEST_BACKEND = os.environ.get("AGENTOPS_TEST_BACKEND", "sqlite")


def live_database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if TEST_BACKEND == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres")
        return cluster.new_database()
    return tmp_path / "agentops.db"


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    srv = start_server(live_database(request, tmp_path), heartbeat_seconds=1.0)
    try:
        yield srv
    finally:
        srv.server.stop()


class CommandProcess:
    """An `agentops` command that listens, run as an operator runs it on a free port it
    reports once listening (`listening` matches that line); its log (standard error and
    output) is collected as it comes."""

    listening = r"Uvicorn running on http://127\.0\.0\.1:(\d+)"
    stop_seconds = 20.0

    def __init__(self, command: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentops_tui", command, "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        found = wait_for(lambda: self._port() or self.proc.poll() is not None, 60,
                         what=f"agentops {command} to listen")
        if not isinstance(found, int) or isinstance(found, bool):
            raise AssertionError(f"agentops {command} did not start: {self.log}")
        self.url = f"http://127.0.0.1:{found}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def _port(self) -> int | None:
        for line in self.lines:
            if match := re.search(self.listening, line):
                return int(match.group(1))
        return None

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        """Stop it as ctrl+c does; its whole log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.log


class ServeProcess(CommandProcess):
    """`agentops serve` (uvicorn writes its request lines to the output, collected too)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__("serve", *args, env=env)


# ---- the two tiers: `pytest -m "not integration"` runs the fast one ----

# Fixtures that start a real server (or a console app on one): a test using any is integration.
INTEGRATION_FIXTURES = frozenset({"live", "snap_compare", "fixed_server", "strict", "limited",
                                  "quick", "slow_heartbeat", "replicas"})
# Modules whose tests start servers, processes, CLIs or console apps themselves.
INTEGRATION_MODULES = frozenset({
    "test_alerts.py", "test_alerts_actions.py", "test_alerts_config.py", "test_auth.py",
    "test_alerts_grouping.py", "test_alerts_demo.py", "test_tui_alerts.py",
    "test_bench_runner.py", "test_capabilities.py", "test_claude_code_control.py",
    "test_claude_code_real.py", "test_claude_hook_answers.py", "test_claude_hooks.py",
    "test_cli_bad_input.py", "test_client.py", "test_control.py", "test_db_lock.py",
    "test_durability.py", "test_examples.py", "test_hooks_check.py", "test_hooks_install_real.py",
    "test_hostile_totals.py", "test_http_limits.py", "test_layering.py", "test_long_polls.py",
    "test_message_index.py", "test_openapi_fuzz.py", "test_queue_worker_example.py",
    "test_rate_limits.py", "test_review.py", "test_revoked_streams.py", "test_sdk.py",
    "test_secrets_at_rest.py", "test_simulator.py", "test_stream.py", "test_tui.py",
    "test_tui_capabilities.py", "test_tui_roles.py", "test_tui_snapshots.py", "test_tui_tasks.py",
    "test_virtual_table.py", "test_notify.py", "test_notify_secrets.py",
    "test_postgres.py", "test_database_urls.py", "test_db_copy.py", "test_replicas.py",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.path.name in INTEGRATION_MODULES or fixtures & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the whole run (each test takes a database of its own with
    `postgres.new_database()`). Fails, never skips, when PostgreSQL cannot be started."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def replicas(postgres: Cluster) -> Iterator[tuple[ServeProcess, ServeProcess, str]]:
    """Two `agentops serve` replicas on one fresh PostgreSQL database, and an admin token."""
    database = postgres.new_database()
    with two_replicas(database, "--command-expiry", "4") as pair:
        yield pair


@contextmanager
def two_replicas(database: str, *options: str
                 ) -> Iterator[tuple[ServeProcess, ServeProcess, str]]:
    """Two `agentops serve` processes on `database` (with `options`), and an admin token."""
    token = make_token(database, "admin", "test")
    a = ServeProcess("--db", database, *options)
    try:
        b = ServeProcess("--db", database, *options)
        try:
            yield a, b, token
        finally:
            b.stop()
    finally:
        a.stop()
