from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordkit.domain.ratelimit import Rate, RateLimiter
from recordkit.errors import InvalidRequest


def test_parse() -> None:
    assert Rate.parse("1000/60", "x") == Rate(1000, 60.0)
    assert Rate.parse("off", "x") is None and Rate.parse("0", "x") is None
    for bad in ("abc", "-1/60", "10/0", "10/x"):
        with pytest.raises(InvalidRequest):
            Rate.parse(bad, "x")


def test_burst_then_refuse_then_refill() -> None:
    limiter = RateLimiter(Rate(250, 10))
    assert all(limiter.check("t", 100.0) == 0 for _ in range(250))
    wait = limiter.check("t", 100.0)
    assert wait == 1  # one request frees up every 0.04 s
    assert limiter.check("other", 100.0) == 0  # buckets are per key
    assert limiter.check("t", 100.05) == 0  # one slot came back
    assert limiter.check("t", 100.05) > 0


def test_wait_grows_for_slow_rates() -> None:
    limiter = RateLimiter(Rate(2, 60))
    assert limiter.check("t", 0.0) == 0 and limiter.check("t", 0.0) == 0
    assert limiter.check("t", 0.0) == 30
    assert limiter.check("t", 29.0) == 1
    assert limiter.check("t", 30.0) == 0


@given(st.lists(st.floats(0, 5), min_size=1, max_size=400), st.integers(1, 50), st.floats(0.5, 20))
def test_never_more_than_limit_in_any_window(gaps: list[float], limit: int, period: float) -> None:
    limiter = RateLimiter(Rate(limit, period))
    now, allowed = 0.0, []
    for gap in gaps:
        now += gap
        if limiter.check("t", now) == 0:
            allowed.append(now)
    # in any window of `period` seconds at most `limit` requests (+1 for the boundary) pass
    for i, start in enumerate(allowed):
        inside = [t for t in allowed[i:] if t < start + period - 1e-6]
        assert len(inside) <= limit + 1


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(Rate(10, 1), max_keys=100)
    for n in range(1000):
        limiter.check(n, float(n))
    assert len(limiter._tat) <= 100
