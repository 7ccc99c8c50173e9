"""A replica that does not lead never writes the state checkpoint on its timer; under steady
ingest it must still let go of what the leader's checkpoints already hold, group by group,
instead of piling it up until it has to rebuild its memory from the tables (which stalls its
streams). Its reads stay exact meanwhile."""

from __future__ import annotations

import threading
import time

import httpx

from conftest import two_replicas
from factories import message, started, usage
from postgres_cluster import Cluster
from replica_helpers import client, leader_of, metric
from waiting import wait_for


def test_a_follower_lets_go_of_what_the_leaders_checkpoints_hold(postgres: Cluster) -> None:
    with two_replicas(postgres.new_database()) as (a, b, token):
        wait_for(lambda: leader_of((a, b), token) is not None, 15, what="one leader")
        leader, follower = (a, b) if leader_of((a, b), token) is a else (b, a)
        with client(leader.url, token) as cl, client(follower.url, token) as cf:
            cl.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
            wait_for(lambda: cf.get("/api/v1/sessions/se-1").status_code == 200, 15,
                     what="the follower to see the session")
            lags: list[float] = []
            done = threading.Event()

            def watch() -> None:  # the follower's checkpoint lag, while the leader ingests
                while not done.is_set():
                    lags.append(metric(follower.url, token, "agentops_writer_lag_events"))
                    done.wait(0.1)

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                # back to back, through several of the leader's 1 s checkpoints: the
                # follower has always folded further than the leader's last one when it looks
                posts = 0
                until = time.monotonic() + 6
                while time.monotonic() < until:
                    cl.post("/api/v1/ingest", json={"events": [
                        *(message(content=f"m{posts}-{k}") for k in range(20)),
                        usage(inp=100, out=10)]}).raise_for_status()
                    posts += 1
            finally:
                done.set()
                watcher.join(10)
            # the follower let go of what each of the leader's checkpoints held: its lag
            # stays within a second or two of ingest (it used to grow until 20,000 events
            # forced a rebuild, or a look happened to find nothing new since a checkpoint)
            assert max(lags) < posts * 21 / 2, lags

            # what it still holds and what the tables hold add up exactly, on both
            def contents(c: httpx.Client) -> list[str]:
                found: list[str] = []
                while True:
                    page = c.get("/api/v1/sessions/se-1/messages",
                                 params={"after": len(found), "limit": 1000}).json()
                    if not page["messages"]:
                        return found
                    found += [m["content"] for m in page["messages"]]

            messages = [contents(c) for c in (cf, cl)]
            assert messages[0] == messages[1]
            assert len(messages[0]) == posts * 20
            costs = [c.get("/api/v1/costs", params={"group_by": "agent"}).json()["rows"]
                     for c in (cf, cl, cf)]
            assert costs[0] == costs[1] == costs[2]
            assert costs[0][0]["input_tokens"] == posts * 100
