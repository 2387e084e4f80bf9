"""The list-recordings query (SPEC §3): parsed and validated from query parameters, purely."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from recordkit.domain.ids import check_uuid, is_uuid
from recordkit.domain.models import MEETING_STATUSES, RECORDING_STATUSES
from recordkit.domain.timefmt import parse_iso_us
from recordkit.errors import InvalidRequest

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_SEARCH = 255

QueryParams = Mapping[str, Sequence[str]]
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Page:
    """A page request, 1-based, with the page size already defaulted and clamped."""

    page_no: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page_no - 1) * self.per_page

    def window(self, total: int, returned: int) -> tuple[int, int]:
        """(start_offset, end_offset): 1-based positions of the first and last item; 0, 0 when empty."""
        if returned == 0:
            return 0, 0
        return self.offset + 1, self.offset + returned


@dataclass(frozen=True, slots=True)
class Search:
    """A search string: exact id match, or case-insensitive substring of the meeting title."""

    raw: str
    folded: str

    @property
    def id_candidate(self) -> str | None:
        return self.raw.lower() if is_uuid(self.raw) else None


@dataclass(frozen=True, slots=True)
class RecordingQuery:
    meeting_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    statuses: tuple[str, ...] = ()
    expired: bool | None = None
    search: Search | None = None
    ascending: bool = False
    page: Page = Page(1, DEFAULT_PER_PAGE)

    @property
    def has_time_range(self) -> bool:
        return self.start_ms is not None or self.end_ms is not None


@dataclass(frozen=True, slots=True)
class MeetingQuery:
    start_ms: int | None = None
    end_ms: int | None = None
    status: str | None = None
    search: Search | None = None
    page: Page = Page(1, DEFAULT_PER_PAGE)


def _last(params: QueryParams, name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    value = values[-1]
    return value if value != "" else None


def parse_whole(value: str, field: str) -> int:
    """A whole number >= 0: ``2.0`` is 2, ``1.5`` and ``-1`` are refused."""
    text = value.strip()
    if not _PLAIN_NUMBER.fullmatch(text):  # Decimal would also take "1_0" and non-ASCII digits
        raise InvalidRequest(f"{field}: must be a number >= 0")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(f"{field}: must be a number >= 0") from None
    if not number.is_finite() or number < 0:
        raise InvalidRequest(f"{field}: must be a number >= 0")
    if number != number.to_integral_value():
        raise InvalidRequest(f"{field}: must be a whole number")
    if number.adjusted() > 30:
        # Astronomically large pages are simply past the end; keep the int small.
        return 10**30
    return int(number)


def parse_page(params: QueryParams) -> Page:
    page_no = _last(params, "page_no")
    per_page = _last(params, "per_page")
    number = parse_whole(page_no, "page_no") if page_no is not None else 1
    size = parse_whole(per_page, "per_page") if per_page is not None else DEFAULT_PER_PAGE
    return Page(page_no=max(number, 1), per_page=DEFAULT_PER_PAGE if size == 0 else min(size, MAX_PER_PAGE))


def parse_search(params: QueryParams) -> Search | None:
    raw = _last(params, "search")
    if raw is None:
        return None
    if len(raw) > MAX_SEARCH:
        raise InvalidRequest(f"search: must be at most {MAX_SEARCH} characters")
    return Search(raw=raw, folded=raw.casefold())


def _parse_time_range(params: QueryParams) -> tuple[int | None, int | None]:
    start = _last(params, "start_time")
    end = _last(params, "end_time")
    start_us = parse_iso_us(start, "start_time") if start is not None else None
    end_us = parse_iso_us(end, "end_time") if end is not None else None
    if start_us is not None and end_us is not None and start_us > end_us:
        raise InvalidRequest("start_time: must not be after end_time")
    # Stored times are whole milliseconds: the first at or after start_time, the last at or before end_time.
    start_ms = -(-start_us // 1000) if start_us is not None else None
    end_ms = end_us // 1000 if end_us is not None else None
    return start_ms, end_ms


def parse_statuses(params: QueryParams) -> tuple[str, ...]:
    """``status=A&status=B``, ``status=A,B`` and ``status[]=A`` are all accepted."""
    found: set[str] = set()
    for key in ("status", "status[]"):
        for value in params.get(key, ()):
            for part in value.split(","):
                name = part.strip()
                if not name:
                    continue
                if name not in RECORDING_STATUSES:
                    allowed = ", ".join(RECORDING_STATUSES)
                    raise InvalidRequest(f"status: unknown value {name[:40]!r}; allowed: {allowed}")
                found.add(name)
    return tuple(sorted(found))


def parse_bool(value: str, field: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidRequest(f"{field}: must be true or false")


def parse_sort_order(params: QueryParams) -> bool:
    """True for ascending. Default DESC (newest first)."""
    order = _last(params, "sort_order")
    if order is None:
        return False
    upper = order.upper()
    if upper not in ("ASC", "DESC"):
        raise InvalidRequest("sort_order: must be ASC or DESC")
    return upper == "ASC"


def parse_recording_query(params: QueryParams) -> RecordingQuery:
    meeting = _last(params, "meeting_id")
    meeting_id = check_uuid(meeting, "meeting_id") if meeting is not None else None
    start_ms, end_ms = _parse_time_range(params)
    expired_raw = _last(params, "expired")
    sort_by = _last(params, "sort_by")
    if sort_by is not None and sort_by != "invokedTime":
        raise InvalidRequest("sort_by: must be invokedTime")
    return RecordingQuery(
        meeting_id=meeting_id,
        start_ms=start_ms,
        end_ms=end_ms,
        statuses=parse_statuses(params),
        expired=parse_bool(expired_raw, "expired") if expired_raw is not None else None,
        search=parse_search(params),
        ascending=parse_sort_order(params),
        page=parse_page(params),
    )


def parse_meeting_query(params: QueryParams) -> MeetingQuery:
    start_ms, end_ms = _parse_time_range(params)
    status = _last(params, "status")
    if status is not None and status not in MEETING_STATUSES:
        raise InvalidRequest("status: must be ACTIVE or INACTIVE")
    return MeetingQuery(
        start_ms=start_ms, end_ms=end_ms, status=status, search=parse_search(params), page=parse_page(params)
    )
