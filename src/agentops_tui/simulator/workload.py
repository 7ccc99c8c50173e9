"""Business work for the simulated fleet: a few team queues, fed with tasks over time.

Only queues this workload made (marked in their description) are fed, so pointing the
simulator at a backend with real queues never adds make-believe tasks to them. The first
tasks include one whose deadline lapses within ~15 simulated seconds, so an SLA breach shows
early; afterwards a task arrives every few seconds while the inboxes stay short.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import httpx

from agentops_tui.simulator.fleet import Clock

log = logging.getLogger("agentops.simulator")

MARK = "simulated workload"
QUEUES = (("bug-triage", "engineering"), ("code-review", "engineering"),
          ("research", "product"))
TASK_NAMES = {
    "bug-triage": ("Login times out on mobile", "Checkout 500 on expired coupon",
                   "Flaky test in payments suite", "Search returns stale results",
                   "Memory leak in export worker", "Webhook retries never stop"),
    "code-review": ("Review PR #312 session cookies", "Review PR #318 rate limiter",
                    "Review migration 0042", "Review PR #325 retry policy",
                    "Review dependency bump", "Review PR #330 audit export"),
    "research": ("Compare vector stores for docs", "Summarise churn interviews",
                 "Benchmark embedding models", "Survey agent eval frameworks",
                 "Price check: batch vs realtime", "Read the new OTel GenAI spec"),
}
MAX_INBOX = 6  # per queue: add no more while this many wait


class Workload:
    def __init__(self, http: httpx.AsyncClient, seed: int, clock: Clock) -> None:
        self.http = http
        self.rng = random.Random(f"{seed}:workload")
        self.clock = clock
        self.queues: list[dict[str, Any]] = []
        self.created = 0

    def _deadline(self, simulated_seconds: float) -> float:
        return time.time() + simulated_seconds / self.clock.speed

    async def setup(self) -> bool:
        """Find or create the workload's queues; False when the backend has no work queues."""
        try:
            response = await self.http.get("/api/v1/work-queues")
            if response.status_code != 200:
                return False
            existing = response.json().get("queues", [])
            self.queues = [q for q in existing if q.get("description") == MARK]
            if not existing:
                for name, team in QUEUES:
                    made = await self.http.post("/api/v1/work-queues", json={
                        "name": name, "team_id": team, "description": MARK})
                    if made.status_code == 201:
                        self.queues.append(made.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("work queues unavailable: %s", exc)
            return False
        if self.queues and not self.created:
            await self._add(self.queues[0], priority=2, deadline_in=15.0)  # will breach
            for _ in range(5):
                await self._add(self.rng.choice(self.queues))
        return bool(self.queues)

    async def _add(self, queue: dict[str, Any], priority: int | None = None,
                   deadline_in: float | None = None) -> None:
        rng = self.rng
        names = TASK_NAMES.get(queue["name"], TASK_NAMES["bug-triage"])
        self.created += 1
        body: dict[str, Any] = {
            "name": f"{rng.choice(names)} ({self.created})",
            "priority": priority or rng.choice((1, 2, 3, 3, 3, 4, 4, 5)),
            "payload": {"ticket": f"T-{4800 + self.created}"},
        }
        if deadline_in is None and rng.random() < 0.6:
            deadline_in = rng.uniform(60.0, 600.0)
        if deadline_in is not None:
            body["deadline"] = self._deadline(deadline_in)
        try:
            await self.http.post(f"/api/v1/work-queues/{queue['id']}/tasks", json=body)
        except httpx.HTTPError as exc:
            log.debug("could not add a task: %s", exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the queues fed until `stop` is set."""
        while not stop.is_set():
            await self.clock.sleep(self.rng.uniform(3.0, 8.0))
            try:
                response = await self.http.get("/api/v1/work-queues")
                queues = [q for q in response.json().get("queues", [])
                          if q.get("description") == MARK]
            except (httpx.HTTPError, ValueError):
                continue
            open_queues = [q for q in queues if q.get("counts", {}).get("inbox", 0) < MAX_INBOX]
            if open_queues:
                await self._add(self.rng.choice(open_queues))
