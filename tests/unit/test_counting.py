"""``recordkit.domain.counting``: how a time range splits into exact edges, whole hours, whole days."""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from recordkit.domain.counting import (
    DAY_MS,
    HOUR_MS,
    RangePlan,
    add_grouped,
    counter_keys,
    day_of,
    hour_of,
    plan_range,
)
from recordkit.domain.timefmt import MAX_MS, MIN_MS

T2020 = 1_577_836_800_000  # a day boundary
T2030 = 1_893_456_000_000


def pieces(plan: RangePlan) -> list[tuple[str, int, int]]:
    """Every piece as a half-open millisecond span, in time order."""
    out = [("exact", lo, hi) for lo, hi in plan.exact]
    out += [("hour", a * HOUR_MS, b * HOUR_MS) for a, b in plan.hours]
    out += [("day", a * DAY_MS, b * DAY_MS) for a, b in plan.days]
    return sorted(out, key=lambda p: p[1])


def first_whole(lo: int, step: int) -> int:
    """The first multiple of ``step`` at or after ``lo``."""
    return -(-lo // step) * step


def _offsets() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(0, 3),
        st.integers(0, HOUR_MS + 2),
        st.sampled_from([HOUR_MS - 1, HOUR_MS, HOUR_MS + 1, DAY_MS - 1, DAY_MS, DAY_MS + 1, 2 * DAY_MS]),
        st.integers(0, 3 * DAY_MS),
        st.integers(0, 400 * DAY_MS),
    )


def _starts() -> st.SearchStrategy[int]:
    aligned = st.integers(-50_000, 50_000).map(lambda h: T2020 + h * HOUR_MS)
    return st.one_of(
        st.integers(T2020, T2030),
        st.builds(lambda base, d: base + d, aligned, st.integers(-2, 2)),
        st.integers(-DAY_MS * 3, DAY_MS * 3),
        st.integers(MIN_MS, MAX_MS),
        st.sampled_from([MIN_MS, MIN_MS + 1, 0, -1, MAX_MS - DAY_MS]),
    )


ranges = st.builds(lambda start, length: (start, start + length - 1), _starts(), _offsets())


@settings(max_examples=1500, deadline=None, database=None)
@given(ranges)
def test_pieces_partition_the_range(bounds: tuple[int, int]) -> None:
    start, end = bounds
    plan = plan_range(start, end)
    parts = pieces(plan)
    if end < start:
        assert parts == []
        return
    # disjoint, contiguous, non-empty, and exactly [start, end]
    assert parts[0][1] == start
    assert parts[-1][2] == end + 1
    for (_, _, hi), (_, lo, _) in itertools.pairwise(parts):
        assert hi == lo
    assert all(lo < hi for _, lo, hi in parts)
    assert sum(hi - lo for _, lo, hi in parts) == end - start + 1
    # at most two ragged edges, two runs of hours, one run of days
    assert len(plan.exact) <= 2 and len(plan.hours) <= 2 and len(plan.days) <= 1
    for kind, lo, hi in parts:
        if kind == "exact":
            # an exact span never holds a whole hour bucket: that would be counted from counters
            assert first_whole(lo, HOUR_MS) + HOUR_MS > hi
            assert hi - lo < 2 * HOUR_MS
        elif kind == "hour":
            assert lo % HOUR_MS == 0 and hi % HOUR_MS == 0
            assert first_whole(lo, DAY_MS) + DAY_MS > hi  # never a whole day bucket in hours
            assert hi - lo < 2 * DAY_MS
        else:
            assert lo % DAY_MS == 0 and hi % DAY_MS == 0
    # edges first and last, then hours, days in the middle: e? h? d? h? e? (one run of hours without days)
    shape = "".join(kind[0] for kind, _, _ in parts)
    assert re.fullmatch(r"e?h?e?|e?h?dh?e?", shape), shape


@settings(max_examples=400, deadline=None, database=None)
@given(
    ranges,
    st.lists(st.integers(-DAY_MS * 3, DAY_MS * 3), max_size=60),
    st.lists(st.integers(T2020 - DAY_MS, T2030), max_size=60),
)
def test_counting_from_buckets_is_exact(bounds: tuple[int, int], near_epoch: list[int], modern: list[int]) -> None:
    """Counting points by the plan (buckets by hour_of/day_of) equals counting them one by one."""
    start, end = bounds
    points = sorted([*near_epoch, *modern, start, end, start - 1, end + 1])
    hours: dict[int, int] = {}
    days: dict[int, int] = {}
    for p in points:
        hours[hour_of(p)] = hours.get(hour_of(p), 0) + 1
        days[day_of(p)] = days.get(day_of(p), 0) + 1
    plan = plan_range(start, end)
    counted = sum(n for h, n in hours.items() for a, b in plan.hours if a <= h < b)
    counted += sum(n for d, n in days.items() for a, b in plan.days if a <= d < b)
    counted += sum(bisect.bisect_left(points, hi) - bisect.bisect_left(points, lo) for lo, hi in plan.exact)
    assert counted == sum(1 for p in points if start <= p <= end)


