"""The list endpoint against an independent reference (SPEC §3), over random data and queries.

Each example builds a fresh SQLite store, imports random recordings through the real import path
(``decode_recording`` / ``to_domain`` / ``import_recordings``), then asks the real HTTP app, in
process, random combinations of every filter. ``data``, ``paging`` and every item's fields must
equal what ``_harness.reference_page`` computes in plain Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from ._harness import (
    CASE_CHANGES,
    DAY,
    HOUR,
    MAX_MS,
    MIN_MS,
    SPECIAL_SEARCHES,
    STATUSES,
    T2020,
    T2030,
    TIME_STYLES,
    Batch,
    MeetingSpec,
    Model,
    RecSpec,
    RefQuery,
    any_times,
    bucket_spans,
    changed,
    check_response,
    clamp,
    fresh_api,
    iso,
    meeting_spec,
    plausible_times,
    rec_spec,
    reference_all,
    time_text,
    uuid_strings,
    wall_ms,
    with_meetings,
)

PROPERTY = settings(
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

Params = list[tuple[str, str]]


# -- drawing one request -------------------------------------------------------------------------


def draw_time(data: st.DataObject, anchors: Sequence[int]) -> int:
    """An instant in µs near the data: on a recording's time, an hour or day edge, or anywhere."""
    base_ms = data.draw(
        st.one_of(
            st.sampled_from(list(anchors)) if anchors else st.integers(T2020, T2030),
            st.integers(T2020, T2030),
            st.sampled_from(list(anchors)).map(lambda t: t // HOUR * HOUR) if anchors else st.just(T2020),
            st.sampled_from(list(anchors)).map(lambda t: t // DAY * DAY) if anchors else st.just(T2020),
        ),
        label="time base",
    )
    delta_us = data.draw(
        st.one_of(
            st.just(0),
            st.sampled_from([1, -1, 500, -500, 1000, -1000, 999, -999, 1001, -1001]),
            st.sampled_from([HOUR * 1000, -HOUR * 1000, DAY * 1000, -DAY * 1000]),
            st.integers(-3 * DAY * 1000, 3 * DAY * 1000),
        ),
        label="time delta",
    )
    return min(max(base_ms * 1000 + delta_us, MIN_MS * 1000), MAX_MS * 1000 + 999)


def draw_statuses(data: st.DataObject) -> tuple[Params, frozenset[str]]:
    chosen = data.draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True), label="statuses")
    form = data.draw(st.sampled_from(["repeat", "comma", "comma-space", "brackets", "mixed", "dup"]), label="form")
    if form == "repeat":
        params = [("status", s) for s in chosen]
    elif form == "comma":
        params = [("status", ",".join(chosen))]
    elif form == "comma-space":
        params = [("status", ", ".join(chosen))]
    elif form == "brackets":
        params = [("status[]", s) for s in chosen]
    elif form == "mixed":
        params = [("status", chosen[0]), *(("status[]", s) for s in chosen[1:])]
    else:
        params = [("status", s) for s in chosen] + [("status", chosen[0])]
    return params, frozenset(chosen)


def draw_search(data: st.DataObject, model: Model, noise_ids: Sequence[str]) -> str:
    meetings = list(model.meetings.values())
    titled = [m.title for m in meetings if m.title]
    kinds = ["special", "random", "short"]
    if meetings:
        kinds += ["meeting-id", "meeting-id"]
    if model.recordings:
        kinds += ["recording-id", "recording-id"]
    if titled:
        kinds += ["title-part"] * 4
    if noise_ids:
        kinds.append("other-app-id")
    kind = data.draw(st.sampled_from(kinds), label="search kind")
    if kind == "meeting-id":
        value = data.draw(st.sampled_from([m.id for m in meetings]))
        return data.draw(st.sampled_from([value, value.upper()]))
    if kind == "recording-id":
        value = data.draw(st.sampled_from(sorted(model.recordings)))
        return data.draw(st.sampled_from([value, value.upper()]))
    if kind == "other-app-id":
        return data.draw(st.sampled_from(list(noise_ids)))
    if kind == "title-part":
        title = data.draw(st.sampled_from(titled))
        i = data.draw(st.integers(0, len(title) - 1))
        j = data.draw(st.integers(i + 1, len(title)))
        change = data.draw(st.sampled_from(CASE_CHANGES))
        return change(title[i:j])
    if kind == "short":
        return data.draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=2))
    if kind == "special":
        return data.draw(st.sampled_from(SPECIAL_SEARCHES))
    return data.draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8))


