"""Shared fixtures: a real uvicorn server on 127.0.0.1:0 over a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token


@dataclass
class LiveServer:
    url: str
    db: Path
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


def start_server(db: Path, **overrides: object) -> LiveServer:
    token = make_token(db, "admin", "test-admin")
    settings = ServerSettings(db_path=db, **overrides)  # type: ignore[arg-type]
    server = EmbeddedServer(settings)
    url = server.start()
    return LiveServer(url=url, db=db, token=token, server=server)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    srv = start_server(tmp_path / "agentops.db", heartbeat_seconds=1.0)
    try:
        yield srv
    finally:
        srv.server.stop()
