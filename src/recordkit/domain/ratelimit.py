"""Request rate limits per API token, as RealtimeKit documents them (pure: the clock is passed in).

RealtimeKit allows 1,000 requests per 60 seconds on recordings endpoints and 250 per 10 seconds on
the others, per token. Each (token, class) pair is a token bucket (generic cell rate): ``limit``
requests may arrive at once, then one every ``period / limit`` seconds. A refused request learns how
long to wait (``retry-after``). The buckets live in this process: with several processes each
enforces the limit on the requests it serves (docs/security.md).
"""

from __future__ import annotations

import math
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
    """Token buckets keyed by any hashable; ``check`` answers 0 (allowed) or seconds to wait."""

    def __init__(self, rate: Rate, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.interval = rate.period / rate.limit
        self.burst = rate.period  # how far ahead of now the theoretical arrival time may run
        self.max_keys = max_keys
        self._tat: dict[object, float] = {}  # theoretical arrival time per key

    def check(self, key: object, now: float) -> int:
        tat = max(self._tat.get(key, now), now)
        if tat - now + self.interval > self.burst + 1e-9:
            return max(1, math.ceil(tat - now + self.interval - self.burst))
        if len(self._tat) >= self.max_keys and key not in self._tat:
            self._forget(now)
        self._tat[key] = tat + self.interval
        return 0

    def _forget(self, now: float) -> None:
        """Drop keys whose bucket is full again (they carry no state worth keeping)."""
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        if len(self._tat) >= self.max_keys:
            self._tat.clear()
