"""Event builders for tests."""

from __future__ import annotations

from typing import Any


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
