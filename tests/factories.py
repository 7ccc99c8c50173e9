"""Event builders for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentops_tui.server.store.write_context import WriteContext


def agent(agent_id: str = "ag-1", **kw: Any) -> dict[str, Any]:
    return {"type": "agent.registered", "agent_id": agent_id, "name": f"name-{agent_id}",
            "kind": "coder", "model": "claude-sonnet-4", **kw}


def started(session_id: str = "se-1", agent_id: str = "ag-1", **kw: Any) -> dict[str, Any]:
    return {"type": "session.started", "session_id": session_id, "agent_id": agent_id, **kw}


def message(session_id: str = "se-1", content: str = "hello", **kw: Any) -> dict[str, Any]:
    return {"type": "session.message", "session_id": session_id, "role": "assistant",
            "content": content, **kw}


def usage(session_id: str = "se-1", inp: int = 1000, out: int = 100, **kw: Any) -> dict[str, Any]:
    return {"type": "session.usage", "session_id": session_id, "model": "claude-sonnet-4",
            "input_tokens": inp, "output_tokens": out, **kw}


def tool(session_id: str = "se-1", name: str = "Bash", **kw: Any) -> dict[str, Any]:
    return {"type": "session.tool_call", "session_id": session_id, "tool": name, **kw}


def ended(session_id: str = "se-1", status: str = "completed", **kw: Any) -> dict[str, Any]:
    return {"type": "session.ended", "session_id": session_id, "status": status, **kw}


def writer_job(*events: dict[str, Any], cost: float = 0.0,
               workspace: str = "default") -> Callable[[WriteContext], None]:
    """A writer job emitting `events` on se-1 as ingest would: usage priced at `cost`,
    messages numbered after the session's."""
    def job(ctx: WriteContext) -> None:
        for event in events:
            data = dict(event)
            if data["type"] == "session.usage":
                data["cost_usd"] = cost
            if data["type"] == "session.message":
                data["seq"] = ctx.fleet(workspace).sessions["se-1"].messages + 1
            ctx.emit(workspace, data["type"], data)
    return job
