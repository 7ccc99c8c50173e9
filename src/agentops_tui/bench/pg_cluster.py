"""A throwaway PostgreSQL cluster (the tests' and `agentops bench`'s): initdb in a temporary
folder, listening on a unix socket in that folder only (no TCP port), started and stopped
with pg_ctl. A cluster starts in about a second.

PostgreSQL refuses to run as root: when we do, the cluster belongs to the `postgres` user
and its commands run as that user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agentops_tui.server.store.postgres_connection import connect

SEARCH = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]
_names = itertools.count(1)


def _tool(name: str) -> str:
    for folder in SEARCH:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def missing() -> str:
    """Why no cluster can be started here ('' when one can)."""
    try:
        for name in ("initdb", "pg_ctl"):
            _tool(name)
    except RuntimeError as exc:
        return str(exc)
    return ""


class Cluster:
    def __init__(self) -> None:
        # short and outside pytest's private temp folders: the socket path must stay under
        # 107 bytes, and the server's user must reach it
        self.folder = Path(tempfile.mkdtemp(prefix="agentops-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.user = "postgres" if self._as_user else None

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}\n{log}")

    def init(self) -> None:
        self._run(_tool("initdb"), "-D", str(self.data), "--auth=trust", "-E", "UTF8",
                  "--no-locale", "-U", "postgres")

    def start(self) -> None:
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.folder}'"
                   " -c max_connections=200")
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        conn = connect(self.url())
        try:
            conn.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
