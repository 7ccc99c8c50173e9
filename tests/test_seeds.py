"""The seed documents' own requests against a real server running a simulated fleet.

Seed 003's curl lines are kept here verbatim and run as written: their method, path, headers
and body, with only the host and token swapped (docs/compat.md). Its placeholder ids
(`wq_abc123`, `wt_abc123`) work once a queue and a task are created with those ids; run
instead with the ids the server chose, the same lines work too. Each such run has a workspace
of its own, so the simulated fleet's queues never take its tasks. Seed 002 shows no curl
lines, only its controller: its paths are called with the bodies its tests use, against the
simulated agents, which obey the commands.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agentops_tui.simulator import Simulator

from conftest import LiveServer, start_server
from sse import SseReader
from waiting import wait_for

pytestmark = pytest.mark.integration

SEED_003 = r"""
# Create a work queue
curl -X POST http://localhost:3000/work-queues \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{ "name": "bug-triage", "teamId": "engineering" }'

# Add a task to the queue
curl -X POST http://localhost:3000/work-queues/wq_abc123/tasks \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Investigate login timeout on mobile",
    "priority": 4,
    "payload": { "ticketId": "T-4821" },
    "deadline": "2026-03-08T17:00:00.000Z"
  }'

# Dequeue the next task (assigns to agent)
curl -X POST http://localhost:3000/work-queues/wq_abc123/dequeue \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{ "agentId": "triage-agent" }'

# Work stealing (take task from another queue)
curl -X POST http://localhost:3000/work-queues/wq_abc123/steal \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{ "agentId": "idle-agent" }'

# Complete a task
curl -X POST http://localhost:3000/work-queue-tasks/wt_abc123/complete \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{ "result": { "rootCause": "Session cookie SameSite attribute", "fix": "PR #312" } }'

# Fail a task
curl -X POST http://localhost:3000/work-queue-tasks/wt_abc123/fail \
  -H "Authorization: Bearer ${JWT_TOKEN}" \
  -H "Content-Type: application/json" \
  -d '{ "error": "Unable to reproduce on staging" }'
"""
SEED_HOST = "http://localhost:3000"


@dataclass
class Curl:
    comment: str
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def send(self, live: LiveServer, token: str, ids: dict[str, str] | None = None
             ) -> httpx.Response:
        """The line as written, at this server, with this token (and ids, if swapped)."""
        path = self.path
        for placeholder, real in (ids or {}).items():
            path = path.replace(placeholder, real)
        headers = {k: v.replace("${JWT_TOKEN}", token) for k, v in self.headers.items()}
        return httpx.request(self.method, live.url + path, headers=headers,
                             content=self.body.encode(), timeout=10)


def _curls(text: str) -> dict[str, Curl]:
    """The seed's curl commands by their comment (shell continuations joined)."""
    found: dict[str, Curl] = {}
    for block in text.strip().split("\n\n"):
        comment, _, command = block.partition("\n")
        words = shlex.split(command.replace("\\\n", " "))
        assert words[0] == "curl"
        method, url, headers, body = "GET", "", {}, ""
        i = 1
        while i < len(words):
            if words[i] == "-X":
                method, i = words[i + 1], i + 2
            elif words[i] == "-H":
                name, _, value = words[i + 1].partition(": ")
                headers[name], i = value, i + 2
            elif words[i] == "-d":
                body, i = words[i + 1], i + 2
            else:
                url, i = words[i], i + 1
        assert url.startswith(SEED_HOST)
        found[comment.lstrip("# ")] = Curl(comment, method, url.removeprefix(SEED_HOST),
                                           headers, body)
    return found


CURLS = _curls(SEED_003)


def test_every_seed_003_line_is_read() -> None:
    assert list(CURLS) == [
        "Create a work queue", "Add a task to the queue",
        "Dequeue the next task (assigns to agent)",
        "Work stealing (take task from another queue)", "Complete a task", "Fail a task"]
    assert json.loads(CURLS["Add a task to the queue"].body)["priority"] == 4


