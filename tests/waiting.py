"""Waiting for a condition, the one way every test does it: poll until it holds, fail with
what was awaited and the last value seen. Never a fixed sleep where a condition can be read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.02  # seconds between looks: short, since each look is cheap


def wait_for(check: Callable[[], T], timeout: float = 15.0, *,
             what: str = "the condition", interval: float | None = None) -> T:
    """Call `check` until it returns something truthy, and return that; AssertionError after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                                 f"(last: {value!r})")
        time.sleep(INTERVAL if interval is None else interval)


async def until(check: Callable[[], T], timeout: float = 15.0, *,
                what: str = "the condition") -> T:
    """`wait_for` inside an event loop: the loop keeps running between looks."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                                 f"(last: {value!r})")
        await asyncio.sleep(INTERVAL)