def draw_request(
    data: st.DataObject, model: Model, noise_ids: Sequence[str], *, paging: bool = True, search: bool = True
) -> tuple[Params, RefQuery | str]:
    """Query parameters and how the reference reads them (or the parameter a 400 must name)."""
    params: Params = []
    q = RefQuery()
    anchors = sorted({r.invoked_ms for r in model.recordings.values()})
    error: str | None = None

    if data.draw(st.integers(0, 4), label="meeting?") == 0:
        choices = [m.id for m in model.meetings.values()] + list(noise_ids) + ["7c0e2a9d-0000-4000-8000-000000000000"]
        meeting_id = data.draw(st.sampled_from(choices))
        meeting_id = data.draw(st.sampled_from([meeting_id, meeting_id.upper()]))
        params.append(("meeting_id", meeting_id))
        q = RefQuery(meeting_id=meeting_id)

    start_us = end_us = None
    if data.draw(st.booleans(), label="start?"):
        text, start_us = time_text(draw_time(data, anchors), data.draw(st.sampled_from(TIME_STYLES)))
        params.append(("start_time", text))
    if data.draw(st.booleans(), label="end?"):
        text, end_us = time_text(draw_time(data, anchors), data.draw(st.sampled_from(TIME_STYLES)))
        params.append(("end_time", text))
    if start_us is not None and end_us is not None and start_us > end_us:
        if data.draw(st.integers(0, 5), label="keep bad range?") == 0:
            error = "start_time"
        else:
            start_us, end_us = end_us, start_us
            params = [(k, v) for k, v in params if k not in ("start_time", "end_time")]
            params += [("start_time", time_text(start_us, "us")[0]), ("end_time", time_text(end_us, "us")[0])]
    q = RefQuery(meeting_id=q.meeting_id, start_us=start_us, end_us=end_us)

    statuses: frozenset[str] = frozenset()
    if data.draw(st.booleans(), label="status?"):
        status_params, statuses = draw_statuses(data)
        params += status_params

    expired = None
    if data.draw(st.integers(0, 2), label="expired?") == 0:
        text = data.draw(st.sampled_from(["true", "false", "1", "0", "TRUE", "False"]))
        expired = text.lower() in ("true", "1")
        params.append(("expired", text))

    search_text = None
    if search and data.draw(st.integers(0, 2), label="search?") == 0:
        search_text = draw_search(data, model, noise_ids)
        params.append(("search", search_text))
        if len(search_text) > 255:
            error = error or "search"

    ascending = False
    order = data.draw(st.sampled_from([None, "ASC", "DESC"]), label="order")
    if order is not None:
        params.append(("sort_order", order))
        ascending = order == "ASC"
    if data.draw(st.booleans(), label="sort_by?"):
        params.append(("sort_by", "invokedTime"))

    page_no, per_page = 1, 20
    if paging:
        size = data.draw(st.sampled_from([None, "0", "1", "2", "3", "5", "7", "20", "100", "150", "1000", "4.0"]))
        if size is not None:
            params.append(("per_page", size))
            n = int(float(size))
            per_page = 20 if n == 0 else min(n, 100)
        number = data.draw(
            st.one_of(st.none(), st.sampled_from(["0", "1", "2", "3", "2.0", "999999"]), st.integers(1, 12).map(str))
        )
        if number is not None:
            params.append(("page_no", number))
            page_no = max(int(float(number)), 1)

    params.append(("client_extra", "ignored"))  # unknown parameters are ignored
    order_of_params = data.draw(st.permutations(params), label="param order")
    if error is not None:
        return list(order_of_params), error
    return list(order_of_params), RefQuery(
        meeting_id=q.meeting_id,
        start_us=start_us,
        end_us=end_us,
        statuses=statuses,
        expired=expired,
        search=search_text,
        ascending=ascending,
        page_no=page_no,
        per_page=per_page,
    )


