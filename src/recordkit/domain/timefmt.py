"""Timestamps on the wire: UTC ISO-8601 with milliseconds and ``Z``; stored as epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

from recordkit.errors import InvalidRequest

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Years outside 1..9999 cannot be written back in ISO form, so they are refused on input.
MIN_MS = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
MAX_MS = int((datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)


def parse_iso_ms(value: str, field: str) -> int:
    """Parse an ISO-8601 date-time (``Z``, an offset, or naive = UTC) into epoch milliseconds."""
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
    ms = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    if not MIN_MS <= ms <= MAX_MS:
        raise InvalidRequest(f"{field}: date-time out of range")
    return ms


def format_ms(ms: int) -> str:
    """Epoch milliseconds to ``2019-12-27T18:11:19.117Z``."""
    seconds, millis = divmod(ms, 1000)
    dt = datetime.fromtimestamp(seconds, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def format_opt(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
