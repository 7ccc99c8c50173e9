"""A minimal real agent for tests: long-polls its commands and acknowledges them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class AckingAgent:
    url: str
    token: str
    agent_id: str
    ok: bool = True
    seen: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> AckingAgent:
        self._thread.start()
        return self

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as c:
            while not self._stop.is_set():
                try:
                    r = c.get(f"/api/v1/agents/{self.agent_id}/commands", params={"wait": 0.5})
                    if r.status_code != 200:
                        self._stop.wait(0.2)
                        continue
                    for command in r.json()["commands"]:
                        self.seen.append(command)
                        c.post(f"/api/v1/commands/{command['id']}/ack",
                               json={"ok": self.ok, "detail": None if self.ok else "refused"})
                except httpx.HTTPError:
                    self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