def check_request(api, model: Model, params: Params, expected: RefQuery | str) -> None:  # type: ignore[no-untyped-def]
    now = wall_ms()
    response = api.list(params)
    if isinstance(expected, str):
        assert response.status_code == 400, (params, response.text)
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == 400
        assert body["error"]["message"].startswith(f"{expected}:"), body
        return
    got = check_response(model, expected, response, now)
    if not currently_in_test_context():
        return
    total = response.json()["paging"]["total_count"]
    event(f"total: {'0' if total == 0 else '1-20' if total <= 20 else '>20'}")
    event(f"page: {'empty' if not got else 'full' if len(got) == expected.per_page else 'partial'}")
    if expected.search is not None:
        event(f"search matched: {total > 0}")
    if expected.start_us is not None or expected.end_us is not None:
        event(f"time range matched: {total > 0}")


def walk_pages(api, model: Model, base: Params, q: RefQuery, per_page: int) -> None:  # type: ignore[no-untyped-def]
    """page_no 1..N returns every match exactly once, in order; page N+1 is empty."""
    now = wall_ms()
    want = reference_all(model, q, now)
    pages = max(1, math.ceil(len(want) / per_page))
    seen: list[str] = []
    for page_no in range(1, pages + 2):
        response = api.list([*base, ("per_page", str(per_page)), ("page_no", str(page_no))])
        assert response.status_code == 200, response.text
        body = response.json()
        got = [item["id"] for item in body["data"]]
        assert body["paging"]["total_count"] == len(want)
        if got:
            assert body["paging"]["start_offset"] == len(seen) + 1
            assert body["paging"]["end_offset"] == len(seen) + len(got)
        else:
            assert body["paging"]["start_offset"] == body["paging"]["end_offset"] == 0
        seen += got
    assert seen == want
    assert len(set(seen)) == len(seen)


def probe_buckets(api, model: Model, data: st.DataObject, times: set[int], limit: int) -> None:  # type: ignore[no-untyped-def]
    """Ask for single whole hours and days that hold (or held) recordings, all or one status."""
    spans = bucket_spans(times)
    if len(spans) > limit:
        spans = data.draw(st.lists(st.sampled_from(spans), max_size=limit, unique=True), label="probed buckets")
    for lo, hi in spans:
        params: Params = [("start_time", iso(lo)), ("end_time", iso(hi)), ("per_page", "1")]
        statuses: frozenset[str] = frozenset()
        status = data.draw(st.sampled_from([None, *STATUSES]), label="probe status")
        if status is not None:
            params.append(("status", status))
            statuses = frozenset([status])
        q = RefQuery(start_us=lo * 1000, end_us=hi * 1000, statuses=statuses, per_page=1)
        check_request(api, model, params, q)


# -- the data ------------------------------------------------------------------------------------


@st.composite
def scenario(draw: st.DrawFn, max_recordings: int = 40) -> tuple[list[Batch], Batch, int]:
    """Import batches for the main app (later ones re-import ids with changes) and noise for another."""
    now = wall_ms()
    n_meetings = draw(st.integers(1, 5))
    n_recs = draw(st.integers(0, max_recordings))
    n_new_later = draw(st.integers(0, 6))
    n_noise = draw(st.integers(0, 4))
    ids = draw(uuid_strings(n_meetings + n_recs + n_new_later + n_noise + 1))
    meeting_ids, ids = ids[:n_meetings], ids[n_meetings:]
    rec_ids, ids = ids[:n_recs], ids[n_recs:]
    later_ids, ids = ids[:n_new_later], ids[n_new_later:]
    noise_ids, noise_meeting = ids[:n_noise], ids[n_noise]

    shared = draw(st.lists(any_times, min_size=1, max_size=3), label="shared invoked times")
    times = st.one_of(st.sampled_from(shared), st.sampled_from(shared), any_times)
    meetings = {mid: draw(meeting_spec(mid)) for mid in meeting_ids}
    first = [draw(rec_spec(rid, meeting_ids, times, now)) for rid in rec_ids]
    batches = [with_meetings(first, meetings)]

    for _ in range(draw(st.integers(0, 2), label="re-imports")):
        again = draw(st.lists(st.sampled_from(first), max_size=12)) if first else []
        updated = [draw(changed(r, meeting_ids, times, now)) for r in again]
        fresh = [draw(rec_spec(rid, meeting_ids, times, now)) for rid in later_ids if draw(st.booleans())]
        retitled = dict(meetings)
        for mid in draw(st.lists(st.sampled_from(meeting_ids), max_size=2, unique=True)):
            retitled[mid] = draw(meeting_spec(mid))
        batch = with_meetings([*updated, *fresh], retitled)
        if batch:
            batches.append(batch)
            meetings = {**meetings, **{m.id: m for _, m in batch}}

    noise_meeting_spec = draw(meeting_spec(noise_meeting))
    noise = [(draw(rec_spec(rid, [noise_meeting], times, now)), noise_meeting_spec) for rid in noise_ids]
    return batches, noise, now


