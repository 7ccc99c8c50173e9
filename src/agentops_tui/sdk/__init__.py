"""The agent SDK: report sessions, messages, tool calls and usage; obey pause, resume,
inject, redirect and kill at `checkpoint()` (redirect also through `on_redirect`); wait for
an operator's approval. The agent registers with the actions it obeys (`capabilities`).

    async with AsyncAgentClient(url, token, "ag-1", kind="coder") as agent:
        session = agent.session(title="fix login bug")
        for step in plan:
            for note in await session.checkpoint():
                ...  # the operator said something
            session.message("looking at auth.py")
        session.end()
"""

from agentops_tui.sdk.client import AsyncAgentClient, IngestRejected
from agentops_tui.sdk.session import ApprovalResult, AsyncSession, SessionKilled
from agentops_tui.sdk.sync import AgentClient, Session
from agentops_tui.sdk.tasks import TaskRefused

__all__ = [
    "AgentClient", "ApprovalResult", "AsyncAgentClient", "AsyncSession", "IngestRejected",
    "Session", "SessionKilled", "TaskRefused",
]