@pytest.mark.parametrize(
    ("start", "end", "exact", "hours", "days"),
    [
        (T2020, T2020 + DAY_MS - 1, [], [], [(T2020 // DAY_MS, T2020 // DAY_MS + 1)]),
        (T2020, T2020 + HOUR_MS - 1, [], [(T2020 // HOUR_MS, T2020 // HOUR_MS + 1)], []),
        (T2020, T2020, [(T2020, T2020 + 1)], [], []),
        (T2020 + 1, T2020 + HOUR_MS, [(T2020 + 1, T2020 + HOUR_MS + 1)], [], []),
        (
            T2020 - 1,
            T2020 + HOUR_MS,
            [(T2020 - 1, T2020), (T2020 + HOUR_MS, T2020 + HOUR_MS + 1)],
            [(T2020 // HOUR_MS, T2020 // HOUR_MS + 1)],
            [],
        ),
        (
            T2020 - HOUR_MS - 5,
            T2020 + DAY_MS + HOUR_MS + 5,
            [(T2020 - HOUR_MS - 5, T2020 - HOUR_MS), (T2020 + DAY_MS + HOUR_MS, T2020 + DAY_MS + HOUR_MS + 6)],
            [
                (T2020 // HOUR_MS - 1, T2020 // HOUR_MS),
                ((T2020 + DAY_MS) // HOUR_MS, (T2020 + DAY_MS) // HOUR_MS + 1),
            ],
            [(T2020 // DAY_MS, T2020 // DAY_MS + 1)],
        ),
        (T2020, T2020 - 1, [], [], []),
        (T2020, T2020 - 100, [], [], []),
    ],
)
def test_plan_examples(
    start: int,
    end: int,
    exact: list[tuple[int, int]],
    hours: list[tuple[int, int]],
    days: list[tuple[int, int]],
) -> None:
    plan = plan_range(start, end)
    assert sorted(plan.exact) == exact
    assert sorted(plan.hours) == hours
    assert plan.days == days


def test_negative_times_use_floor_buckets() -> None:
    assert hour_of(-1) == -1 and day_of(-1) == -1
    assert hour_of(0) == 0 and day_of(DAY_MS - 1) == 0
    assert hour_of(-HOUR_MS) == -1 and hour_of(-HOUR_MS - 1) == -2


@given(st.integers(MIN_MS, MAX_MS))
@settings(max_examples=50, deadline=None, database=None)
def test_whole_table_range_is_counted_from_days(ms: int) -> None:
    assume(ms > MIN_MS + 2 * DAY_MS)
    plan = plan_range(MIN_MS, ms)
    assert len(plan.days) == 1


@pytest.mark.parametrize(
    ("status", "invoked", "expiry", "keys"),
    [
        (
            "UPLOADED",
            T2020 + 1,
            None,
            [("T", "UPLOADED", 0), ("iH", "UPLOADED", T2020 // HOUR_MS), ("iD", "UPLOADED", T2020 // DAY_MS)],
        ),
        (
            "ERRORED",
            -1,
            T2020 + DAY_MS,
            [
                ("T", "ERRORED", 0),
                ("iH", "ERRORED", -1),
                ("iD", "ERRORED", -1),
                ("eH", "ERRORED", (T2020 + DAY_MS) // HOUR_MS),
                ("eD", "ERRORED", T2020 // DAY_MS + 1),
            ],
        ),
    ],
)
def test_counter_keys(status: str, invoked: int, expiry: int | None, keys: list[tuple[str, str, int]]) -> None:
    assert counter_keys(status, invoked, expiry) == keys


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["UPLOADED", "ERRORED", "INVOKED"]),
            st.integers(-(10**13), 10**13),
            st.none() | st.integers(-(10**13), 10**13),
        ),
        max_size=40,
    )
)
def test_grouped_counts_equal_per_row_counter_keys(rows: list[tuple[str, int, int | None]]) -> None:
    """An import batch counted by (status, invoked hour, expiry hour) groups gives the counters that
    adding each row's ``counter_keys`` gives."""
    per_row: Counter[tuple[str, str, int]] = Counter()
    groups: Counter[tuple[str, int, int | None]] = Counter()
    for status, invoked, expiry in rows:
        per_row.update(counter_keys(status, invoked, expiry))
        groups[(status, hour_of(invoked), None if expiry is None else hour_of(expiry))] += 1
    grouped: Counter[tuple[str, str, int]] = Counter()
    for (status, ih, eh), n in groups.items():
        add_grouped(grouped, status, ih, eh, n)
    assert +grouped == +per_row
