"""``recordkit.domain.query``: every list parameter of SPEC §3, parsed from a raw query string."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from recordkit.api.errors import status_of
from recordkit.domain.query import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_SEARCH,
    Page,
    RecordingQuery,
    parse_recording_query,
)
from recordkit.errors import InvalidRequest

UUID = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
T2020 = 1_577_836_800_000  # 2020-01-01T00:00:00Z


def params(qs: str) -> dict[str, list[str]]:
    """A query string as the routes hand it over: every value of every key, blanks kept."""
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(qs, keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def parse(qs: str) -> RecordingQuery:
    return parse_recording_query(params(qs))


def refused(qs: str, field: str) -> str:
    with pytest.raises(InvalidRequest) as info:
        parse(qs)
    assert status_of(info.value) == 400
    assert info.value.message.startswith(f"{field}:"), info.value.message
    return info.value.message


# -- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("qs", ["", "unknown=1", "foo=bar&baz=", "page_no=&per_page=&search=&sort_order="])
def test_defaults(qs: str) -> None:
    q = parse(qs)
    assert q == RecordingQuery()
    assert q.meeting_id is None
    assert q.start_ms is None and q.end_ms is None and not q.has_time_range
    assert q.statuses == ()
    assert q.expired is None
    assert q.search is None
    assert q.ascending is False
    assert q.page == Page(1, DEFAULT_PER_PAGE) == Page(1, 20)


# -- page_no / per_page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 1),
        ("1", 1),
        ("2", 2),
        ("2.0", 2),
        ("2.000", 2),
        ("0.0", 1),
        (" 3 ", 3),
        ("+4", 4),
        ("1e1", 10),
        ("17", 17),
        ("", 1),
        ("1000000", 1_000_000),
    ],
)
def test_page_no(value: str, expected: int) -> None:
    assert parse(f"page_no={value}").page.page_no == expected


@pytest.mark.parametrize(
    "value", ["1.5", "0.5", "2.0000001", "-1", "-2.0", "abc", "1,5", "NaN", "inf", "-inf", "0x10", "1 2"]
)
def test_page_no_refused(value: str) -> None:
    refused(f"page_no={value}", "page_no")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", DEFAULT_PER_PAGE),
        ("0", DEFAULT_PER_PAGE),
        ("0.0", DEFAULT_PER_PAGE),
        ("1", 1),
        ("5", 5),
        ("5.0", 5),
        ("20", 20),
        ("99", 99),
        ("100", 100),
        ("101", MAX_PER_PAGE),
        ("100.0", 100),
        ("1000000", MAX_PER_PAGE),
        ("1e40", MAX_PER_PAGE),
    ],
)
def test_per_page(value: str, expected: int) -> None:
    assert parse(f"per_page={value}").page.per_page == expected


@pytest.mark.parametrize("value", ["1.5", "-1", "-100", "x", "NaN", "Infinity", "5 items"])
def test_per_page_refused(value: str) -> None:
    refused(f"per_page={value}", "per_page")


def test_negative_page_numbers_name_the_rule() -> None:
    assert refused("page_no=-1", "page_no") == "page_no: must be a number >= 0"
    assert refused("per_page=-1", "per_page") == "per_page: must be a number >= 0"


def test_astronomical_page_no_is_accepted_and_past_the_end() -> None:
    page = parse("page_no=1e40&per_page=100").page
    assert page.page_no >= 10**30
    assert page.offset >= 10**30  # no error; the store returns an empty page


@pytest.mark.parametrize(
    ("page", "total", "returned", "window"),
    [
        (Page(1, 20), 0, 0, (0, 0)),
        (Page(1, 20), 5, 5, (1, 5)),
        (Page(2, 20), 45, 20, (21, 40)),
        (Page(3, 20), 45, 5, (41, 45)),
        (Page(4, 20), 45, 0, (0, 0)),
        (Page(2, 1), 3, 1, (2, 2)),
    ],
)
def test_page_window(page: Page, total: int, returned: int, window: tuple[int, int]) -> None:
    assert page.window(total, returned) == window
    assert page.offset == (page.page_no - 1) * page.per_page


# -- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        ("status=UPLOADED", ("UPLOADED",)),
        ("status=UPLOADED&status=ERRORED", ("ERRORED", "UPLOADED")),
        ("status=UPLOADED,ERRORED", ("ERRORED", "UPLOADED")),
        ("status=UPLOADED, ERRORED", ("ERRORED", "UPLOADED")),
        ("status[]=PAUSED", ("PAUSED",)),
        ("status[]=PAUSED&status[]=INVOKED", ("INVOKED", "PAUSED")),
        ("status=RECORDING&status[]=UPLOADING", ("RECORDING", "UPLOADING")),
        ("status=INVOKED&status=INVOKED", ("INVOKED",)),
        ("status=INVOKED,,", ("INVOKED",)),
        ("status=", ()),
        ("status[]=", ()),
        (
            "status=INVOKED,RECORDING,PAUSED,UPLOADING,UPLOADED,ERRORED",
            ("ERRORED", "INVOKED", "PAUSED", "RECORDING", "UPLOADED", "UPLOADING"),
        ),
    ],
)
def test_status_forms(qs: str, expected: tuple[str, ...]) -> None:
    assert parse(qs).statuses == expected


@pytest.mark.parametrize(
    "qs",
    [
        "status=DONE",
        "status=uploaded",
        "status=UPLOADED,DONE",
        "status=UPLOADED&status=nope",
        "status[]=ACTIVE",
        "status=UPLOADED;ERRORED",
    ],
)
def test_status_unknown_refused(qs: str) -> None:
    message = refused(qs, "status")
    assert "allowed" in message


# -- expired -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("TRUE", True), ("False", False), ("", None)],
)
def test_expired(value: str, expected: bool | None) -> None:
    assert parse(f"expired={value}").expired is expected


@pytest.mark.parametrize("value", ["yes", "no", "2", "-1", "t", "f", "truee", "null"])
def test_expired_refused(value: str) -> None:
    refused(f"expired={value}", "expired")


# -- sort ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("qs", "ascending"), [("sort_order=ASC", True), ("sort_order=DESC", False), ("", False)])
def test_sort_order(qs: str, ascending: bool) -> None:
    assert parse(qs).ascending is ascending


@pytest.mark.parametrize("value", ["UP", "ascending", "1", "DES"])
def test_sort_order_refused(value: str) -> None:
    refused(f"sort_order={value}", "sort_order")


def test_sort_by_invoked_time_only() -> None:
    assert parse("sort_by=invokedTime") == RecordingQuery()
    assert parse("sort_by=invokedTime&sort_order=ASC").ascending is True


@pytest.mark.parametrize("value", ["createdAt", "invoked_time", "invokedtime", "INVOKEDTIME", "id"])
def test_sort_by_refused(value: str) -> None:
    refused(f"sort_by={value}", "sort_by")


# -- search --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("Standup", "standup"), ("STRASSE", "strasse"), ("Straße", "strasse"), ("x", "x"), ('"a" OR b', '"a" or b')],
)
def test_search_folded(raw: str, folded: str) -> None:
    search = parse_recording_query({"search": [raw]}).search
    assert search is not None
    assert search.raw == raw
    assert search.folded == folded


def test_search_length_limit() -> None:
    ok = parse_recording_query({"search": ["a" * MAX_SEARCH]}).search
    assert ok is not None and len(ok.raw) == 255
    with pytest.raises(InvalidRequest) as info:
        parse_recording_query({"search": ["a" * (MAX_SEARCH + 1)]})
    assert info.value.message.startswith("search:")


@pytest.mark.parametrize(
    ("raw", "candidate"),
    [(UUID, UUID), (UUID.upper(), UUID), ("standup", None), (UUID[:-1], None), (UUID + "0", None)],
)
def test_search_id_candidate(raw: str, candidate: str | None) -> None:
    search = parse_recording_query({"search": [raw]}).search
    assert search is not None
    assert search.id_candidate == candidate


# -- meeting_id ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(UUID, UUID), (UUID.upper(), UUID)])
def test_meeting_id(value: str, expected: str) -> None:
    assert parse(f"meeting_id={value}").meeting_id == expected


@pytest.mark.parametrize(
    "value", ["abc", UUID[:-1], UUID + "a", "{" + UUID + "}", UUID.replace("-", ""), "g" * 8 + UUID[8:]]
)
def test_meeting_id_refused(value: str) -> None:
    refused(f"meeting_id={value}", "meeting_id")


# -- start_time / end_time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2020-01-01T00:00:00Z", T2020),
        ("2020-01-01T00:00:00.000Z", T2020),
        ("2020-01-01T00:00:00.123Z", T2020 + 123),
        ("2020-01-01T00:00:00.123999Z", T2020 + 123),  # end: sub-millisecond part rounds down
        ("2020-01-01T00:00:00", T2020),  # naive: UTC
        ("2020-01-01 00:00:00", T2020),
        ("2020-01-01T00:00:00.5", T2020 + 500),
        ("2020-01-01", T2020),
        ("2020-01-01T00:00:00+00:00", T2020),
        ("2020-01-01T05:30:00+05:30", T2020),
        ("2019-12-31T16:00:00-08:00", T2020),
        ("2020-01-01T01:00:00+0100", T2020),
        ("2019-12-27T18:11:19.117Z", 1_577_470_279_117),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
    ],
)
def test_end_time_forms(value: str, ms: int) -> None:
    q = parse_recording_query({"end_time": [value]})
    assert q.end_ms == ms
    assert q.start_ms is None
    assert q.has_time_range


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2020-01-01T00:00:00Z", T2020),
        ("2020-01-01T00:00:00.123Z", T2020 + 123),
        ("2020-01-01T00:00:00", T2020),
        ("2020-01-01T05:30:00+05:30", T2020),
        # start: a sub-millisecond part rounds up, so nothing before start_time is ever included
        ("2020-01-01T00:00:00.000001Z", T2020 + 1),
        ("2020-01-01T00:00:00.123001Z", T2020 + 124),
        ("2020-01-01T00:00:00.123000Z", T2020 + 123),
        ("1969-12-31T23:59:59.9995Z", 0),
    ],
)
def test_start_time_forms(value: str, ms: int) -> None:
    q = parse_recording_query({"start_time": [value]})
    assert q.start_ms == ms
    assert q.end_ms is None
    assert q.has_time_range


@pytest.mark.parametrize("field", ["start_time", "end_time"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2020-13-01T00:00:00Z",
        "2020-01-32",
        "2020-01-01T25:00:00Z",
        "1577836800000",
        "x" * 65,
        "9999-12-31T23:59:59.999-01:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_time_refused(field: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_recording_query({field: [value]})
    assert info.value.message.startswith(f"{field}:"), info.value.message


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020-01-02T00:00:00Z", "2020-01-01T00:00:00Z"),
        ("2020-01-01T00:00:00.001Z", "2020-01-01T00:00:00Z"),
        ("2020-01-01T00:00:00.0002Z", "2020-01-01T00:00:00.0001Z"),  # within one millisecond
        ("2020-01-01T05:00:00+05:00", "2019-12-31T23:59:59Z"),
    ],
)
def test_start_after_end_refused(start: str, end: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_recording_query({"start_time": [start], "end_time": [end]})
    assert info.value.message.startswith("start_time:")


@pytest.mark.parametrize(
    ("start", "end", "start_ms", "end_ms"),
    [
        ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", T2020, T2020),
        ("2020-01-01T05:00:00+05:00", "2020-01-01T00:00:00", T2020, T2020),
        # start <= end, but no whole millisecond between them: an empty range, not an error
        ("2020-01-01T00:00:00.0001Z", "2020-01-01T00:00:00.0002Z", T2020 + 1, T2020),
    ],
)
def test_time_range(start: str, end: str, start_ms: int, end_ms: int) -> None:
    q = parse_recording_query({"start_time": [start], "end_time": [end]})
    assert (q.start_ms, q.end_ms) == (start_ms, end_ms)


# -- everything together -----------------------------------------------------------------------


def test_all_parameters_together() -> None:
    q = parse(
        f"meeting_id={UUID.upper()}&start_time=2020-01-01T00:00:00Z&end_time=2020-01-02T00:00:00%2B01:00"
        "&status=UPLOADED&status[]=ERRORED&expired=false&search=Weekly%20Sync&sort_by=invokedTime"
        "&sort_order=ASC&page_no=3.0&per_page=250&client_extra=1"
    )
    assert q.meeting_id == UUID
    assert q.start_ms == T2020
    assert q.end_ms == T2020 + 23 * 3_600_000
    assert q.statuses == ("ERRORED", "UPLOADED")
    assert q.expired is False
    assert q.search is not None and q.search.folded == "weekly sync"
    assert q.ascending is True
    assert q.page == Page(3, 100)
    assert q.page.offset == 200
