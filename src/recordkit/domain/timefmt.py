"""Timestamps on the wire: UTC ISO-8601 with milliseconds and ``Z``; stored as epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from recordkit.errors import InvalidRequest

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Years outside 1..9999 cannot be written back in ISO form, so they are refused on input.
MIN_MS = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
MAX_MS = int((datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)


def parse_iso_ms(value: str, field: str) -> int:
    """Parse an ISO-8601 date-time (``Z``, an offset, or naive = UTC) into epoch milliseconds."""
    return parse_iso_us(value, field) // 1000


def parse_iso_us(value: str, field: str) -> int:
    """Like ``parse_iso_ms``, in epoch microseconds (the sub-millisecond digits kept)."""
    text = value.strip()
    if not text or len(text) > 64:
        raise InvalidRequest(f"{field}: must be an ISO-8601 date-time")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{field}: must be an ISO-8601 date-time, got {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        delta = parsed - _EPOCH
    except OverflowError:
        raise InvalidRequest(f"{field}: date-time out of range") from None
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not MIN_MS <= us // 1000 <= MAX_MS:
        raise InvalidRequest(f"{field}: date-time out of range")
    return us


@lru_cache(maxsize=16384)
def _format_day(day: int) -> str:
    d = (_EPOCH + timedelta(days=day)).date()
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def format_ms(ms: int) -> str:
    """Epoch milliseconds to ``2019-12-27T18:11:19.117Z`` (four-digit years, always UTC)."""
    day, rest = divmod(ms, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_format_day(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def format_opt(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