@dataclass
class Fleet:
    live: LiveServer
    sim: Simulator

    def token(self, role: str, workspace: str) -> str:
        return self.live.token_for(role, workspace, f"{role}-{workspace}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    live = start_server(tmp_path_factory.mktemp("seeds") / "agentops.db",
                        heartbeat_seconds=1.0)
    sim = Simulator(live.url, live.token, agents=6, seed=11, speed=20.0)
    sim.start_in_thread()
    try:
        yield Fleet(live, sim)
    finally:
        sim.stop()
        live.server.stop()


# ---- seed 003: work queues ---------------------------------------------------------------

TASK_FIELDS = {"id", "queue_id", "name", "priority", "payload", "deadline", "status",
               "assignee", "result", "error"}


def _create_placeholders(live: LiveServer, token: str, task: bool) -> None:
    """The queue `wq_abc123` (and the task `wt_abc123`) the seed's lines name, made with
    the seed's own bodies plus the id."""
    create = json.loads(CURLS["Create a work queue"].body)
    with live.client(token) as c:
        r = c.post("/work-queues", json={"id": "wq_abc123", **create})
        assert r.status_code == 201 and r.json()["id"] == "wq_abc123", r.text
        if task:
            body = json.loads(CURLS["Add a task to the queue"].body)
            r = c.post("/work-queues/wq_abc123/tasks", json={"id": "wt_abc123", **body})
            assert r.status_code == 201 and r.json()["id"] == "wt_abc123", r.text


def test_seed_003_lines_verbatim_with_the_placeholder_ids(fleet: Fleet) -> None:
    live = fleet.live
    token = fleet.token("operator", "seed-003")
    _create_placeholders(live, token, task=False)

    r = CURLS["Create a work queue"].send(live, token)
    assert r.status_code == 201
    other = r.json()
    assert other["id"].startswith("wq_") and other["name"] == "bug-triage"
    assert other["team_id"] == "engineering"

    r = CURLS["Add a task to the queue"].send(live, token)
    assert r.status_code == 201
    task = r.json()
    assert TASK_FIELDS <= set(task)
    assert (task["queue_id"], task["name"], task["priority"], task["payload"]) == (
        "wq_abc123", "Investigate login timeout on mobile", 4, {"ticketId": "T-4821"})
    assert task["deadline"] == 1772989200.0 and task["status"] == "inbox"  # 2026-03-08T17:00Z

    r = CURLS["Dequeue the next task (assigns to agent)"].send(live, token)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["status"], r.json()["assignee"]) == (
        task["id"], "assigned", "triage-agent")
    r = CURLS["Dequeue the next task (assigns to agent)"].send(live, token)
    assert r.status_code == 204 and r.content == b""  # the seed: 204 when none is left

    r = CURLS["Work stealing (take task from another queue)"].send(live, token)
    assert r.status_code == 204  # the team's other queue is empty
    with live.client(token) as c:
        waiting = c.post(f"/work-queues/{other['id']}/tasks", json={"name": "elsewhere"}).json()
    r = CURLS["Work stealing (take task from another queue)"].send(live, token)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["assignee"]) == (waiting["id"], "idle-agent")

    with live.client(token) as c:
        body = json.loads(CURLS["Add a task to the queue"].body)
        c.post("/work-queues/wq_abc123/tasks", json={"id": "wt_abc123", **body}
               ).raise_for_status()
    r = CURLS["Complete a task"].send(live, token)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["status"], r.json()["result"]) == (
        "wt_abc123", "complete",
        {"rootCause": "Session cookie SameSite attribute", "fix": "PR #312"})
    r = CURLS["Fail a task"].send(live, token)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"  # already done


def test_seed_003_fail_line_verbatim(fleet: Fleet) -> None:
    token = fleet.token("operator", "seed-003-fail")
    _create_placeholders(fleet.live, token, task=True)
    r = CURLS["Fail a task"].send(fleet.live, token)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["status"], r.json()["error"]) == (
        "wt_abc123", "failed", "Unable to reproduce on staging")


