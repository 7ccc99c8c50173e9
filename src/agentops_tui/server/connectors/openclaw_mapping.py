"""What the OpenClaw gateway says, as agentops ingest events (pure functions).

Every event carries an `event_key` made from the gateway's own ids (its transcript entry id,
its run's session id), so catching up after a reconnect — `chat.history` replayed over what
live events already reported — stores each thing once.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 65_536
ROLES = {"user": "user", "assistant": "assistant", "system": "system",
         "toolResult": "tool", "tool": "tool"}
# OpenClaw session statuses that end a run for good, and how agentops names the end
ENDED = {"killed": "killed", "failed": "failed", "error": "failed", "timeout": "failed"}
WAITING_DETAIL = "waiting for the next message"
# the start of the idempotency key of every message the bridge sends (then the command's id)
SENT_BY_US = "agentops:"


def session_id_for(prefix: str, key: str) -> str:
    """The agentops session id of an OpenClaw session key (`agent:main:demo`)."""
    return f"{prefix}:{key}"


def agent_id_for(prefix: str, openclaw_agent: str) -> str:
    return f"{prefix}:{openclaw_agent}"


def agent_of(row: dict[str, Any]) -> str:
    """The OpenClaw agent a session row or event belongs to."""
    agent = row.get("agentId")
    if isinstance(agent, str) and agent:
        return agent
    parts = str(row.get("key") or row.get("sessionKey") or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "agent" else "main"


def text_of(content: Any) -> str:
    """The visible text of a message's content (a string or a list of typed blocks)."""
    if isinstance(content, str):
        return content[:MAX_TEXT]
    parts: list[str] = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text") or ""))
    return "\n".join(parts)[:MAX_TEXT]


def _tool_calls(content: Any) -> list[str]:
    names = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") in ("toolCall", "tool_use") \
                and block.get("name"):
            names.append(str(block["name"])[:200])
    return names


def message_events(session_id: str, message: dict[str, Any],
                   message_id: str | None) -> list[dict[str, Any]]:
    """A transcript entry: the message, its tool calls and its token usage."""
    meta = message.get("__openclaw") if isinstance(message.get("__openclaw"), dict) else {}
    entry_id = message_id or (meta or {}).get("id")
    if not entry_id:
        return []  # a row without an id cannot be told apart from its replay: skip it
    key = f"openclaw:msg:{entry_id}"
    role = ROLES.get(str(message.get("role")), "assistant")
    if role == "user" and str(message.get("idempotencyKey") or "").startswith(SENT_BY_US):
        return []  # the operator's inject: agentops recorded it when the gateway took it
    events: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        events.append({"type": "session.message", "session_id": session_id, "role": role,
                       "content": text, "event_key": key, **_ts(message.get("timestamp"))})
    for n, tool in enumerate(_tool_calls(message.get("content"))):
        events.append({"type": "session.tool_call", "session_id": session_id, "tool": tool,
                       "event_key": f"{key}:tool:{n}"})
    usage = message.get("usage")
    if isinstance(usage, dict) and role == "assistant":
        events.append({
            "type": "session.usage", "session_id": session_id,
            "model": str(message.get("model"))[:200] if message.get("model") else None,
            "input_tokens": _count(usage.get("input")),
            "output_tokens": _count(usage.get("output")),
            "cache_read_tokens": _count(usage.get("cacheRead")),
            "cache_write_tokens": _count(usage.get("cacheWrite")),
            "event_key": f"{key}:usage",
        })
    return events


def _ts(milliseconds: Any) -> dict[str, float]:
    """When the gateway says a thing happened (epoch milliseconds), if it says so plainly."""
    if isinstance(milliseconds, (int, float)) and 946_684_800_000 < milliseconds < 4e12:
        return {"ts": milliseconds / 1000}
    return {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def started_event(agent_id: str, session_id: str, row: dict[str, Any],
                  parent_session_id: str | None, task_id: str | None = None) -> dict[str, Any]:
    """`task_id`: the agentops task of a session the bridge spawned for one."""
    run = row.get("sessionId") or row.get("key")
    title = row.get("displayName") or row.get("label") or row.get("derivedTitle") or row["key"]
    return {"type": "session.started", "session_id": session_id, "agent_id": agent_id,
            "parent_session_id": parent_session_id, "task_id": task_id,
            "model": str(row["model"])[:200] if row.get("model") else None,
            "title": str(title)[:1000], "event_key": f"openclaw:started:{run}",
            **_ts(row.get("createdAt"))}


def status_event(session_id: str, row: dict[str, Any]) -> dict[str, Any] | None:
    """The agentops state of a session row: running, waiting for input, or ended.

    Only the end has a key of its own (one per run); the bridge sends a running or waiting
    state when it differs from the last one it sent, and a repeat of one changes nothing.
    """
    status = str(row.get("status") or "")
    run = row.get("sessionId") or row.get("key")
    if status in ENDED:
        return {"type": "session.ended", "session_id": session_id, "status": ENDED[status],
                "error": None if status == "killed" else f"OpenClaw reports the run {status}",
                "event_key": f"openclaw:ended:{run}"}
    if row.get("hasActiveRun") or status == "running":
        return {"type": "session.status", "session_id": session_id, "status": "running"}
    if status:  # done, idle: the turn is over and the session takes the next message
        return {"type": "session.status", "session_id": session_id, "status": "waiting",
                "detail": WAITING_DETAIL}
    return None
