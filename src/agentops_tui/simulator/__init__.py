"""A seeded, realistic fleet of simulated agents that use the SDK over real HTTP.

    sim = Simulator(url, token, agents=12, seed=7, speed=1.0)  # tasks=False: no queues
    await sim.run()          # until sim.stop() or cancelled
    sim.start_in_thread()    # or: its own loop in a daemon thread (the demo)
    sim.stop()
"""

from __future__ import annotations

import asyncio
import secrets
import threading

import httpx

from agentops_tui.simulator.fleet import Clock, SimAgent, run_agents
from agentops_tui.simulator.queues import QueueWork
from agentops_tui.simulator.workload import Workload
from agentops_tui.tls import client_tls


class Simulator:
    def __init__(self, url: str, token: str | None, *, agents: int = 12, seed: int = 7,
                 speed: float = 1.0, tasks: bool = True) -> None:
        if agents < 1:
            raise ValueError("agents must be at least 1")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.url = url.rstrip("/")
        self.token = token
        self.agent_count = agents
        self.seed = seed
        self.speed = speed
        self.feed_tasks = tasks  # create team queues (when there are none) and feed them
        self.agents: list[SimAgent] = []
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10,
                                     verify=client_tls()) as http:
            queues = QueueWork(http)
            clock = Clock(self.speed)
            workload = Workload(http, self.seed, clock)
            run_id = secrets.token_hex(3)
            self.agents = [SimAgent(i, self.seed, self.url, self.token, clock, queues, run_id)
                           for i in range(self.agent_count)]
            feeding: asyncio.Task[None] | None = None

            async def set_up_queues() -> None:
                nonlocal feeding
                if self.feed_tasks and await workload.setup():
                    feeding = asyncio.create_task(workload.run(stop),
                                                  name="sim-workload")

            try:
                await run_agents(self.agents, stop, set_up_queues)
            finally:
                if feeding is not None:
                    feeding.cancel()
                    await asyncio.gather(feeding, return_exceptions=True)

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self.run()),
                                        name="agentops-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)


__all__ = ["Simulator"]
