"""A Claude Code hook command for tests: logs each payload and prints a scripted answer.

Run as `python answering_hook.py CONFIG.json` (see `ClaudeCode.answering_hook`). CONFIG holds
`log` (a JSONL file each payload is appended to), `answers` ({event: answer or [answers]}),
`hold` (events to hold) and `release` (the file whose existence lets a held event go).
Standard library only: Claude Code runs it with the interpreter named in the command.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    payload = json.load(sys.stdin)
    event = payload.get("hook_event_name")
    with open(config["log"], "a") as log:
        log.write(json.dumps(payload) + "\n")
    with open(config["log"]) as log:  # which occurrence of this event this is, counting it
        seen = sum(json.loads(line).get("hook_event_name") == event for line in log if line)
    while event in config["hold"] and not os.path.exists(config["release"]):
        time.sleep(0.02)
    answer = config["answers"].get(event)
    if isinstance(answer, list):
        answer = answer[seen - 1] if seen <= len(answer) else None
    if answer is not None:
        print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
