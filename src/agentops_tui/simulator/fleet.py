"""A simulated fleet: real SDK clients over real HTTP, doing seeded, plausible work.

The first agents have roles that make every behaviour show within 30 simulated seconds:
a coder whose session spawns subagents two levels deep, a researcher that goes silent (stuck),
a session burning money fast on an expensive model, a reviewer asking for approval, a
triager waiting for input, a coder whose session fails, and an analyzer that turns slow:
after its first sessions set its baseline, each takes about four times as long. The rest do
a random mix. Agents register with their kind's description and avatar, call tools, and
report their progress as they go.
Content comes from per-session RNGs derived from the seed, never from timing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from agentops_tui.sdk import AsyncAgentClient, AsyncSession, IngestRejected, SessionKilled
from agentops_tui.simulator.content import (
    APPROVALS,
    ERRORS,
    FILES,
    KINDS,
    TOPICS,
    WAIT_REASONS,
    Kind,
)
from agentops_tui.simulator.queues import QueueWork

log = logging.getLogger("agentops.simulator")

ROLES = ("deep", "stuck", "burner", "approver", "waiter", "failer", "slow")
RUNAWAY_STEPS = 150
KIND_OF_ROLE = {"deep": "coder", "stuck": "researcher", "burner": "reviewer",
                "approver": "reviewer", "waiter": "triager", "failer": "coder",
                "slow": "analyzer"}
# the slow analyzer goes by the name the dashboards' examples use
NAME_OF_ROLE = {"slow": "screenshot-analyzer"}
BASELINE_SESSIONS = 3  # the slow agent's sessions at its usual pace, before it slows down
SLOWDOWN = 4.0
PROGRESS_EVERY = 3  # steps between progress reports of a top-level session


@dataclass
class Clock:
    speed: float

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(simulated_seconds / self.speed)


class SimAgent:
    def __init__(self, index: int, seed: int, url: str, token: str | None, clock: Clock,
                 queues: QueueWork, run_id: str) -> None:
        self.index = index
        self.role = ROLES[index] if index < len(ROLES) else "generic"
        self.rng = random.Random(f"{seed}:agent:{index}")
        kind_name = KIND_OF_ROLE.get(self.role) or self.rng.choice(sorted(KINDS))
        self.kind: Kind = KINDS[kind_name]
        self.model = "claude-opus-4-1" if self.role == "burner" else self.rng.choice(
            self.kind.models)
        self.agent_id = f"sim-{kind_name}-{index + 1}"
        self.seed = seed
        self.run_id = run_id  # keeps session ids unique across runs against one backend
        self.clock = clock
        self.queues = queues
        self.sessions_started = 0
        name = NAME_OF_ROLE.get(self.role, f"{kind_name}-{index + 1}")
        self.client = AsyncAgentClient(url, token, self.agent_id, name=name,
                                       kind=kind_name, framework="simulator", model=self.model,
                                       description=self.kind.description or None,
                                       avatar=self.kind.avatar or None)

    def _session_rng(self, path: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.index}:{path}")

    def _line(self, rng: random.Random) -> str:
        template = rng.choice(self.kind.lines)
        return template.format(file=rng.choice(FILES), topic=rng.choice(TOPICS),
                               n=rng.randint(4000, 9999), m=rng.randint(1000, 3999))

    async def register(self) -> None:
        """Report for duty now: the client's flusher sends it within its interval."""
        await self.client.start()

    async def run(self) -> None:
        await self.clock.sleep(self.rng.uniform(0.0, 1.0))
        while True:
            self.sessions_started += 1
            path = f"s{self.sessions_started}"
            task = await self.queues.take(self.agent_id)
            rng = self._session_rng(path)
            title = task["name"] if task else rng.choice(self.kind.titles)
            session = self.client.session(f"{self.agent_id}-{self.run_id}-{path}", title=title,
                                          task_id=task["id"] if task else None)
            outcome = await self._work(session, path, depth=0, first=self.sessions_started == 1)
            if task is not None:
                await self.queues.finish(task["id"], outcome)
            await self.clock.sleep(self.rng.uniform(1.0, 4.0))

    async def _work(self, session: AsyncSession, path: str, depth: int, first: bool) -> str:
        """One session, step by step; returns "completed", "failed" or "killed"."""
        rng = self._session_rng(path)
        role = self.role if first and depth == 0 else "generic"
        steps = rng.randint(6, 14) if depth == 0 else rng.randint(3, 6)
        pace = SLOWDOWN if self.role == "slow" and self.sessions_started > BASELINE_SESSIONS \
            else 1.0
        if role == "burner":  # it loops until someone stops it, or for ~4 simulated minutes
            steps = RUNAWAY_STEPS
        children: list[asyncio.Task[str]] = []
        try:
            for step in range(steps):
                for note in await session.checkpoint():
                    session.message(f"Operator says: {note!r}. Adjusting the plan.", "assistant")
                await self._step(session, rng, role)
                if role == "stuck" and step == 2:
                    while True:  # silent: no messages, no usage, still "running"
                        await session.checkpoint()
                        await self.clock.sleep(1.0)
                if role == "failer" and step == 3:
                    session.end("failed", rng.choice(ERRORS))
                    return "failed"
                if role == "waiter" and step == 2 or role == "generic" and rng.random() < 0.015:
                    await self._wait_for_input(session, rng)
                if role == "approver" and step == 1 or role == "generic" and rng.random() < 0.01:
                    await self._ask(session, rng)
                spawn = (role == "deep" and step == 1 and depth < 2) or (
                    role == "generic" and depth < 2 and rng.random() < 0.12)
                if spawn:
                    children.append(asyncio.create_task(self._child(session, path, depth)))
                if depth == 0 and (step + 1) % PROGRESS_EVERY == 0 and step + 1 < steps:
                    session.running(progress=round((step + 1) / steps, 2))
                await self.clock.sleep(rng.uniform(0.8, 2.5) * pace)
            if children:
                await asyncio.gather(*children, return_exceptions=True)
            if role == "generic" and rng.random() < 0.07:
                session.end("failed", rng.choice(ERRORS))
                return "failed"
            session.message("Done. Summary written to the task.", "assistant")
            session.end("completed")
            return "completed"
        except SessionKilled:
            for child in children:
                child.cancel()
            return "killed"

    async def _child(self, parent: AsyncSession, path: str, depth: int) -> str:
        n = len(path)
        child_path = f"{path}/c{n}"
        rng = self._session_rng(child_path)
        child = parent.subagent(title=f"subtask: {rng.choice(self.kind.titles)}",
                                session_id=f"{self.agent_id}-{self.run_id}-"
                                           f"{child_path.replace('/', '-')}")
        deep = self.role == "deep" and path.count("/") < 1
        if deep:  # the scripted chain: a grandchild as well
            return await self._work_deep_child(child, child_path, depth + 1)
        return await self._work(child, child_path, depth + 1, first=False)

    async def _work_deep_child(self, child: AsyncSession, path: str, depth: int) -> str:
        rng = self._session_rng(path)
        try:
            await self._step(child, rng, "generic")
            grand = await self._child(child, path, depth)
            await self._step(child, rng, "generic")
            child.end("completed" if grand != "failed" else "failed")
            return "completed"
        except SessionKilled:
            return "killed"

    async def _step(self, session: AsyncSession, rng: random.Random, role: str) -> None:
        session.message(self._line(rng))
        if rng.random() < 0.7:
            tool = rng.choice(self.kind.tools)
            ok = rng.random() > 0.1
            session.tool_call(tool, ok=ok, duration_ms=round(rng.uniform(5, 3000), 1),
                              output=None if ok else "error: command failed with exit code 1")
        low_in, high_in = self.kind.input_tokens
        low_out, high_out = self.kind.output_tokens
        if role == "burner":  # a runaway: the whole context sent afresh every step
            inp, out = rng.randint(18_000, 24_000), rng.randint(1_500, 2_500)
            cached = rng.randint(0, inp // 2)
        else:  # as agents with prompt caching do: most of the context is read from the cache
            context, out = rng.randint(low_in, high_in), rng.randint(low_out, high_out)
            cached = int(context * rng.uniform(0.75, 0.95))
            inp = context - cached
        session.usage(model=self.model, input_tokens=inp, output_tokens=out,
                      cache_read_tokens=cached)

    async def _wait_for_input(self, session: AsyncSession, rng: random.Random) -> None:
        session.waiting(rng.choice(WAIT_REASONS))
        for _ in range(40):  # up to 40 simulated seconds, or until the operator answers
            notes = await session.checkpoint()
            if notes:
                session.message(f"Thanks — going with: {notes[-1]!r}.")
                break
            await self.clock.sleep(1.0)
        else:
            session.message("No answer; continuing with the safest option.")
        session.running()

    async def _ask(self, session: AsyncSession, rng: random.Random) -> None:
        summary, detail = rng.choice(APPROVALS)
        session.message(f"Asking for approval: {summary}")
        result = await session.request_approval(summary, detail,
                                                timeout=60.0 / self.clock.speed)
        if result.approved:
            session.message("Approved; proceeding.")
        elif result.status == "rejected":
            session.message(f"Rejected ({result.note or 'no reason'}); rolling back the plan.")
        else:
            session.message("No decision in time; leaving it for a human.")


REGISTER_WAIT = 2.0  # seconds


async def run_agents(agents: list[SimAgent], stop: asyncio.Event,
                     prepare: Callable[[], Awaitable[None]] | None = None) -> None:
    """Register every agent, then `prepare`, then work until `stop`; the clients are closed
    however it ends (a backend that went away, a failed `prepare`, cancellation)."""
    tasks: list[asyncio.Task[None]] = []
    try:
        # agents first: a console that has just started shows the fleet at once, while
        # `prepare` (the simulated queues: a dozen round trips) runs
        for agent in agents:
            await agent.register()
        try:  # sent now rather than at the next flush; a backend that is not there yet
            await asyncio.wait_for(  # must not hold the fleet back
                asyncio.gather(*(a.client.flush() for a in agents)), REGISTER_WAIT)
        except (TimeoutError, httpx.HTTPError, IngestRejected) as exc:
            log.warning("registration not confirmed yet: %s", exc or "timed out")
        if prepare is not None:
            await prepare()
        tasks = [asyncio.create_task(a.run(), name=a.agent_id) for a in agents]
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        results: list[Any] = await asyncio.gather(
            *(asyncio.wait_for(a.client.close(), 10) for a in agents), return_exceptions=True)
        for agent, result in zip(agents, results, strict=True):
            if isinstance(result, Exception):
                log.warning("%s did not close cleanly: %r", agent.agent_id, result)
