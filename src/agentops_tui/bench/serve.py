"""The backend under test, in a process of its own: `python -m agentops_tui.bench.serve DB`
(a SQLite file or a database URL).

It prints one JSON line `{"url", "token", "pid"}` once it listens on 127.0.0.1 (port 0) and
stops when its standard input closes, printing its own CPU seconds on a last JSON line.
Keeping it out of the measuring process means the load, the clients and the console are
not charged for the server's work, nor the server for theirs.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer, make_token


def main() -> int:
    db = sys.argv[1]
    logging.basicConfig(level=logging.ERROR)
    token = make_token(db, "admin", "bench")
    server = EmbeddedServer(ServerSettings(db_path=db), log_level="error")
    url = server.start()
    print(json.dumps({"url": url, "token": token, "pid": os.getpid()}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    server.stop()
    times = os.times()
    print(json.dumps({"cpu_seconds": times.user + times.system}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