def test_seed_003_lines_with_the_ids_the_server_chose(fleet: Fleet) -> None:
    live = fleet.live
    token = fleet.token("operator", "seed-003-ids")
    queue = CURLS["Create a work queue"].send(live, token).json()["id"]
    ids = {"wq_abc123": queue}
    first = CURLS["Add a task to the queue"].send(live, token, ids).json()["id"]
    second = CURLS["Add a task to the queue"].send(live, token, ids).json()["id"]
    taken = CURLS["Dequeue the next task (assigns to agent)"].send(live, token, ids)
    assert taken.json()["id"] == first  # same priority and deadline: the older first
    assert CURLS["Work stealing (take task from another queue)"].send(
        live, token, ids).status_code == 204  # no other queue of the team here
    r = CURLS["Complete a task"].send(live, token, {"wt_abc123": first})
    assert r.status_code == 200 and r.json()["status"] == "complete"
    r = CURLS["Fail a task"].send(live, token, {"wt_abc123": second})
    assert r.status_code == 200 and r.json()["status"] == "failed"


def test_seed_003_reference_table(fleet: Fleet) -> None:
    """The seed's endpoint reference: list, get, list tasks by status, delete."""
    live = fleet.live
    token = fleet.token("operator", "seed-003-table")
    _create_placeholders(live, token, task=True)
    with live.client(token) as c:
        listed = c.get("/work-queues").json()["queues"]
        assert [q["id"] for q in listed] == ["wq_abc123"]
        assert listed[0]["counts"]["inbox"] == 1
        one = c.get("/work-queues/wq_abc123").json()
        assert (one["name"], one["team_id"]) == ("bug-triage", "engineering")
        inbox = c.get("/work-queues/wq_abc123/tasks", params={"status": "inbox"}).json()
        assert [t["id"] for t in inbox["tasks"]] == ["wt_abc123"]
        assert c.get("/work-queues/wq_abc123/tasks", params={"status": "failed"}).json() == {
            "tasks": []}
        assert c.delete("/work-queues/wq_abc123").status_code == 409  # an open task
        r = c.delete("/work-queues/wq_abc123", params={"force": "true"})
        assert r.status_code == 200 and r.json()["failed_tasks"] == ["wt_abc123"]
        assert c.get("/work-queues/wq_abc123").status_code == 404


