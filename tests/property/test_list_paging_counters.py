"""Paging over many identical invoked_time values, and the hour/day counters behind total_count
over ragged time ranges and re-imports (SPEC §3: exact totals, pages never overlap or skip)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ._harness import (
    DAY,
    HOUR,
    T2020,
    T2030,
    TIME_STYLES,
    Batch,
    ListQuery,
    Model,
    any_times,
    changed,
    clamp,
    fresh_api,
    meeting_spec,
    rec_spec,
    time_text,
    uuid_strings,
    wall_ms,
    with_meetings,
)
from ._requests import (
    PROPERTY,
    Params,
    check_request,
    draw_request,
    draw_statuses,
    draw_time,
    probe_buckets,
    walk_pages,
)


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
            q = ListQuery(**{**expected.__dict__, "per_page": 100, "page_no": 1})
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


def draw_range_request(data: st.DataObject, model: Model) -> tuple[Params, ListQuery | str]:
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
    return params, ListQuery(
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


def _plain(params: Params) -> ListQuery:
    values = dict(params)
    expired = None if "expired" not in values else values["expired"] == "true"
    statuses = frozenset(values["status"].split(",")) if "status" in values else frozenset()
    return ListQuery(expired=expired, statuses=statuses)
