"""Bodies of the requests operators and agents send to act: commands, approvals, queues.

Like every wire model they accept snake_case and camelCase field names (`WireModel`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from agentops_tui.models import WireModel
from agentops_tui.wire_values import Deadline, Id, JsonValue, integral

# ---- operator actions ----------------------------------------------------------------------


class InjectRequest(WireModel):
    message: Annotated[str, Field(min_length=1, max_length=16_384)]


class KillswitchRequest(WireModel):
    confirm: Literal["KILL ALL"]


class AckRequest(WireModel):
    ok: bool
    detail: Annotated[str, Field(max_length=4000)] | None = None
    # a spawn's answer: the id of the session the agent started
    session_id: Id | None = None


MAX_PROMPT = 16_384


class SpawnRequest(WireModel):
    """Start a new session of an agent with this prompt (`task_id`: the task it works on)."""

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT)]
    task_id: Id | None = None

    @field_validator("prompt")
    @classmethod
    def _says_something(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("the prompt is blank: say what the new session should do")
        return prompt


class ApproveRequest(WireModel):
    note: Annotated[str, Field(max_length=4000)] | None = None


class RejectRequest(WireModel):
    reason: Annotated[str, Field(max_length=4000)] | None = None


# ---- work queues ---------------------------------------------------------------------------

Priority = Annotated[
    int, Field(ge=1, le=5, description="1 (lowest) to 5 (most urgent)"), BeforeValidator(integral)]


class CreateQueueRequest(WireModel):
    id: Annotated[str, Field(pattern=r"^wq_[A-Za-z0-9_-]{1,64}$", description=(
        "the queue's id, `wq_` then 1-64 letters, digits, `_` or `-`; chosen by the server"
        " when absent"))] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    team_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=4000)] | None = None


class CreateTaskRequest(WireModel):
    id: Annotated[str, Field(pattern=r"^wt_[A-Za-z0-9_-]{1,64}$", description=(
        "the task's id, `wt_` then 1-64 letters, digits, `_` or `-`; chosen by the server"
        " when absent"))] | None = None
    name: Annotated[str, Field(min_length=1, max_length=1000)]
    priority: Priority = 3
    payload: JsonValue = None
    deadline: Deadline | None = None


class TakeTaskRequest(WireModel):
    agent_id: Id


class CompleteTaskRequest(WireModel):
    result: JsonValue = None


class FailTaskRequest(WireModel):
    error: Annotated[str, Field(max_length=16_384)] | None = None
