"""The shared list planner reproduces each store's own walk decisions (as they were written in each
store before issue 14) over every combination of filters and page depth."""

from __future__ import annotations

import itertools

from recordkit.domain.models import RECORDING_STATUSES
from recordkit.domain.query import RecordingQuery, Search
from recordkit.store.common.planner import POSTGRES, SORT_LIMIT, SQLITE, UNION_LIMIT, Walk, choose_walk

MEETING = "11111111-1111-4111-8111-111111111111"
STATUS_SETS = [(), ("UPLOADED",), ("INVOKED", "RECORDING"), ("ERRORED", "UPLOADED", "PAUSED"), RECORDING_STATUSES]
PAGES = [(10, 0, 10), (6000, 0, 25), (6000, 4990, 25), (6000, 4975, 25), (100_000, 300, 100), (100_000, 90_000, 100)]


def sqlite_walk(q: RecordingQuery, total: int, offset: int, limit: int) -> Walk:
    if q.search is not None and total <= SORT_LIMIT:
        return Walk.SORTED
    if q.search is not None:
        return Walk.TIME
    if q.meeting_id is not None:
        return Walk.MEETING
    if len(q.statuses) == 1 and offset + limit > UNION_LIMIT:
        return Walk.ONE_STATUS
    if q.statuses and len(q.statuses) < len(RECORDING_STATUSES) and offset + limit <= UNION_LIMIT:
        return Walk.MERGE
    if q.expired is True:
        return Walk.EXPIRED
    return Walk.TIME


def postgres_walk(q: RecordingQuery, total: int, offset: int, limit: int) -> Walk:
    if q.search is not None and total <= SORT_LIMIT:
        return Walk.SORTED
    plain = q.search is None and q.meeting_id is None
    if plain and q.statuses and 1 < len(q.statuses) < len(RECORDING_STATUSES) and offset + limit <= UNION_LIMIT:
        return Walk.MERGE
    if plain and q.expired is True:
        return Walk.EXPIRED
    if plain and len(q.statuses) == 1:
        return Walk.ONE_STATUS
    # PostgreSQL writes the time, meeting and dense-search walks alike (no index hints).
    return Walk.MEETING if q.search is None and q.meeting_id is not None else Walk.TIME


def test_one_planner_reproduces_both_stores() -> None:
    searches = [None, Search(raw="abc", folded="abc"), Search(raw=MEETING, folded=MEETING)]
    for meeting, statuses, expired, search, (total, offset, limit) in itertools.product(
        [None, MEETING], STATUS_SETS, [None, True, False], searches, PAGES
    ):
        q = RecordingQuery(meeting_id=meeting, statuses=tuple(statuses), expired=expired, search=search)
        assert choose_walk(q, total, offset, limit, SQLITE) == sqlite_walk(q, total, offset, limit), q
        assert choose_walk(q, total, offset, limit, POSTGRES) == postgres_walk(q, total, offset, limit), q