def test_seed_003_paths_keep_the_main_apis_auth_roles_and_workspaces(fleet: Fleet) -> None:
    live = fleet.live
    token = fleet.token("operator", "seed-003-auth")
    _create_placeholders(live, token, task=True)
    line = CURLS["Complete a task"]
    r = line.send(live, "not-a-token")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = line.send(live, fleet.token("viewer", "seed-003-auth"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = line.send(live, fleet.token("operator", "elsewhere"))
    assert r.status_code == 404  # wt_abc123 lives in another workspace
    with live.client(token) as c:
        r = c.post("/work-queues/wq_abc123/tasks", json={"name": "x", "priority": 9})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("priority")
        r = c.post("/work-queues", json={"id": "wq_abc123", "name": "again"})
        assert r.status_code == 409
        r = c.post("/work-queues", json={"id": "queue 1", "name": "x"})
        assert r.status_code == 422
        # the same operation under both paths: one state (read until no simulated worker
        # changed the queue between the two reads)
        wait_for(lambda: c.get("/api/v1/work-queues/wq_abc123/tasks").json()
                 == c.get("/work-queues/wq_abc123/tasks").json(), 15,
                 what="both paths to give the same tasks")


# ---- seed 002: agents --------------------------------------------------------------------

TREE_FIELDS = {"sessionId", "parentSessionId", "status", "agentType", "taskSource",
               "spawnedAt", "completedAt"}
MESSAGE_FIELDS = {"id", "sessionId", "role", "content", "timestamp"}


def _busy_agent(fleet: Fleet, avoid: frozenset[str] = frozenset()) -> str:
    """A simulated agent with a running session that has said something."""
    def pick() -> str | None:
        with fleet.live.client() as c:
            snap = c.get("/api/v1/snapshot").json()
        for session in snap["sessions"]:
            if (session["status"] == "running" and session["messages"] >= 2
                    and session["agent_id"] not in avoid):
                return str(session["agent_id"])
        return None

    return wait_for(pick, 30, what="a simulated agent at work")


def _outcome(fleet: Fleet, command_id: str) -> dict[str, Any]:
    """The audit entry that says how a command ended."""
    def find() -> dict[str, Any] | None:
        with fleet.live.client() as c:
            entries = c.get("/api/v1/audit", params={"action": "command."}).json()["entries"]
        return next((e for e in entries if e["payload"]["command_id"] == command_id), None)

    return wait_for(find, 30, what=f"the outcome of {command_id}")


def _obeyed(fleet: Fleet, answer: httpx.Response, action: str) -> list[dict[str, Any]]:
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["message"].startswith(f"{action} sent to") and body["action"] == action
    outcomes = [_outcome(fleet, c["id"]) for c in body["commands"]]
    # an agent's subagent session may end before it answers: its command expires, saying so
    assert any(o["action"] == "command.acked" for o in outcomes), [
        (o["action"], o["result"]) for o in outcomes]
    for o in outcomes:
        assert o["payload"]["action"] == action and o["payload"]["issued_by"] == "test-admin"
        assert o["action"] == "command.acked" or "session ended" in o["result"], o
    return outcomes


def _ended_under_us(answer: httpx.Response) -> bool:
    """The simulated agent's session ended (or failed) while the test acted on it."""
    if answer.status_code == 409:
        return answer.json()["error"]["code"] == "no_active_session"
    return False


def _inject_pause_resume(fleet: Fleet, agent_id: str) -> bool:
    """The seed's agent actions on one simulated agent; False when its session ended under
    the test (the simulator fails some sessions on purpose) before the actions were made."""
    with fleet.live.client() as c:
        r = c.post(f"/agents/{agent_id}/inject", json={"message": "pause and summarize"})
        if _ended_under_us(r) or (r.status_code == 202 and all(
                "any more" in (_outcome(fleet, cmd["id"])["result"] or "")
                for cmd in r.json()["commands"])):
            return False
        _obeyed(fleet, r, "inject")
        mine = wait_for(lambda: [
            m for m in c.get(f"/agents/{agent_id}/messages", params={"limit": 1000}).json()[
                "messages"] if m["role"] == "operator"], what="the injected message stored")
        assert mine[0]["content"] == "pause and summarize"

        first = c.post(f"/agents/{agent_id}/pause", json={})
        if _ended_under_us(first):
            return False
        _obeyed(fleet, first, "pause")
        paused = {cmd["session_id"] for cmd in first.json()["commands"]}
        # the agent reports each session paused once it holds it, just after its ack
        wait_for(lambda: all(c.get(f"/api/v1/sessions/{sid}").json()["status"]
                             in ("paused", "completed", "failed", "killed") for sid in paused),
                 30, what="the paused sessions to show paused")
        again = c.post(f"/agents/{agent_id}/pause", json={})
        if again.status_code == 409:  # nothing left to pause
            skipped = again.json()["error"]["details"].get("skipped", [])
        else:  # the simulated agent started a session since: only that one is paused now
            assert again.status_code == 202, again.text
            skipped = again.json()["skipped"]
            assert not paused & {cmd["session_id"] for cmd in again.json()["commands"]}
        # a session already paused is skipped, never paused twice
        still = {sid for sid in paused
                 if c.get(f"/api/v1/sessions/{sid}").json()["status"] == "paused"}
        assert still, "no session stayed paused"
        assert still <= {x["session_id"] for x in skipped}, again.text
        _obeyed(fleet, c.post(f"/agents/{agent_id}/resume", json={}), "resume")
    return True


def test_seed_002_inject_pause_resume_act_on_the_agents_sessions(fleet: Fleet) -> None:
    tried: set[str] = set()
    while True:  # a simulated session may fail just as the test picks its agent: another
        agent_id = _busy_agent(fleet, frozenset(tried))
        tried.add(agent_id)
        if _inject_pause_resume(fleet, agent_id):
            break
        assert len(tried) < 4, f"every agent tried ended its session under the test: {tried}"
    with fleet.live.client() as c:
        r = c.post("/agents/no-such-agent/pause", json={})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_seed_002_a_finished_agent_answers_409(fleet: Fleet) -> None:
    token = fleet.token("operator", "seed-002-idle")
    with fleet.live.client(token) as c:
        c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "done", "name": "done"},
            {"type": "session.started", "session_id": "s", "agent_id": "done"},
            {"type": "session.ended", "session_id": "s", "status": "completed"},
        ]}).raise_for_status()
        for action in ("inject", "pause", "resume"):
            r = c.post(f"/agents/done/{action}", json={"message": "hello"})
            assert r.status_code == 409, r.text
            assert r.json()["error"]["code"] == "no_active_session"