# -- the properties --------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=60)
@given(scenario(), st.data())
def test_list_matches_reference(case: tuple[list[Batch], Batch, int], data: st.DataObject) -> None:
    """Random data, random combinations of every filter: data, paging and items equal the reference."""
    batches, noise, _ = case
    model = Model()
    with fresh_api() as api:
        times_seen: set[int] = set()
        for batch in batches:
            api.import_batch(batch, via_file=data.draw(st.booleans(), label="via file"))
            model.apply(batch)
            times_seen.update(r.invoked_ms for r, _ in batch)
        if noise:
            api.import_batch(noise, api.other_app_id)
        noise_ids = [r.id for r, _ in noise] + [m.id for _, m in noise[:1]]
        for _ in range(14):
            params, expected = draw_request(data, model, noise_ids)
            check_request(api, model, params, expected)
        # and one full walk over the pages of a random filter
        params, expected = draw_request(data, model, noise_ids, paging=False)
        if not isinstance(expected, str):
            per_page = data.draw(st.integers(1, 7), label="walk per_page")
            walk_pages(api, model, params, expected, per_page)
        probe_buckets(api, model, data, times_seen, limit=8)


@st.composite
def crowded(draw: st.DrawFn) -> tuple[Batch, int]:
    """Many recordings at one identical invoked_time, a few around it."""
    now = wall_ms()
    n_same = draw(st.integers(20, 130))
    n_other = draw(st.integers(0, 10))
    ids = draw(uuid_strings(n_same + n_other + 2))
    meeting_ids = ids[:2]
    meetings = {mid: draw(meeting_spec(mid)) for mid in meeting_ids}
    moment = draw(any_times)
    same = [draw(rec_spec(rid, meeting_ids, st.just(moment), now)) for rid in ids[2 : 2 + n_same]]
    others = st.sampled_from([moment - 1, moment + 1, moment - HOUR, moment + DAY]).map(clamp)
    around = [draw(rec_spec(rid, meeting_ids, others, now)) for rid in ids[2 + n_same :]]
    return with_meetings([*same, *around], meetings), now


@settings(PROPERTY, max_examples=20)
@given(crowded(), st.data())
def test_pages_never_overlap_or_skip_on_identical_times(case: tuple[Batch, int], data: st.DataObject) -> None:
    batch, _ = case
    model = Model()
    model.apply(batch)
    with fresh_api() as api:
        api.import_batch(batch, via_file=data.draw(st.booleans(), label="via file"))
        for _ in range(3):
            params, expected = draw_request(data, model, [], paging=False)
            if isinstance(expected, str):
                continue
            per_page = data.draw(st.sampled_from([1, 2, 3, 7, 10, 20, 33, 100]), label="per_page")
            walk_pages(api, model, params, expected, per_page)
        # per_page above 100 is clamped, and the offsets say so
        params, expected = draw_request(data, model, [], paging=False, search=False)
        if not isinstance(expected, str):
            q = RefQuery(**{**expected.__dict__, "per_page": 100, "page_no": 1})
            check_request(api, model, [*params, ("per_page", "500")], q)


