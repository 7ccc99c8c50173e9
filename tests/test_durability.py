"""An acknowledged batch survives SIGKILL of the server process."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.sqlite import Store

from factories import message, started
from waiting import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    token = make_token(db, "operator", "agent")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentops_tui.cli", "serve", "--db", str(db),
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    acked: list[str] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()

        def writer(n: int) -> None:  # several agents writing while the server dies
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
                for i in range(100_000):
                    keys = [f"w{n}-b{i}-{j}" for j in range(20)]
                    try:
                        r = c.post("/api/v1/ingest", json={"events": [
                            message(content=k, event_key=k) for k in keys
                        ]})
                    except httpx.TransportError:
                        return
                    if r.status_code == 202:
                        acked.extend(keys)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 2000, 60, what="2000 acknowledged events")
        os.kill(proc.pid, signal.SIGKILL)  # mid-flight: requests are being written right now
        for t in threads:
            t.join(timeout=20)
    except httpx.TransportError:
        pass
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert len(acked) >= 2000
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT event_key FROM events WHERE event_key IS NOT NULL")
    stored = {r[0] for r in rows}
    assert set(acked) <= stored
    # reopening the store (a restart) copies the messages the crash left uncopied
    Store(db).close()
    contents = {r[0] for r in conn.execute("SELECT content FROM messages")}
    assert set(acked) <= contents
    # and the state tables agree with the log after the restart
    count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    data = conn.execute("SELECT data FROM sessions WHERE id = 'se-1'").fetchone()[0]
    assert f'"messages":{count}' in data
