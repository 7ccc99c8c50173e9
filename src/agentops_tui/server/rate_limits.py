"""Per-minute rate limits, kept in memory with the `limits` package's moving window.

Two limits, each turned off by a rate of 0:
- failed authentication per client address. Only failures are counted and only further
  failures are refused, so a valid token is never locked out by someone else's bad guesses
  from the same address (agents behind one NAT, a shared proxy). Tokens carry 256 random bits,
  so this is not what stops guessing; it bounds what floods of bad credentials cost.
- expensive reads (audit export, costs, metrics, event and session paging) per token, so
  one client cannot monopolise the store's readers.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from agentops_tui.server.store.writer import Rejected


class RateLimited(Rejected):
    """A 429; the error handler turns `retry_after` into the `Retry-After` header."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, "too_many_requests", message, {"retry_after": retry_after})
        self.retry_after = retry_after


class _Limit:
    def __init__(self, limiter: MovingWindowRateLimiter, scope: str, per_minute: int,
                 what: str) -> None:
        self._limiter = limiter
        self._scope = scope
        self._what = what  # "failed authentications ... from this address"
        self._item: RateLimitItem | None = (
            RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        )

    def take(self, key: str) -> None:
        """Count one request for `key`; RateLimited, with the wait, once over the limit."""
        if self._item is None or self._limiter.hit(self._item, self._scope, key):
            return
        reset_at = self._limiter.get_window_stats(self._item, self._scope, key).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"more than {self._item.amount} {self._what}; retry in {retry_after} s", retry_after)


class RateLimits:
    def __init__(self, auth_failures_per_minute: int, expensive_reads_per_minute: int) -> None:
        limiter = MovingWindowRateLimiter(MemoryStorage())
        self._auth_failures = _Limit(limiter, "auth-failure", auth_failures_per_minute,
                                     "failed authentications a minute from this address")
        self._expensive_reads = _Limit(limiter, "expensive-read", expensive_reads_per_minute,
                                       "reads of this kind a minute with this token")

    def auth_failed(self, address: str) -> None:
        """Count a failed authentication from `address`; RateLimited once over the limit."""
        self._auth_failures.take(address)

    def expensive_read(self, caller: str) -> None:
        """Count an expensive read by `caller` (a token); RateLimited once over the limit."""
        self._expensive_reads.take(caller)
