"""Query parameters that take values from a fixed set, typed so the OpenAPI document says so.

List filters (`?status=`) accept the parameter repeated, or values separated by commas; the
item schema states both: one of the values, or a comma-separated run of them. Anything else is
a 422 naming the parameter, as for every other parameter.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from agentops_tui.models import AgentStatus, AlertStatus, SessionStatus, TaskStatus


class _CommaSeparated:
    """The check and the item schema of a filter over `values`."""

    def __init__(self, values: tuple[str, ...]) -> None:
        choice = "|".join(re.escape(v) for v in values)
        self.pattern = f"^(?:{choice})(?:,(?:{choice}))*$"
        self.allowed = ", ".join(values)
        self.schema: dict[str, Any] = {
            "anyOf": [
                {"type": "string", "enum": list(values)},
                {"type": "string", "pattern": self.pattern},
            ],
            "description": f"one of {self.allowed}, or several separated by commas",
        }

    def check(self, value: str) -> str:
        # `re.search` with the published pattern: the test a client or a fuzzer applies.
        if re.search(self.pattern, value) is None:
            raise PydanticCustomError(
                "not_in_set", "'{value}' is not one of {allowed}, or several of them separated"
                " by commas", {"value": value, "allowed": self.allowed})
        return value


_agent = _CommaSeparated(get_args(AgentStatus))
_session = _CommaSeparated(get_args(SessionStatus))
_alert = _CommaSeparated(get_args(AlertStatus))
_task = _CommaSeparated(get_args(TaskStatus))
AgentStatusFilter = Annotated[str, AfterValidator(_agent.check), WithJsonSchema(_agent.schema)]
SessionStatusFilter = Annotated[
    str, AfterValidator(_session.check), WithJsonSchema(_session.schema)]
AlertStatusFilter = Annotated[str, AfterValidator(_alert.check), WithJsonSchema(_alert.schema)]
TaskStatusFilter = Annotated[str, AfterValidator(_task.check), WithJsonSchema(_task.schema)]


# Epoch seconds or an RFC 3339 date-time (models.Timestamp parses both).
TimeParam = Annotated[str, WithJsonSchema({"anyOf": [
    {"type": "number"}, {"type": "string", "format": "date-time"}]})]


def split(values: list[str] | None) -> list[str]:
    """`['a,b', 'c']` -> `['a', 'b', 'c']` (values already checked by their filter type)."""
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]
