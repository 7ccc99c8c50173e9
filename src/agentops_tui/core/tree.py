"""The subagent tree: sessions under their parents, with cost and status rolled up."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agentops_tui.models import ACTIVE_SESSION_STATUSES, Session


@dataclass
class TreeNode:
    session: Session
    children: list[TreeNode] = field(default_factory=list)
    cost_usd: float = 0.0  # this session and everything below it
    priced: bool = True  # False when any of them has a partial cost
    tokens: int = 0
    sessions: int = 0
    active: int = 0
    failed: int = 0
    depth: int = 0

    def rollup(self) -> dict[str, object]:
        return {
            "cost_usd": self.cost_usd,
            "priced": self.priced,
            "tokens": self.tokens,
            "sessions": self.sessions,
            "active": self.active,
            "failed": self.failed,
        }


def forest_json(forest: Iterable[TreeNode]) -> str:
    """The forest as a JSON array of `{session, rollup, children}`.

    Written with an explicit stack: a chain of subagents may be thousands deep, past both
    the recursion limit and the nesting the standard encoders accept.
    """
    parts: list[str] = []
    # Each entry is either a node to open or the text that closes one.
    pending: list[TreeNode | str] = ["]"]
    first = True
    for node in reversed(list(forest)):
        pending.append(node)
    parts.append("[")
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)
            first = False
            continue
        if not first:
            parts.append(",")
        parts.append('{"session":')
        parts.append(item.session.model_dump_json())
        parts.append(',"rollup":')
        parts.append(json.dumps(item.rollup()))
        parts.append(',"children":[')
        pending.append("]}")
        pending.extend(reversed(item.children))
        first = True
    return "".join(parts)


def session_tokens(s: Session) -> int:
    return s.input_tokens + s.output_tokens + s.cache_read_tokens + s.cache_write_tokens


def build_forest(
    sessions: Mapping[str, Session],
    children: Mapping[str, Iterable[str]],
    roots: Iterable[str] | None = None,
) -> list[TreeNode]:
    """Trees rooted at `roots` (default: sessions whose parent is unknown), newest first.

    Iterative, so a deep chain of subagents cannot hit the recursion limit; a cycle in bad
    data is cut where it closes.
    """
    if roots is None:
        roots = [
            s.id
            for s in sessions.values()
            if not s.parent_session_id or s.parent_session_id not in sessions
        ]
    forest: list[TreeNode] = []
    seen: set[str] = set()
    for root_id in roots:
        if root_id in seen or root_id not in sessions:
            continue
        root = TreeNode(sessions[root_id])
        seen.add(root_id)
        order = [root]
        stack = [root]
        while stack:
            node = stack.pop()
            for child_id in children.get(node.session.id, ()):
                if child_id in seen or child_id not in sessions:
                    continue
                seen.add(child_id)
                child = TreeNode(sessions[child_id], depth=node.depth + 1)
                node.children.append(child)
                order.append(child)
                stack.append(child)
        for node in reversed(order):  # children before parents
            s = node.session
            node.children.sort(key=lambda n: n.session.started_at)
            node.cost_usd = s.cost_usd + sum(c.cost_usd for c in node.children)
            node.priced = s.priced and all(c.priced for c in node.children)
            node.tokens = session_tokens(s) + sum(c.tokens for c in node.children)
            node.sessions = 1 + sum(c.sessions for c in node.children)
            node.active = (s.status in ACTIVE_SESSION_STATUSES) + sum(
                c.active for c in node.children
            )
            node.failed = (s.status == "failed") + sum(c.failed for c in node.children)
        forest.append(root)
    forest.sort(key=lambda n: n.session.started_at, reverse=True)
    return forest


def flatten(forest: Iterable[TreeNode], collapsed: set[str] | None = None) -> list[TreeNode]:
    """Depth-first rows for display; children of `collapsed` ids are left out."""
    rows: list[TreeNode] = []
    stack = list(reversed(list(forest)))
    while stack:
        node = stack.pop()
        rows.append(node)
        if collapsed is None or node.session.id not in collapsed:
            stack.extend(reversed(node.children))
    return rows
