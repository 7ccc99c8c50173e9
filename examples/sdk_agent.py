"""An agent that reports to the console through `agentops_tui.sdk` and obeys its operator.

It works through a few steps (reading files, running tests, asking a model), reporting each
as messages, tool calls and token usage. Between steps it calls `checkpoint()`: press `p`
in the console and it pauses there, `r` resumes it, `i` sends it a message (it answers),
and `k` kills it - it stops at once.

Try it from the repository's folder, with agentops installed in the active environment
(`pip install -e .`). Terminal 1 runs the backend; terminal 2 the agent, in the background,
and the console:

    agentops serve                                          # 1: the backend on :8787
    export AGENTOPS_URL=http://127.0.0.1:8787               # 2: where it is, and a token
    export AGENTOPS_TOKEN=$(agentops token create --role operator)
    python examples/sdk_agent.py --steps 300 2>agent.log &  # 2: the agent, 5 minutes long
    agentops tui --url $AGENTOPS_URL                        # 2: the console ($AGENTOPS_TOKEN)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from agentops_tui.sdk import AgentClient, SessionKilled

TOOLS = ["Read", "Grep", "Bash", "Edit"]


def run(url: str, token: str, agent_id: str, steps: int, step_seconds: float) -> str:
    """Run one session; returns how it ended (completed | killed)."""
    rng = random.Random(agent_id)
    with AgentClient(url, token, agent_id, name=agent_id, kind="coder",
                     model="claude-sonnet-4-5") as agent:
        session = agent.session(title="fix the flaky checkout test")
        session.message("fix the flaky checkout test", role="user")
        try:
            for step in range(1, steps + 1):
                # Blocks while paused; raises on kill. The backend has already logged each
                # injected message as the operator's: the agent only answers it.
                for note in session.checkpoint():
                    session.message(f"noted: {note}")
                tool = TOOLS[step % len(TOOLS)]
                started = time.monotonic()
                time.sleep(step_seconds)
                session.tool_call(tool, duration_ms=(time.monotonic() - started) * 1000)
                session.usage(model="claude-sonnet-4-5", input_tokens=rng.randint(800, 4000),
                              output_tokens=rng.randint(50, 400))
                session.message(f"step {step}/{steps}: ran {tool}")
            session.message("done: the test waits for the payment mock now")
            session.end("completed")
            return "completed"
        except SessionKilled:
            return "killed"  # the backend already recorded it; stop working


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("AGENTOPS_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--token", default=os.environ.get("AGENTOPS_TOKEN"),
                        help="operator token (default: $AGENTOPS_TOKEN)")
    parser.add_argument("--agent-id", default="sdk-example")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--step-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set AGENTOPS_TOKEN (agentops token create --role operator)")
    outcome = run(args.url, args.token, args.agent_id, args.steps, args.step_seconds)
    print(f"session {outcome}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
