"""The list endpoint's contract (SPEC §3) in plain Python: the one reference every suite compares with.

Nothing here reuses RecordKit's own query, paging, ordering or formatting logic. A suite turns what
it knows of its recordings into :class:`Listed` rows and its request into a :class:`ListQuery`;
:func:`ordered` gives every matching id in list order and :func:`page` one page and its counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Listed:
    """What the reference needs of one recording."""

    id: str
    invoked_ms: int
    expiry_ms: int | None = None
    meeting_id: str = ""
    status: str = ""
    title: str | None = None  # its meeting's


@dataclass(frozen=True)
class ListQuery:
    """A list request as the reference reads it; times in microseconds, exactly as sent."""

    meeting_id: str | None = None
    start_us: int | None = None
    end_us: int | None = None
    statuses: frozenset[str] = frozenset()
    expired: bool | None = None
    search: str | None = None
    ascending: bool = False
    page_no: int = 1
    per_page: int = 20


def matches(row: Listed, q: ListQuery, now_ms: int) -> bool:
    if q.meeting_id is not None and row.meeting_id != q.meeting_id.lower():
        return False
    if q.start_us is not None and row.invoked_ms * 1000 < q.start_us:
        return False
    if q.end_us is not None and row.invoked_ms * 1000 > q.end_us:
        return False
    if q.statuses and row.status not in q.statuses:
        return False
    is_expired = row.expiry_ms is not None and row.expiry_ms <= now_ms
    if q.expired is not None and is_expired != q.expired:
        return False
    if q.search is not None:
        wanted = q.search.lower()
        if not (wanted == row.meeting_id or wanted == row.id or q.search.casefold() in (row.title or "").casefold()):
            return False
    return True


def ordered(rows: Iterable[Listed], q: ListQuery, now_ms: int) -> list[str]:
    """Every matching id in list order: invoked_time, ties by id, both in the asked direction."""
    hits = [r for r in rows if matches(r, q, now_ms)]
    hits.sort(key=lambda r: (r.invoked_ms, r.id), reverse=not q.ascending)
    return [r.id for r in hits]


def page(rows: Iterable[Listed], q: ListQuery, now_ms: int) -> tuple[list[str], dict[str, int]]:
    """Page ``q.page_no`` of ``q.per_page`` ids, and its paging counters."""
    everything = ordered(rows, q, now_ms)
    skip = (q.page_no - 1) * q.per_page
    ids = everything[skip : skip + q.per_page]
    start, end = (skip + 1, skip + len(ids)) if ids else (0, 0)
    return ids, {"total_count": len(everything), "start_offset": start, "end_offset": end}
