"""core.fleet: the one apply function both the server and the console run."""

from __future__ import annotations

from typing import Any

from agentops_tui.core.fleet import Fleet
from agentops_tui.core.tree import build_forest, flatten


def _apply(fleet: Fleet, *events: dict[str, Any]) -> None:
    for i, event in enumerate(events, start=fleet.last_event_id + 1):
        fleet.apply(i, event["type"], float(event.get("ts", i)), event)


def test_agent_status_follows_its_sessions() -> None:
    f = Fleet()
    _apply(f, {"type": "agent.registered", "agent_id": "a", "name": "coder"})
    assert f.agents["a"].status == "idle"
    _apply(f, {"type": "session.started", "session_id": "s1", "agent_id": "a"},
           {"type": "session.started", "session_id": "s2", "agent_id": "a"})
    assert f.agents["a"].status == "running"
    _apply(f, {"type": "session.status", "session_id": "s2", "status": "waiting"})
    assert f.agents["a"].status == "waiting"  # waiting wins: a human is needed
    _apply(f, {"type": "session.status", "session_id": "s2", "status": "paused"},
           {"type": "session.status", "session_id": "s1", "status": "paused"})
    assert f.agents["a"].status == "paused"
    _apply(f, {"type": "session.ended", "session_id": "s1", "status": "completed"},
           {"type": "session.ended", "session_id": "s2", "status": "failed", "error": "x"})
    assert f.agents["a"].status == "error"
    assert f.active_by_agent["a"] == set()


def test_indexes_and_restart_keep_counts() -> None:
    f = Fleet()
    _apply(f, {"type": "session.started", "session_id": "p", "agent_id": "a", "task_id": "t"},
           {"type": "session.started", "session_id": "c", "agent_id": "b",
            "parent_session_id": "p"},
           {"type": "session.usage", "session_id": "c", "input_tokens": 5, "cost_usd": 0.5},
           {"type": "session.started", "session_id": "c", "agent_id": "b",
            "parent_session_id": "p", "title": "again"})
    assert f.sessions_by_task["t"] == {"p"}
    assert f.children["p"] == {"c"} and f.sessions_by_agent["b"] == {"c"}
    assert f.sessions["c"].input_tokens == 5 and f.sessions["c"].title == "again"
    assert f.last_event_id == 4


def test_events_for_unknown_sessions_are_harmless() -> None:
    f = Fleet()
    changes = f.apply(1, "session.usage", 1.0, {"session_id": "nope", "input_tokens": 1})
    assert not changes.sessions
    assert f.apply(2, "something.new", 2.0, {}).other == {"something.new"}


def test_commands_track_the_pending_one_per_session() -> None:
    f = Fleet()
    _apply(f, {"type": "session.started", "session_id": "s", "agent_id": "a"})
    cmd = {"id": "c1", "session_id": "s", "agent_id": "a", "action": "pause",
           "status": "pending", "issued_by": "op", "issued_at": 1, "updated_at": 1,
           "expires_at": 31}
    f.apply(2, "command.created", 2.0, cmd)
    assert f.pending_command_by_session == {"s": "c1"}
    f.apply(3, "command.updated", 3.0, {**cmd, "status": "acked"})
    assert f.pending_command_by_session == {}


def test_tree_is_iterative_and_cuts_cycles() -> None:
    f = Fleet()
    events: list[dict[str, Any]] = [{"type": "session.started", "session_id": "s0",
                                     "agent_id": "a"}]
    for i in range(1, 3000):  # deeper than the recursion limit
        events.append({"type": "session.started", "session_id": f"s{i}", "agent_id": "a",
                       "parent_session_id": f"s{i - 1}"})
    _apply(f, *events)
    [root] = build_forest(f.sessions, f.children)
    assert root.sessions == 3000 and len(flatten([root])) == 3000
    assert len(flatten([root], collapsed={"s0"})) == 1
    f.children.setdefault("s2999", set()).add("s0")  # bad data: a cycle
    [root] = build_forest(f.sessions, f.children, ["s0"])
    assert root.sessions == 3000
