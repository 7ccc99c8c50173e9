"""A queue worker: take tasks from a work queue, work on each in a session, report the result.

Try it against a local backend (the first command prints a token on its last line):

    agentops token create --role operator
    agentops serve &
    python examples/queue_worker.py --url http://127.0.0.1:8787 --token TOKEN \
        --queue bug-triage --add-tasks 3 --max-tasks 3

`--queue` is a queue's id or name (a missing queue of that name is created); `--add-tasks N`
puts N sample tasks on it first. The worker dequeues (and, when its queue is empty, steals
from another queue of its team), starts a session on the task so the console's board shows
it running, obeys pause, inject and kill from the console at every step, and completes the
task, or fails it when killed. Watch it with `agentops tui --url ... --token ...`, screen 3.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random

import httpx

from agentops_tui.sdk import AsyncAgentClient, SessionKilled


async def find_queue(url: str, token: str | None, wanted: str, team: str) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        response = await http.get("/api/v1/work-queues")
        response.raise_for_status()
        for queue in response.json()["queues"]:
            if wanted in (queue["id"], queue["name"]):
                return str(queue["id"])
        made = await http.post("/api/v1/work-queues", json={"name": wanted, "teamId": team})
        made.raise_for_status()
        return str(made.json()["id"])


async def add_tasks(url: str, token: str | None, queue_id: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        for n in range(count):
            response = await http.post(f"/api/v1/work-queues/{queue_id}/tasks", json={
                "name": f"Sample ticket {n + 1}", "priority": random.randint(1, 5),
                "payload": {"ticketId": f"T-{1000 + n}"}})
            response.raise_for_status()


async def work_on(agent: AsyncAgentClient, task: dict[str, object],
                  step_seconds: float) -> dict[str, object]:
    """One session on the task; returns the result. Raises SessionKilled if killed."""
    session = agent.session(title=str(task["name"]), task_id=str(task["id"]),
                            model="claude-sonnet-4")
    notes: list[str] = []
    try:
        for step in range(5):
            notes += await session.checkpoint()  # blocks while paused; raises on kill
            session.message(f"step {step + 1}: looking into {task['name']}")
            session.tool_call("Read", duration_ms=random.uniform(20, 200))
            session.usage(input_tokens=random.randint(800, 3000),
                          output_tokens=random.randint(100, 600))
            await asyncio.sleep(step_seconds)
    except SessionKilled:
        session.end("killed", "killed by an operator")
        raise
    session.end()
    return {"steps": 5, "operator_notes": notes}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AGENTOPS_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--token", default=os.environ.get("AGENTOPS_TOKEN"))
    parser.add_argument("--queue", default="bug-triage", help="queue id or name")
    parser.add_argument("--team", default="engineering", help="team of a queue made here")
    parser.add_argument("--agent-id", default="queue-worker-1")
    parser.add_argument("--add-tasks", type=int, default=0)
    parser.add_argument("--max-tasks", type=int, default=0, help="stop after N (0: never)")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="pace of the work")
    args = parser.parse_args()

    queue_id = await find_queue(args.url, args.token, args.queue, args.team)
    await add_tasks(args.url, args.token, queue_id, args.add_tasks)
    done = 0
    async with AsyncAgentClient(args.url, args.token, args.agent_id, kind="worker",
                                model="claude-sonnet-4") as agent:
        while not args.max_tasks or done < args.max_tasks:
            task = await agent.take_task(queue_id)
            if task is None:
                await asyncio.sleep(2.0)  # nothing waiting: poll again
                continue
            print(f"took {task['id']} (P{task['priority']}): {task['name']}")
            try:
                result = await work_on(agent, task, args.step_seconds)
            except SessionKilled:
                await agent.fail_task(str(task["id"]), "killed by an operator")
                print(f"failed {task['id']}: killed")
            else:
                await agent.complete_task(str(task["id"]), result)
                print(f"completed {task['id']}")
            done += 1


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
