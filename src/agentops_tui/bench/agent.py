"""A real agent for the control benchmark: `python -m agentops_tui.bench.agent URL TOKEN`.

It registers through the SDK, opens `--sessions` sessions and works in small steps, calling
`checkpoint()` between them, so a pause from the console is received, acknowledged and
obeyed exactly as a production agent built on the SDK would. Prints `{"ready": true}` once
its sessions are stored, and stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading

from agentops_tui.sdk import AsyncAgentClient, AsyncSession


async def work(session: AsyncSession, stop: asyncio.Event) -> None:
    step = 0
    while not stop.is_set():
        await session.checkpoint()
        step += 1
        if step % 20 == 0:
            session.message(f"step {step}: still working")
        await asyncio.sleep(0.05)


async def main_async(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with AsyncAgentClient(args.url, args.token, args.agent_id, kind="coder",
                                model="claude-sonnet-4-5") as agent:
        sessions = [agent.session(f"{args.agent_id}-s{i}", title=f"bench work {i}")
                    for i in range(args.sessions)]
        await agent.flush()
        print(json.dumps({"ready": True}), flush=True)
        tasks = [asyncio.create_task(work(s, stop)) for s in sessions]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main() -> int:
    p = argparse.ArgumentParser(prog="agentops_tui.bench.agent")
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("--agent-id", default="bench-agent")
    p.add_argument("--sessions", type=int, default=3)
    asyncio.run(main_async(p.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
