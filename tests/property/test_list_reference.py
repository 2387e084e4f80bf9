"""The list endpoint against an independent reference (SPEC §3), over random data and queries.

Each example builds a fresh SQLite store, imports random recordings through the real import paths
(``store.import_recordings``, or a JSON Lines file through ``recordkit import``), then asks the real
HTTP app, in process, random combinations of every filter. ``data``, ``paging`` and every item's
fields must equal what ``_harness.reference_page`` computes in plain Python.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ._harness import (
    Batch,
    Model,
    any_times,
    changed,
    fresh_api,
    meeting_spec,
    plausible_times,
    rec_spec,
    uuid_strings,
    wall_ms,
    with_meetings,
)
from ._requests import (
    PROPERTY,
    check_request,
    draw_request,
    probe_buckets,
    walk_pages,
)

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


@settings(PROPERTY, max_examples=25)
@given(st.lists(plausible_times, min_size=1, max_size=5), st.data())
def test_empty_app_sees_nothing_of_another_app(times: list[int], data: st.DataObject) -> None:
    """An app with nothing in it, beside one with recordings: every query is an empty page with zero
    offsets, also when it names the other app's meeting or recording ids."""
    now = wall_ms()
    ids = data.draw(uuid_strings(len(times) + 1))
    meeting = data.draw(meeting_spec(ids[0]))
    noise = [(data.draw(rec_spec(rid, [meeting.id], st.sampled_from(times), now)), meeting) for rid in ids[1:]]
    with fresh_api() as api:
        api.import_batch(noise, api.other_app_id)
        for _ in range(5):
            params, expected = draw_request(data, Model(), [*ids])
            check_request(api, Model(), params, expected)


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
