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


def test_burst_then_refuse_until_the_window_moves() -> None:
    limiter = RateLimiter(Rate(250, 10))
    assert all(limiter.check("t", 100.0) == 0 for _ in range(250))
    assert limiter.check("t", 100.0) == 10  # the burst leaves the window at 110
    assert limiter.check("other", 100.0) == 0  # windows are per key
    assert limiter.check("t", 109.5) == 1
    assert limiter.check("t", 110.0) == 0  # the burst has left
    assert limiter.check("t", 110.0) == 0


def test_wait_for_slow_rates() -> None:
    limiter = RateLimiter(Rate(2, 60))
    assert limiter.check("t", 0.0) == 0 and limiter.check("t", 30.0) == 0
    assert limiter.check("t", 31.0) == 29
    assert limiter.check("t", 60.0) == 0  # the first left
    assert limiter.check("t", 61.0) == 29


@given(st.lists(st.floats(0, 5), min_size=1, max_size=400), st.integers(1, 50), st.floats(0.5, 20))
def test_never_more_than_limit_in_any_window(gaps: list[float], limit: int, period: float) -> None:
    limiter = RateLimiter(Rate(limit, period))
    now, allowed = 0.0, []
    for gap in gaps:
        now += gap
        if limiter.check("t", now) == 0:
            allowed.append(now)
    # in any window of `period` seconds at most `limit` requests pass
    for i, start in enumerate(allowed):
        inside = [t for t in allowed[i:] if t < start + period]
        assert len(inside) <= limit


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(Rate(10, 1), max_keys=100)
    for n in range(1000):
        limiter.check(n, float(n))
    assert len(limiter._log) <= 100
