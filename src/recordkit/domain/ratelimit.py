"""Request rate limits per API token, as RealtimeKit documents them (pure: the clock is passed in).

RealtimeKit allows 1,000 requests per 60 seconds on recordings endpoints and 250 per 10 seconds on
the others, per token. Each (token, class) pair keeps the times of its requests in the last
``period`` seconds, so no window of that length ever holds more than ``limit`` (a token bucket
would let twice as many through a window after a burst). A refused request learns how long to wait
(``retry-after``). The buckets live in this process: with several processes each
enforces the limit on the requests it serves (docs/security.md).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from recordkit.errors import InvalidRequest


@dataclass(frozen=True)
class Rate:
    limit: int  # requests ...
    period: float  # ... per this many seconds

    @classmethod
    def parse(cls, text: str, name: str) -> Rate | None:
        """``"1000/60"`` (requests/seconds); ``"0"`` or ``"off"``: no limit."""
        value = text.strip().lower()
        if value in ("0", "off", "none", ""):
            return None
        try:
            count, _, seconds = value.partition("/")
            rate = cls(int(count), float(seconds or "1"))
        except ValueError:
            raise InvalidRequest(f"{name}: expected REQUESTS/SECONDS such as 1000/60, got {text!r}") from None
        if rate.limit < 1 or not 0 < rate.period < 86_400 * 366:
            raise InvalidRequest(f"{name}: expected REQUESTS/SECONDS such as 1000/60, got {text!r}")
        return rate


class RateLimiter:
    """A sliding log per key: at most ``limit`` requests in any ``period`` seconds, exactly.

    ``check`` answers 0 (allowed, and counted) or the whole seconds until the oldest counted request
    leaves the window. Memory: one float per request still inside its window, keys bounded.
    """

    def __init__(self, rate: Rate, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._log: dict[object, deque[float]] = {}

    def check(self, key: object, now: float) -> int:
        log = self._log.get(key)
        if log is None:
            if len(self._log) >= self.max_keys:
                self._forget(now)
            log = self._log[key] = deque()
        horizon = now - self.rate.period
        while log and log[0] <= horizon:
            log.popleft()
        if len(log) >= self.rate.limit:
            return max(1, math.ceil(log[0] - horizon))
        log.append(now)
        return 0

    def _forget(self, now: float) -> None:
        """Drop keys with nothing inside the window (they carry no state worth keeping)."""
        horizon = now - self.rate.period
        self._log = {k: v for k, v in self._log.items() if v and v[-1] > horizon}
        if len(self._log) >= self.max_keys:
            self._log.clear()
