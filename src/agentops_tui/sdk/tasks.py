"""Taking work from the backend's work queues: dequeue (or steal), then complete or fail."""

from __future__ import annotations

from typing import Any

import httpx


class TaskRefused(Exception):
    """The backend refused a queue call (unknown queue or task, finished twice, bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        raise TaskRefused(response.status_code, message)


async def take(http: httpx.AsyncClient, queue_id: str, agent_id: str,
               steal: bool) -> dict[str, Any] | None:
    """The next task of `queue_id` for the agent, else (with `steal`) one from its team."""
    for verb in ("dequeue", "steal") if steal else ("dequeue",):
        response = await http.post(f"/api/v1/work-queues/{queue_id}/{verb}",
                                   json={"agent_id": agent_id})
        if response.status_code == 200:
            task: dict[str, Any] = response.json()
            return task
        if response.status_code == 409 and verb == "steal":
            return None  # the agent still holds a task: it is not idle
        if response.status_code != 204:
            _raise_for(response)
    return None


async def finish(http: httpx.AsyncClient, task_id: str, ok: bool,
                 value: Any) -> dict[str, Any]:
    path, body = ("complete", {"result": value}) if ok else ("fail", {"error": value})
    response = await http.post(f"/api/v1/work-queue-tasks/{task_id}/{path}", json=body)
    _raise_for(response)
    task: dict[str, Any] = response.json()
    return task
