"""``recordkit.domain.timefmt``: ``2019-12-27T18:11:19.117Z`` out, any ISO-8601 date-time in."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordkit.domain.timefmt import MAX_MS, MIN_MS, format_ms, format_opt, now_ms, parse_iso_ms
from recordkit.errors import InvalidRequest

WIRE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_577_470_279_117, "2019-12-27T18:11:19.117Z"),
        (1_577_836_800_000, "2020-01-01T00:00:00.000Z"),
        (1_893_455_999_999, "2029-12-31T23:59:59.999Z"),
        (MAX_MS, "9999-12-31T23:59:59.999Z"),
        (MIN_MS, "0001-01-01T00:00:00.000Z"),
        (-30_610_310_400_000, "0999-12-31T00:00:00.000Z"),
    ],
)
def test_format_ms(ms: int, text: str) -> None:
    assert format_ms(ms) == text
    assert parse_iso_ms(text, "t") == ms


def test_format_opt() -> None:
    assert format_opt(None) is None
    assert format_opt(0) == "1970-01-01T00:00:00.000Z"


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(MIN_MS, MAX_MS))
def test_format_round_trips(ms: int) -> None:
    text = format_ms(ms)
    assert WIRE.fullmatch(text), text
    assert parse_iso_ms(text, "t") == ms
    expected = EPOCH + timedelta(milliseconds=ms)
    assert datetime.fromisoformat(text) == expected


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(-14 * 60, 14 * 60),
)
def test_parse_offsets_and_naive(moment: datetime, offset_minutes: int) -> None:
    """Any offset is the same instant; naive is UTC; sub-millisecond digits are cut."""
    utc = moment.replace(tzinfo=UTC)
    expected = (utc - EPOCH) // timedelta(milliseconds=1)
    assert parse_iso_ms(moment.isoformat(), "t") == expected
    assert parse_iso_ms(utc.isoformat().replace("+00:00", "Z"), "t") == expected
    shifted = utc.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert parse_iso_ms(shifted.isoformat(), "t") == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "now", "2020-02-30T00:00:00Z", "2020-01-01T00:00:60Z", "x" * 65, "0000-01-01T00:00:00Z"],
)
def test_parse_refused(value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_iso_ms(value, "start_time")
    assert info.value.message.startswith("start_time:")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59.999-00:01", "0001-01-01T00:00:00+00:01"])
def test_parse_out_of_range(value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_iso_ms(value, "end_time")
    assert info.value.message == "end_time: date-time out of range"


def test_now_ms_is_the_clock() -> None:
    before = int(time.time() * 1000)
    now = now_ms()
    after = int(time.time() * 1000)
    assert before - 1 <= now <= after + 1
