"""Helpers for tests that run `agentops serve` replicas on one PostgreSQL database: a
client, the leader metric of each replica, an agent that keeps ingesting (keeping what was
acknowledged), and the ids a stream carried."""

from __future__ import annotations

import re
import threading
from collections import Counter

import httpx

from conftest import ServeProcess
from factories import message
from sse import SseReader


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def metric(url: str, token: str, name: str) -> float:
    with client(url, token) as c:
        text = c.get("/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


def leaders(replicas: tuple[ServeProcess, ...], token: str) -> list[int]:
    """`agentops_leader` of each replica, in order."""
    return [int(metric(r.url, token, "agentops_leader")) for r in replicas]


def leader_of(replicas: tuple[ServeProcess, ...], token: str) -> ServeProcess | None:
    """The one replica that leads (None while none, or several, do)."""
    flags = leaders(replicas, token)
    return replicas[flags.index(1)] if flags.count(1) == 1 else None


class Ingester(threading.Thread):
    """An agent posting keyed batches until stopped: the keys of every batch answered 202,
    and every status it got (a transport error counts as status 0)."""

    def __init__(self, url: str, token: str, tag: str, batch: int = 5) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.tag, self.batch = url, token, tag, batch
        self.acked: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        with client(self.url, self.token) as c:
            n = 0
            while not self.halt.is_set():
                keys = [f"{self.tag}-{n}-{k}" for k in range(self.batch)]
                n += 1
                try:
                    r = c.post("/api/v1/ingest", json={"events": [
                        message(content=key, event_key=key) for key in keys]})
                except httpx.TransportError:
                    self.statuses[0] += 1
                    continue
                self.statuses[r.status_code] += 1
                if r.status_code == 202:
                    self.acked.extend(keys)

    def stop(self) -> None:
        self.halt.set()
        self.join(30)


def stream_ids(reader: SseReader) -> list[int]:
    return [int(f.id) for f in reader.frames if f.id]


class LeaderWatch(threading.Thread):
    """Reads `agentops_leader` of every replica over and over until stopped: `most` is the
    most replicas seen leading at one reading, `readings` how many readings were taken."""

    def __init__(self, replicas: tuple[ServeProcess, ...], token: str) -> None:
        super().__init__(daemon=True)
        self.replicas, self.token = replicas, token
        self.most = 0
        self.readings = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                flags = leaders(self.replicas, self.token)
            except (httpx.TransportError, AssertionError):
                continue  # a replica stopped, or stopping
            self.most = max(self.most, sum(flags))
            self.readings += 1

    def stop(self) -> None:
        self.halt.set()
        self.join(30)