def test_seed_002_messages_are_paged_across_the_agents_sessions(fleet: Fleet) -> None:
    agent_id = _busy_agent(fleet)
    with fleet.live.client() as c:
        first = c.get(f"/agents/{agent_id}/messages", params={"limit": 2}).json()
        assert {"messages", "total", "skip", "limit", "hasMore"} <= set(first)
        assert len(first["messages"]) == 2 and first["total"] >= 2
        for m in first["messages"]:
            assert MESSAGE_FIELDS <= set(m) and m["agentId"] == agent_id
        second = c.get(f"/agents/{agent_id}/messages", params={"skip": 1, "limit": 1}).json()
        assert second["messages"] == first["messages"][1:]
        assert c.get(f"/agents/{agent_id}/messages", params={"limit": 0}).status_code == 422
        assert c.get("/agents/nobody/messages").status_code == 404


def test_seed_002_message_stream_replays_then_resumes_by_last_event_id(
        fleet: Fleet) -> None:
    """An agent reporting over REST beside the simulated fleet, whose traffic the stream
    filters out (keeping the connection alive meanwhile)."""
    def say(*lines: str) -> None:
        with fleet.live.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                {"type": "session.message", "session_id": "watched-1", "role": "assistant",
                 "content": line} for line in lines]}).raise_for_status()

    with fleet.live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "watched", "name": "watched"},
            {"type": "session.started", "session_id": "watched-1", "agent_id": "watched"},
        ]}).raise_for_status()
    say("one", "two", "three", "four")
    headers = {"Authorization": f"Bearer {fleet.live.token}"}
    url = f"{fleet.live.url}/agents/watched/messages/stream"
    reader = SseReader(url, headers, params={"replay": 3}).start()
    try:
        replayed = reader.wait_for(3, timeout=30)
        say("five", "six")
        frames = reader.wait_for(5, timeout=30)
    finally:
        reader.stop()
    assert reader.retry is not None
    assert all(f.event == "message" and MESSAGE_FIELDS <= set(f.data) for f in frames)
    assert [f.data["content"] for f in frames] == ["two", "three", "four", "five", "six"]
    assert len({f.id for f in replayed}) == 1  # the replay: as of one log position
    assert int(replayed[0].id) < int(frames[3].id) < int(frames[4].id)
    resumed = SseReader(url, {**headers, "Last-Event-ID": frames[3].id}).start()
    try:  # from the log: exactly what came after
        again = resumed.wait_for(1, timeout=30)
    finally:
        resumed.stop()
    assert (again[0].id, again[0].data) == (frames[4].id, frames[4].data)


def test_seed_002_tree_lists_sessions_with_their_parents(fleet: Fleet) -> None:
    def nested() -> list[dict[str, Any]]:
        with fleet.live.client() as c:
            tree = c.get("/agents/tree").json()
        return tree if any(e["parentSessionId"] for e in tree) else []

    tree = wait_for(nested, 30, what="a subagent session")
    assert all(TREE_FIELDS <= set(e) for e in tree)
    ids = {e["sessionId"] for e in tree}
    child = next(e for e in tree if e["parentSessionId"] in ids)
    assert child["agentType"] and child["spawnedAt"].endswith("Z")
    with fleet.live.client() as c:
        assert len(c.get("/agents/tree", params={"limit": 1}).json()) == 1


def test_seed_002_killswitch(fleet: Fleet) -> None:
    """Last: it stops the fleet. One agent first, then all, as the seed's killswitch does."""
    agent_id = _busy_agent(fleet)
    viewer = fleet.token("viewer", "default")
    operator = fleet.token("operator", "default")
    with fleet.live.client(viewer) as c:
        assert c.post(f"/agents/{agent_id}/kill").status_code == 403
    with fleet.live.client(operator) as c:
        killed = c.post(f"/agents/{agent_id}/kill")
        assert killed.status_code == 202 and killed.json()["commands"]
        assert c.post("/agents/kill-all").status_code == 403  # admin only, as the killswitch
    with fleet.live.client() as c:
        r = c.post("/agents/kill-all")
    assert r.status_code == 202
    summary = r.json()
    assert {"message", "total", "killed", "failed"} <= set(summary)
    assert summary["total"] == summary["killed"] + summary["failed"]
    assert summary["message"].startswith("Kill all completed")