@st.composite
def spread(draw: st.DrawFn) -> tuple[Batch, list[Batch], int]:
    """Recordings spread over many days and hours, many on or next to hour and day edges."""
    now = wall_ms()
    n = draw(st.integers(60, 220))
    n_later = draw(st.integers(0, 30))
    ids = draw(uuid_strings(n + n_later + 3))
    meeting_ids = ids[:3]
    meetings = {mid: draw(meeting_spec(mid)) for mid in meeting_ids}
    first_day = draw(st.integers(T2020 // DAY, T2030 // DAY - 60)) * DAY
    span_days = draw(st.integers(1, 45))
    on_edge = st.builds(
        lambda h, d: first_day + h * HOUR + d,
        st.integers(0, span_days * 24),
        st.sampled_from([0, 0, 1, -1, 2, 999, 30 * 60_000]),
    )
    inside = st.integers(first_day - DAY, first_day + (span_days + 1) * DAY)
    times = st.one_of(on_edge, inside, st.sampled_from([first_day, first_day + DAY]))
    recs = [draw(rec_spec(rid, meeting_ids, times, now)) for rid in ids[3 : 3 + n]]
    batches: list[Batch] = []
    for _ in range(draw(st.integers(1, 2), label="re-imports")):
        again = draw(st.lists(st.sampled_from(recs), min_size=1, max_size=40))
        updated = [draw(changed(r, meeting_ids, times, now)) for r in again]
        # the same id twice in one batch: the last one wins
        twice = [draw(changed(r, meeting_ids, times, now)) for r in again[:3]]
        fresh = [draw(rec_spec(rid, meeting_ids, times, now)) for rid in ids[3 + n :] if draw(st.booleans())]
        batches.append(with_meetings([*updated, *fresh, *twice], meetings))
    return with_meetings(recs, meetings), batches, now


def draw_range_request(data: st.DataObject, model: Model) -> tuple[Params, RefQuery | str]:
    """A time range with ragged or aligned edges, maybe statuses and expired; no meeting, no search,
    so the total comes from the hour and day counters."""
    anchors = sorted({r.invoked_ms for r in model.recordings.values()})
    params: Params = []
    start_us = end_us = None
    shape = data.draw(st.sampled_from(["both", "both", "both", "start", "end"]), label="range shape")
    if shape in ("both", "start"):
        text, start_us = time_text(draw_time(data, anchors), data.draw(st.sampled_from(TIME_STYLES)))
        params.append(("start_time", text))
    if shape in ("both", "end"):
        text, end_us = time_text(draw_time(data, anchors), data.draw(st.sampled_from(TIME_STYLES)))
        params.append(("end_time", text))
    if start_us is not None and end_us is not None and start_us > end_us:
        return params, "start_time"
    statuses: frozenset[str] = frozenset()
    if data.draw(st.booleans()):
        status_params, statuses = draw_statuses(data)
        params += status_params
    expired = data.draw(st.sampled_from([None, None, None, True, False]), label="expired")
    if expired is not None:
        params.append(("expired", "true" if expired else "false"))
    ascending = data.draw(st.booleans())
    params.append(("sort_order", "ASC" if ascending else "DESC"))
    per_page = data.draw(st.sampled_from([5, 50, 100, 250]))
    page_no = data.draw(st.integers(1, 4))
    params += [("per_page", str(per_page)), ("page_no", str(page_no))]
    return params, RefQuery(
        start_us=start_us,
        end_us=end_us,
        statuses=statuses,
        expired=expired,
        ascending=ascending,
        page_no=page_no,
        per_page=min(per_page, 100),
    )


@settings(PROPERTY, max_examples=15)
@given(spread(), st.data())
def test_counters_stay_exact_over_ragged_ranges_and_reimports(
    case: tuple[Batch, list[Batch], int], data: st.DataObject
) -> None:
    first, later, _ = case
    model = Model()
    with fresh_api() as api:
        times_seen: set[int] = set()
        for batch in [first, *later]:
            api.import_batch(batch, via_file=data.draw(st.booleans(), label="via file"))
            model.apply(batch)
            # hours and days that lost recordings to a re-import are probed as well as the new ones
            times_seen.update(r.invoked_ms for r, _ in batch)
            probe_buckets(api, model, data, times_seen, limit=30)
            # totals with no filter at all, and per status, and expired/not expired with no range
            for params in ([], [("expired", "true")], [("expired", "false")], [("status", "UPLOADED,ERRORED")]):
                check_request(api, model, params, _plain(params))
            for _ in range(12):
                params, expected = draw_range_request(data, model)
                check_request(api, model, params, expected)


def _plain(params: Params) -> RefQuery:
    values = dict(params)
    expired = None if "expired" not in values else values["expired"] == "true"
    statuses = frozenset(values["status"].split(",")) if "status" in values else frozenset()
    return RefQuery(expired=expired, statuses=statuses)


@settings(PROPERTY, max_examples=25)
@given(st.lists(plausible_times, min_size=1, max_size=5), st.data())
def test_empty_app_and_unknown_filters(times: list[int], data: st.DataObject) -> None:
    """An app with nothing in it: every query is an empty page with zero offsets."""
    model = Model()
    with fresh_api() as api:
        for _ in range(5):
            params, expected = draw_request(data, model, [])
            check_request(api, model, params, expected)


UNICODE_TITLES = (
    "Straße meeting",
    "STRASSE",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος ς",
    "İstanbul",
    "istanbul",
    "ﬁle share",
    "FILE",
    "ǅungla",
    "Weekly SYNC",
    'say "hi"',
    "50%_off",
    "a*b OR c",
    "col:on",
    "tab\there",
    "日本語の会議",
    "",
    None,
)
UNICODE_SEARCHES = (
    "ß",
    "ss",
    "SS",
    "straße",
    "STRASSE",
    "Strasse meet",
    "ς",
    "σ",  # noqa: RUF001 - the Greek letter on purpose
    "Σ",
    "ΣΊΣ",
    "σίσυφος",
    "İ",
    "i̇",
    "i",
    "I",
    "İstan",
    "ISTANBUL",
    "ﬁ",
    "fi",
    "FI",
    "ﬁle",
    "FILE S",
    "ǆ",
    "ǅ",
    "Ǆ",
    "ǆungla",
    "sync",
    "WEEKLY sync",
    '"hi"',
    '"',
    'say "',
    "%",
    "_",
    "%_",
    "0%_",
    "*",
    "a*b",
    "* OR",
    "OR c",
    "col:on",
    ":",
    "\t",
    "tab\th",
    "本語",
    "日本語の会議",
    " ",
    "  ",
    "\x00",
    "sta\x00",
    "no match",
)


def test_search_case_folding_and_special_characters() -> None:
    """Search is a case-insensitive (str.casefold) substring of the title, whatever the characters."""
    model = Model()
    batch = []
    for n, title in enumerate(UNICODE_TITLES):
        meeting = MeetingSpec(id=f"00000000-0000-4000-8000-{n:012d}", title=title, created_ms=T2020, updated_ms=T2020)
        rec = RecSpec(
            id=f"10000000-0000-4000-8000-{n:012d}", meeting_id=meeting.id, status="UPLOADED", invoked_ms=T2020 + n
        )
        batch.append((rec, meeting))
    model.apply(batch)
    with fresh_api() as api:
        api.import_batch(batch)
        for text in UNICODE_SEARCHES:
            for variant in {text, text.upper(), text.lower(), text.casefold()}:
                q = RefQuery(search=variant, per_page=100)
                check_request(api, model, [("search", variant), ("per_page", "100")], q)


@pytest.mark.xfail(
    strict=True,
    reason="a meeting title holding a NUL is cut at the NUL by the FTS5 trigram index, so searches of 3+ "
    "characters never find text after it (shorter searches scan and do)",
)
def test_search_finds_text_after_a_nul_in_the_title() -> None:
    meeting = MeetingSpec(
        id="00000000-0000-4000-8000-000000000001", title="x\x00y weekly", created_ms=T2020, updated_ms=T2020
    )
    rec = RecSpec(id="10000000-0000-4000-8000-000000000001", meeting_id=meeting.id, status="UPLOADED", invoked_ms=T2020)
    model = Model()
    model.apply([(rec, meeting)])
    with fresh_api() as api:
        api.import_batch([(rec, meeting)])
        check_request(api, model, [("search", "weekly")], RefQuery(search="weekly"))


BAD_PARAMETERS = (
    ([("page_no", "1.5")], "page_no"),
    ([("page_no", "-1")], "page_no"),
    ([("per_page", "-1")], "per_page"),
    ([("per_page", "ten")], "per_page"),
    ([("status", "DONE")], "status"),
    ([("status", "UPLOADED,done")], "status"),
    ([("status[]", "uploaded")], "status"),
    ([("expired", "yes")], "expired"),
    ([("sort_by", "createdAt")], "sort_by"),
    ([("sort_order", "UP")], "sort_order"),
    ([("search", "s" * 256)], "search"),
    ([("meeting_id", "not-a-uuid")], "meeting_id"),
    ([("start_time", "yesterday")], "start_time"),
    ([("end_time", "2020-02-30T00:00:00Z")], "end_time"),
    ([("start_time", "2020-01-02T00:00:00Z"), ("end_time", "2020-01-01T23:59:59.999999Z")], "start_time"),
)


def test_bad_parameters_are_400_naming_the_parameter() -> None:
    model = Model()
    with fresh_api() as api:
        for params, name in BAD_PARAMETERS:
            check_request(api, model, params, name)
