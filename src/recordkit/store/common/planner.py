"""The list planner: how a recording list request is counted and walked to its page, for both stores.

The decisions and their limits are here; each store turns a decision into its dialect's SQL.

- **Counting** (``Counting._count``): the exact counters of ``recording_counts``
  (``recordkit.domain.counting``) answer a list with no meeting and no search; a time range is
  split into whole days, whole hours and the ragged edges counted from an index (expiries past
  the lapse cut from the index of unlapsed rows); a search or a meeting is counted from its rows.
- **Walking** (``choose_walk``): a few search matches are fetched and sorted; a meeting walks its
  own index; a deep page of one status walks that status's index; a shallow page of some
  statuses merges one ordered walk per status; ``expired=true`` merges the lapsed rows with the
  unlapsed expired ones; anything else walks the time index. The two stores differ in two places
  (``Dialect``), each kept as it was measured.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from recordkit.domain.counting import lapse_cut, plan_range
from recordkit.domain.models import RECORDING_STATUSES
from recordkit.domain.query import RecordingQuery
from recordkit.domain.timefmt import MAX_MS, MIN_MS

# The conditions over ``recordings r`` (beside the app) as (kind, sql, params).
Filters = list[tuple[str, str, list[Any]]]

# Above this many rows to skip, a per-status merge costs more than one walk of the time index.
UNION_LIMIT = 5000
# Up to this many matches, fetching them and sorting beats walking an index in order.
SORT_LIMIT = 5000

C = TypeVar("C")


def join(filters: Filters) -> tuple[str, list[Any]]:
    """``" AND a AND b"`` and the parameters of ``filters``, in order."""
    where = "".join(" AND " + sql for _, sql, _ in filters)
    params = [p for _, _, ps in filters for p in ps]
    return where, params


def take(filters: Filters, kind: str) -> tuple[tuple[str, str, list[Any]], Filters]:
    """The filter of ``kind`` (there is one) and the others, in order."""
    return next(f for f in filters if f[0] == kind), [f for f in filters if f[0] != kind]


def replaced(filters: Filters, kind: str, sql: str, params: list[Any]) -> Filters:
    """``filters`` with the one of ``kind`` written as ``sql`` with ``params`` instead."""
    return [f if f[0] != kind else (kind, sql, params) for f in filters]


class Walk(enum.Enum):
    """How a page's rows are reached."""

    SORTED = "few search matches, fetched by meeting and sorted"
    TIME = "the time index, every filter checked on the way"
    MEETING = "the meeting's index"
    ONE_STATUS = "one status, as an equality (SQLite: its status index)"
    MERGE = "one ordered walk per status, merged"
    EXPIRED = "the lapsed rows and the unlapsed expired ones, merged"


@dataclass(frozen=True)
class Dialect:
    """Where the two stores' walks differ (results are the same either way)."""

    # A shallow page of a single status merges "per status" (one branch) rather than filtering by it.
    merge_one_status: bool
    # A single status with expired=true takes the expired merge rather than the status rule.
    expired_before_one_status: bool


SQLITE = Dialect(merge_one_status=True, expired_before_one_status=False)
POSTGRES = Dialect(merge_one_status=False, expired_before_one_status=True)


def choose_walk(q: RecordingQuery, total: int, offset: int, limit: int, dialect: Dialect) -> Walk:
    """The walk to the page ``[offset, offset + limit)`` of ``total`` matches."""
    if q.search is not None:
        return Walk.SORTED if total <= SORT_LIMIT else Walk.TIME
    if q.meeting_id is not None:
        return Walk.MEETING
    n = len(q.statuses)
    shallow = offset + limit <= UNION_LIMIT
    if n == 1 and q.expired is True and dialect.expired_before_one_status:
        return Walk.EXPIRED
    if n == 1 and not (shallow and dialect.merge_one_status):
        return Walk.ONE_STATUS
    if 0 < n < len(RECORDING_STATUSES) and shallow:
        return Walk.MERGE
    if q.expired is True:
        return Walk.EXPIRED
    return Walk.TIME


class Counting(Generic[C]):
    """The count decisions, mixed into a store; the store answers the hooks in its SQL."""

    def _sum(self, conn: C, app: int, dim: str, statuses: Sequence[str], buckets: tuple[int, int] | None) -> int:
        """The counters of ``dim`` for ``statuses`` (in the bucket range ``buckets``, if given)."""
        raise NotImplementedError

    def _count_exact(
        self, conn: C, app: int, kind: str, statuses: Sequence[str], lo: int, hi: int, lapsing: bool
    ) -> int:
        """Rows whose invoked time (kind "i") or expiry ("e") is in ``[lo, hi)``, read from an index;
        ``lapsing``: the span lies past the lapse cut, so the index of unlapsed rows holds them all."""
        raise NotImplementedError

    def _count_search(self, conn: C, app: int, filters: Filters) -> int:
        """Matches of a search (its meetings' rows, plus the recording named by id)."""
        raise NotImplementedError

    def _count_rows(self, conn: C, app: int, filters: Filters) -> int:
        """Matches counted row by row (one meeting, or a combination the counters cannot answer)."""
        raise NotImplementedError

    def _count(self, conn: C, app: int, q: RecordingQuery, now: int, filters: Filters) -> int:
        statuses = q.statuses or RECORDING_STATUSES
        if q.meeting_id is None and q.search is None:
            if q.expired is None:
                if not q.has_time_range:
                    return self._sum(conn, app, "T", statuses, None)
                start = MIN_MS if q.start_ms is None else q.start_ms
                end = MAX_MS if q.end_ms is None else q.end_ms
                return self._count_range(conn, app, "i", statuses, start, end, now)
            if not q.has_time_range:
                expired = self._count_range(conn, app, "e", statuses, MIN_MS, now, now)
                return expired if q.expired else self._sum(conn, app, "T", statuses, None) - expired
        if q.search is not None:
            return self._count_search(conn, app, filters)
        return self._count_rows(conn, app, filters)

    def _count_range(
        self, conn: C, app: int, kind: str, statuses: Sequence[str], start: int, end: int, now: int
    ) -> int:
        """Recordings whose invoked time (kind "i") or expiry (kind "e") lies in [start, end]."""
        plan = plan_range(start, end)
        total = 0
        for span in plan.days:
            total += self._sum(conn, app, kind + "D", statuses, span)
        for span in plan.hours:
            total += self._sum(conn, app, kind + "H", statuses, span)
        cut = lapse_cut(now)
        for lo, hi in plan.exact:
            # Lapsed rows expire before the cut: rows expiring after it are all unlapsed.
            total += self._count_exact(conn, app, kind, statuses, lo, hi, kind == "e" and lo >= cut)
        return total
