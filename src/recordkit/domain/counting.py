"""How to count recordings in a time range from hour and day counters (pure).

The list endpoint must return an exact ``total_count`` without scanning a million rows. Every write
keeps counters per (app, status, hour) and (app, status, day) of ``invoked_time`` (and of
``download_url_expiry``) in the same transaction. A range is then counted as: the ragged edges
(less than an hour each) exactly from the index, the whole hours next to them from hour counters,
and the whole days in the middle from day counters. The cost no longer grows with the table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def hour_of(ms: int) -> int:
    return ms // HOUR_MS


def day_of(ms: int) -> int:
    return ms // DAY_MS


@dataclass(frozen=True)
class RangePlan:
    """Half-open ``[start, end)`` pieces of one range: exact ms spans, hour buckets, day buckets."""

    exact: list[tuple[int, int]] = field(default_factory=list)
    hours: list[tuple[int, int]] = field(default_factory=list)  # bucket numbers, [first, last)
    days: list[tuple[int, int]] = field(default_factory=list)


def _ceil_to(value: int, step: int) -> int:
    return -((-value) // step) * step


def plan_range(start_ms: int, end_ms_inclusive: int) -> RangePlan:
    """Split ``[start_ms, end_ms_inclusive]`` into exact edges, whole hours and whole days."""
    plan = RangePlan()
    end = end_ms_inclusive + 1
    if end <= start_ms:
        return plan
    hs, he = _ceil_to(start_ms, HOUR_MS), (end // HOUR_MS) * HOUR_MS
    if hs >= he:
        plan.exact.append((start_ms, end))
        return plan
    if start_ms < hs:
        plan.exact.append((start_ms, hs))
    if he < end:
        plan.exact.append((he, end))
    ds, de = _ceil_to(hs, DAY_MS), (he // DAY_MS) * DAY_MS
    if ds >= de:
        plan.hours.append((hs // HOUR_MS, he // HOUR_MS))
        return plan
    if hs < ds:
        plan.hours.append((hs // HOUR_MS, ds // HOUR_MS))
    plan.days.append((ds // DAY_MS, de // DAY_MS))
    if de < he:
        plan.hours.append((de // HOUR_MS, he // HOUR_MS))
    return plan


def counter_keys(status: str, invoked_ms: int, expiry_ms: int | None) -> list[tuple[str, str, int]]:
    """The (dimension, status, bucket) counters one recording contributes 1 to."""
    keys = [("T", status, 0), ("iH", status, hour_of(invoked_ms)), ("iD", status, day_of(invoked_ms))]
    if expiry_ms is not None:
        keys.append(("eH", status, hour_of(expiry_ms)))
        keys.append(("eD", status, day_of(expiry_ms)))
    return keys


def add_grouped(
    deltas: Counter[tuple[str, str, int]], status: str, invoked_hour: int, expiry_hour: int | None, n: int
) -> None:
    """Add ``n`` recordings of one (status, invoked hour, expiry hour) group: ``counter_keys`` for a
    group at once (an import batch is counted with one ``GROUP BY``)."""
    deltas[("T", status, 0)] += n
    deltas[("iH", status, invoked_hour)] += n
    deltas[("iD", status, invoked_hour // 24)] += n
    if expiry_hour is not None:
        deltas[("eH", status, expiry_hour)] += n
        deltas[("eD", status, expiry_hour // 24)] += n


def lapse_cut(now_ms: int) -> int:
    """Recordings whose expiry lies before this are flagged ``lapsed`` (an index of expired rows).

    One whole hour before the current one: a lapsed row's expiry is then never inside the ragged
    last hour that ``plan_range`` counts exactly, even with an hour of clock skew between writers.
    """
    return (now_ms // HOUR_MS - 1) * HOUR_MS


def is_lapsed(expiry_ms: int | None, now_ms: int) -> bool:
    return expiry_ms is not None and expiry_ms < lapse_cut(now_ms)
