"""Drawing list requests (every filter, every spelling) and checking answers against the reference."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypothesis import HealthCheck, event, settings
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
    ListQuery,
    Model,
    bucket_spans,
    check_response,
    iso,
    reference_all,
    time_text,
    wall_ms,
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
) -> tuple[Params, ListQuery | str]:
    """Query parameters and how the reference reads them (or the parameter a 400 must name)."""
    params: Params = []
    q = ListQuery()
    anchors = sorted({r.invoked_ms for r in model.recordings.values()})
    error: str | None = None

    if data.draw(st.integers(0, 4), label="meeting?") == 0:
        choices = [m.id for m in model.meetings.values()] + list(noise_ids) + ["7c0e2a9d-0000-4000-8000-000000000000"]
        meeting_id = data.draw(st.sampled_from(choices))
        meeting_id = data.draw(st.sampled_from([meeting_id, meeting_id.upper()]))
        params.append(("meeting_id", meeting_id))
        q = ListQuery(meeting_id=meeting_id)

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
    q = ListQuery(meeting_id=q.meeting_id, start_us=start_us, end_us=end_us)

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
    return list(order_of_params), ListQuery(
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


def check_request(api, model: Model, params: Params, expected: ListQuery | str) -> None:  # type: ignore[no-untyped-def]
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


def walk_pages(api, model: Model, base: Params, q: ListQuery, per_page: int) -> None:  # type: ignore[no-untyped-def]
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
        q = ListQuery(start_us=lo * 1000, end_us=hi * 1000, statuses=statuses, per_page=1)
        check_request(api, model, params, q)
