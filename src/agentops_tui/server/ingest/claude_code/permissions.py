"""How a Claude Code permission prompt reads in Review: the tool and the input that matters
(`Bash: rm -rf build/`), and the whole input as detail. Both redacted: a command line or a
file's content can carry a secret."""

from __future__ import annotations

import json
from typing import Any

from agentops_tui.server.redact import redact, redact_json

MAX_SUMMARY = 300
MAX_DETAIL = 16_000

# The input field that says what a tool call will do, per Claude Code tool.
KEY_INPUT = {
    "Bash": "command", "Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
    "Read": "file_path", "NotebookEdit": "notebook_path", "WebFetch": "url",
    "WebSearch": "query", "Grep": "pattern", "Glob": "pattern", "Task": "description",
    "Agent": "description", "Skill": "skill",
}


def permission_summary(tool: str | None, tool_input: Any) -> str:
    name = tool or "a tool"
    if not isinstance(tool_input, dict):
        return redact(name)[:MAX_SUMMARY]
    key = KEY_INPUT.get(name)
    value = tool_input.get(key) if key else None
    if not isinstance(value, str) or not value.strip():
        # an MCP tool or one added later: its first short text input, else the input
        value = next((v for v in tool_input.values() if isinstance(v, str) and v.strip()),
                     json.dumps(tool_input, default=str))
    line = " ".join(value.split())  # one line, however the command was written
    summary = redact(f"{name}: {line}")
    return summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "…"


def permission_detail(tool_input: Any) -> str | None:
    if tool_input is None:
        return None
    text = json.dumps(redact_json(tool_input), indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
