"""Taking work from the backend's work queues when there are any.

Agents dequeue from a queue (and steal from another queue of the team when theirs is empty);
when the backend has no queues, or none with work, they make up their own.
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any

import httpx

log = logging.getLogger("agentops.simulator")

REFRESH_SECONDS = 5.0


class QueueWork:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.queues: list[dict[str, Any]] = []
        self.available = True
        self._refreshed = 0.0

    async def _refresh(self) -> None:
        if time.monotonic() - self._refreshed < REFRESH_SECONDS:
            return
        self._refreshed = time.monotonic()
        try:
            response = await self.http.get("/api/v1/work-queues")
        except httpx.HTTPError:
            return
        if response.status_code == 404:
            self.available = False  # this backend has no work queues
            return
        if response.status_code == 200:
            self.queues = list(response.json().get("queues", []))

    async def take(self, agent_id: str) -> dict[str, Any] | None:
        """A task for `agent_id`, or None (make up your own work)."""
        if not self.available:
            return None
        await self._refresh()
        if not self.queues:
            return None
        home = self.queues[zlib.crc32(agent_id.encode()) % len(self.queues)]
        for verb in ("dequeue", "steal"):
            try:
                response = await self.http.post(f"/api/v1/work-queues/{home['id']}/{verb}",
                                                json={"agent_id": agent_id})
            except httpx.HTTPError:
                return None
            if response.status_code == 200:
                task: dict[str, Any] = response.json()
                return task
        return None

    async def finish(self, task_id: str, outcome: str) -> None:
        body: dict[str, Any]
        if outcome == "completed":
            path, body = "complete", {"result": {"summary": "done by the simulated agent"}}
        else:
            path, body = "fail", {"error": f"session {outcome}"}
        try:
            await self.http.post(f"/api/v1/work-queue-tasks/{task_id}/{path}", json=body)
        except httpx.HTTPError as exc:
            log.debug("could not report task %s: %s", task_id, exc)
