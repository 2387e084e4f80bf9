"""GET .../{app_id}/recordings against a live server, through Cloudflare's official SDK and raw HTTP.

Every answer is compared with the plain-Python reference over the generated data (conftest).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from cloudflare import Cloudflare
from cloudflare.types.realtime_kit.recording_get_recordings_response import (
    Data,
    DataMeeting,
    RecordingGetRecordingsResponse,
)

from tests.support.world import SECRETS, STATUSES, Expected, World

pytestmark = pytest.mark.e2e

Case = Callable[[World], dict[str, Any]]


def check(resp: RecordingGetRecordingsResponse, expected: Expected) -> None:
    got = [d.id for d in resp.data]
    assert got == expected.ids
    assert resp.success is True
    assert resp.paging.total_count == expected.total
    assert resp.paging.start_offset == expected.start_offset
    assert resp.paging.end_offset == expected.end_offset


def sdk_list(client: Cloudflare, world: World, app: str | None = None, **params: Any) -> RecordingGetRecordingsResponse:
    return client.realtime_kit.recordings.get_recordings(app or world.app, account_id=world.account, **params)


def meeting(i: int) -> Case:
    return lambda w: {"meeting_id": w.meetings[i]["id"]}


def first_id(**filters: Any) -> Callable[[World], str]:
    return lambda w: w.ref.all_ids(**filters)[0]


TIE = "2024-05-12T09:30:00.250Z"

SINGLE: dict[str, Case] = {
    "no-params": lambda w: {},
    "meeting-0": meeting(0),
    "meeting-1": meeting(1),
    "meeting-2": meeting(2),
    "meeting-3": meeting(3),
    "meeting-4-untitled": meeting(4),
    "meeting-upper-case": lambda w: {"meeting_id": w.meetings[0]["id"].upper()},
    "meeting-unknown": lambda w: {"meeting_id": "00000000-0000-4000-8000-000000000000"},
    "start-only": lambda w: {"start_time": "2024-05-12T12:00:00.000Z"},
    "end-only": lambda w: {"end_time": "2024-05-12T12:00:00.000Z"},
    "start-end": lambda w: {"start_time": "2024-05-11T06:30:00Z", "end_time": "2024-05-13T18:45:10.5Z"},
    "start-end-ragged-multi-day": lambda w: {
        "start_time": "2024-05-10T05:17:23.456Z",
        "end_time": "2024-05-14T19:03:00.001Z",
    },
    "start-end-whole-days": lambda w: {"start_time": "2024-05-11T00:00:00Z", "end_time": "2024-05-14T00:00:00Z"},
    "start-end-whole-hour": lambda w: {
        "start_time": "2024-05-13T00:00:00.000Z",
        "end_time": "2024-05-13T00:59:59.999Z",
    },
    "start-end-hour-plus-one-ms": lambda w: {
        "start_time": "2024-05-12T23:59:59.999Z",
        "end_time": "2024-05-13T01:00:00.000Z",
    },
    "start-equals-end-tie": lambda w: {"start_time": TIE, "end_time": TIE},
    "start-equals-end-midnight": lambda w: {
        "start_time": "2024-05-13T00:00:00.000Z",
        "end_time": "2024-05-13T00:00:00.000Z",
    },
    "start-datetime-aware": lambda w: {"start_time": datetime(2024, 5, 12, 8, tzinfo=UTC)},
    "end-datetime-offset": lambda w: {"end_time": datetime(2024, 5, 12, 10, 0, tzinfo=timezone(timedelta(hours=2)))},
    "start-datetime-naive-is-utc": lambda w: {"start_time": datetime(2024, 5, 14, 6, 0)},
    "start-string-offset": lambda w: {"start_time": "2024-05-12T02:00:00-05:00"},
    "range-before-all-data": lambda w: {"start_time": "2020-01-01T00:00:00Z", "end_time": "2024-05-09T23:59:59Z"},
    "range-after-all-data": lambda w: {"start_time": "2024-05-16T00:00:00Z"},
    "end-before-all-data": lambda w: {"end_time": "2023-01-01T00:00:00Z"},
    "multi-year-range": lambda w: {"start_time": "2001-01-01T00:00:00Z", "end_time": "2099-01-01T00:00:00Z"},
    "status-uploaded-errored": lambda w: {"status": ["UPLOADED", "ERRORED"]},
    "status-live": lambda w: {"status": ["INVOKED", "RECORDING", "PAUSED"]},
    "status-all-six": lambda w: {"status": ["INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED"]},
    "status-duplicated": lambda w: {"status": ["UPLOADED", "UPLOADED"]},
    "expired-true": lambda w: {"expired": True},
    "expired-false": lambda w: {"expired": False},
    "search-word": lambda w: {"search": "standup"},
    "search-upper": lambda w: {"search": "STANDUP"},
    "search-two-chars": lambda w: {"search": "st"},
    "search-one-char": lambda w: {"search": "w"},
    "search-accent": lambda w: {"search": "café"},
    "search-accent-upper": lambda w: {"search": "CAFÉ PLANNING"},
    "search-quotes": lambda w: {"search": '"Q3"'},
    "search-q3": lambda w: {"search": "q3"},
    "search-percent": lambda w: {"search": "100%"},
    "search-percent-alone": lambda w: {"search": "%"},
    "search-underscore": lambda w: {"search": "_"},
    "search-like-wildcards": lambda w: {"search": "done_deal"},
    "search-no-match": lambda w: {"search": "nothing-matches-this"},
    "search-whole-title": lambda w: {"search": "weekly standup"},
    "search-meeting-id": lambda w: {"search": w.meetings[2]["id"]},
    "search-meeting-id-upper": lambda w: {"search": w.meetings[2]["id"].upper()},
    "search-meeting-id-prefix-is-not-an-id": lambda w: {"search": w.meetings[2]["id"][:8]},
    "search-recording-id": lambda w: {"search": first_id(status=["PAUSED"])(w)},
    "search-recording-id-upper": lambda w: {"search": first_id(status=["ERRORED"])(w).upper()},
    "search-unknown-uuid": lambda w: {"search": "00000000-0000-4000-8000-000000000000"},
    "search-other-apps-meeting": lambda w: {"search": w.other_ref.recordings[0]["meeting"]["id"]},
    "sort-by": lambda w: {"sort_by": "invokedTime"},
    "sort-asc": lambda w: {"sort_order": "ASC"},
    "sort-desc": lambda w: {"sort_order": "DESC"},
    "sort-by-asc": lambda w: {"sort_by": "invokedTime", "sort_order": "ASC"},
    "page-2": lambda w: {"page_no": 2},
    "page-7-past-end": lambda w: {"page_no": 7},
    "page-0-is-1": lambda w: {"page_no": 0},
    "page-float-2.0": lambda w: {"page_no": 2.0},
    "per-page-1": lambda w: {"per_page": 1},
    "per-page-7": lambda w: {"per_page": 7},
    "per-page-100": lambda w: {"per_page": 100},
    "per-page-150-clamped": lambda w: {"per_page": 150},
    "per-page-0-default": lambda w: {"per_page": 0},
    "page-2-per-page-100-clamped": lambda w: {"page_no": 2, "per_page": 1000},
    "last-partial-page": lambda w: {"page_no": 19, "per_page": 7},
    "huge-page": lambda w: {"page_no": 10**12},
}

for _status in STATUSES:
    SINGLE[f"status-{_status}"] = (lambda s: lambda w: {"status": [s]})(_status)

COMBINED: dict[str, Case] = {
    "meeting+status": lambda w: {"meeting_id": w.meetings[0]["id"], "status": ["UPLOADED", "RECORDING"]},
    "meeting+range+asc": lambda w: {
        "meeting_id": w.meetings[1]["id"],
        "start_time": "2024-05-11T00:00:00Z",
        "end_time": "2024-05-14T12:00:00Z",
        "sort_order": "ASC",
    },
    "status+expired-true": lambda w: {"status": ["UPLOADED"], "expired": True},
    "status+expired-false": lambda w: {"status": ["UPLOADED", "ERRORED"], "expired": False},
    "range+expired-true": lambda w: {"start_time": "2024-05-11T03:00:00Z", "expired": True},
    "range+expired-false+status": lambda w: {
        "end_time": "2024-05-13T03:00:00Z",
        "expired": False,
        "status": ["INVOKED", "PAUSED"],
    },
    "search+status": lambda w: {"search": "standup", "status": ["UPLOADED", "ERRORED"]},
    "search+range+desc": lambda w: {
        "search": "q3",
        "start_time": "2024-05-12T00:00:00Z",
        "sort_order": "DESC",
    },
    "search+meeting-mismatch": lambda w: {"search": "café", "meeting_id": w.meetings[0]["id"]},
    "search-recording-id+wrong-status": lambda w: {
        "search": first_id(status=["PAUSED"])(w),
        "status": ["UPLOADED"],
    },
    "tie+asc+per-page-2": lambda w: {
        "start_time": TIE,
        "end_time": TIE,
        "sort_order": "ASC",
        "per_page": 2,
        "page_no": 2,
    },
    "everything": lambda w: {
        "meeting_id": w.meetings[0]["id"],
        "start_time": "2024-05-10T00:00:00Z",
        "end_time": "2024-05-16T00:00:00Z",
        "status": ["UPLOADED", "ERRORED", "RECORDING", "INVOKED"],
        "expired": False,
        "search": "weekly",
        "sort_by": "invokedTime",
        "sort_order": "ASC",
        "page_no": 1,
        "per_page": 3,
    },
    "status+page-past-end": lambda w: {"status": ["PAUSED"], "page_no": 3, "per_page": 20},
}


@pytest.mark.parametrize("case", list(SINGLE.values()), ids=list(SINGLE))
def test_each_parameter_alone(client: Cloudflare, world: World, case: Case) -> None:
    params = case(world)
    check(sdk_list(client, world, **params), world.ref.query(**params))


@pytest.mark.parametrize("case", list(COMBINED.values()), ids=list(COMBINED))
def test_parameters_combined(client: Cloudflare, world: World, case: Case) -> None:
    params = case(world)
    check(sdk_list(client, world, **params), world.ref.query(**params))


def test_random_combinations(client: Cloudflare, world: World) -> None:
    """A seeded sample of the cross product of every parameter's interesting values."""
    rng = random.Random(7)
    axes: dict[str, list[Any]] = {
        "meeting_id": [None, world.meetings[0]["id"], world.meetings[3]["id"], world.meetings[4]["id"]],
        "start_time": [None, "2024-05-11T07:15:00.001Z", "2024-05-13T00:00:00Z"],
        "end_time": [None, "2024-05-13T00:00:00Z", "2024-05-15T22:59:59.999Z"],
        "status": [None, ["UPLOADED"], ["INVOKED", "RECORDING", "PAUSED"], ["ERRORED", "UPLOADING"]],
        "expired": [None, True, False],
        "search": [None, "standup", "Q3", "e", world.meetings[1]["id"]],
        "sort_order": [None, "ASC", "DESC"],
        "page": [(None, None), (2, 5), (1, 100), (3, 4), (0, 0), (2, 150)],
    }
    combos = list(itertools.product(*axes.values()))
    rng.shuffle(combos)
    checked = 0
    for combo in combos[:250]:
        params = {k: v for k, v in zip(axes, combo, strict=True) if k != "page" and v is not None}
        page_no, per_page = combo[-1]
        if page_no is not None:
            params.update(page_no=page_no, per_page=per_page)
        start, end = params.get("start_time"), params.get("end_time")
        if start and end and start > end:
            continue
        expected = world.ref.query(**params)
        try:
            check(sdk_list(client, world, **params), expected)
        except AssertionError as exc:
            raise AssertionError(f"params {params}: {exc}") from None
        checked += 1
    assert checked > 150


WALKS: dict[str, dict[str, Any]] = {
    "all": {},
    "status": {"status": ["UPLOADED", "ERRORED", "PAUSED"]},
    "range": {"start_time": "2024-05-11T12:00:00Z", "end_time": "2024-05-14T12:00:00Z"},
    "expired-false": {"expired": False},
    "search": {"search": "standup"},
}


@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize("filters", list(WALKS.values()), ids=list(WALKS))
def test_page_walk_never_overlaps_or_skips(
    client: Cloudflare, world: World, filters: dict[str, Any], order: str
) -> None:
    seen: list[str] = []
    page = 1
    while True:
        resp = sdk_list(client, world, **filters, sort_order=order, per_page=7, page_no=page)
        if not resp.data:
            assert resp.paging.start_offset == 0 and resp.paging.end_offset == 0
            break
        assert resp.paging.start_offset == len(seen) + 1
        seen += [d.id for d in resp.data]
        assert resp.paging.end_offset == len(seen)
        page += 1
    assert len(seen) == len(set(seen))
    assert seen == world.ref.all_ids(**filters, sort_order=order)
    assert len(seen) == resp.paging.total_count


def test_default_order_is_newest_first_with_ties_by_id(client: Cloudflare, world: World) -> None:
    ids = []
    for page in (1, 2, 3, 4, 5, 6, 7):
        ids += [d.id for d in sdk_list(client, world, per_page=20, page_no=page).data]
    assert len(ids) == len(world.ref.recordings) > 100
    keys = [(world.ref.by_id(i)["invoked_time"], i) for i in ids]
    assert keys == sorted(keys, reverse=True)
    tie = [i for i in ids if world.ref.by_id(i)["invoked_time"] == TIE]
    assert len(tie) == 4 and tie == sorted(tie, reverse=True)
    asc = [d.id for d in sdk_list(client, world, start_time=TIE, end_time=TIE, sort_order="ASC").data]
    assert asc == sorted(tie)


def test_per_page_above_100_is_clamped_and_paging_says_so(client: Cloudflare, world: World) -> None:
    resp = sdk_list(client, world, per_page=150)
    assert len(resp.data) == 100
    assert (resp.paging.start_offset, resp.paging.end_offset) == (1, 100)
    assert resp.paging.total_count == len(world.ref.recordings)
    second = sdk_list(client, world, per_page=150, page_no=2)
    assert second.paging.start_offset == 101
    assert second.paging.end_offset == len(world.ref.recordings)


def test_sdk_parses_into_typed_models(client: Cloudflare, world: World) -> None:
    resp = sdk_list(client, world, status=["UPLOADED"], per_page=100)
    assert isinstance(resp, RecordingGetRecordingsResponse)
    assert resp.data
    for item in resp.data:
        assert isinstance(item, Data)
        assert isinstance(item.invoked_time, datetime)
        assert item.invoked_time.tzinfo is not None and item.invoked_time.utcoffset() == timedelta(0)
        assert isinstance(item.started_time, datetime)
        assert isinstance(item.stopped_time, datetime)
        assert item.status == "UPLOADED"
        assert isinstance(item.meeting, DataMeeting)
        assert isinstance(item.meeting.created_at, datetime)
        assert isinstance(item.meeting.updated_at, datetime)
        src = world.ref.by_id(item.id)
        assert item.invoked_time == datetime.fromisoformat(src["invoked_time"].replace("Z", "+00:00"))
        assert item.meeting.id == src["meeting"]["id"]
        assert item.meeting.title == src["meeting"]["title"]
        assert item.meeting.status == src["meeting"]["status"]
        assert item.download_url == src["download_url"]
        assert item.file_size == src["file_size"]
        assert item.recording_duration == src["recording_duration"]
        assert item.output_file_name == src["output_file_name"]
        if src["download_url_expiry"] is None:
            assert item.download_url_expiry is None
        else:
            assert isinstance(item.download_url_expiry, datetime)
    assert isinstance(resp.paging.total_count, float | int)
    assert resp.paging.total_count == world.ref.query(status=["UPLOADED"]).total
    live = sdk_list(client, world, status=["RECORDING"], per_page=1).data[0]
    assert live.stopped_time is None and live.download_url is None and live.file_size is None


def _raw_pages(http: httpx.Client, world: World, path: str | None = None) -> list[dict[str, Any]]:
    pages = []
    for page in (1, 2):
        resp = http.get(path or world.list_path(), params={"per_page": 100, "page_no": page})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        pages.append(resp.json())
    return pages


def test_every_item_round_trips_exactly_in_the_seed_shape(http: httpx.Client, world: World) -> None:
    items = [item for page in _raw_pages(http, world) for item in page["data"]]
    assert len(items) == len(world.ref.recordings)
    keys = [
        "id",
        "audio_download_url",
        "download_url",
        "download_url_expiry",
        "file_size",
        "invoked_time",
        "output_file_name",
        "session_id",
        "started_time",
        "status",
        "stopped_time",
        "meeting",
        "recording_duration",
        "storage_config",
    ]
    for item in items:
        assert list(item) == keys
        assert item == world.ref.wire(item["id"]), item["id"]


def test_secrets_never_come_back(client: Cloudflare, http: httpx.Client, world: World) -> None:
    pages = _raw_pages(http, world)
    text = json.dumps(pages)
    for secret in SECRETS:
        assert secret not in text
    configs = [i["storage_config"] for p in pages for i in p["data"] if i["storage_config"]]
    assert {c["type"] for c in configs} == {"aws", "sftp"}
    for config in configs:
        assert not {"access_key", "secret", "password", "private_key"} & set(config)
        assert config.get("bucket") or config.get("host")
    board = [i["meeting"] for p in pages for i in p["data"] if i["meeting"].get("recording_config")]
    assert board
    for m in board:
        storage = m["recording_config"]["storage_config"]
        assert storage == {"type": "aws", "bucket": "meeting-bucket", "region": "eu-west-1"}
    # The SDK's models hold no secret either.
    for page in (1, 2):
        for item in sdk_list(client, world, per_page=100, page_no=page).data:
            if item.storage_config is not None:
                dumped = item.storage_config.to_dict()
                assert not {"access_key", "secret", "password", "private_key"} & set(dumped)
                assert dumped["type"] in ("aws", "sftp")
    # Nor any filter's answer, nor a search for the secret itself.
    for params in ({"search": SECRETS[0]}, {"status": "UPLOADED", "expired": "true"}):
        resp = http.get(world.list_path(), params=params)
        assert resp.status_code == 200
        assert all(s not in resp.text for s in SECRETS)


def test_apps_are_isolated(client: Cloudflare, world: World) -> None:
    other = sdk_list(client, world, app=world.other_app, per_page=100)
    check(other, world.other_ref.query(per_page=100))
    assert {d.id for d in other.data}.isdisjoint({r["id"] for r in world.ref.recordings})
    # Same title in both apps: a search only sees this app's meetings.
    check(sdk_list(client, world, search="Weekly Standup"), world.ref.query(search="Weekly Standup"))
    with world.client(world.token_b) as client_b:
        resp = client_b.realtime_kit.recordings.get_recordings(world.app_b, account_id=world.account_b)
    check(resp, world.ref_b.query())


# -- raw HTTP: the query forms the SDKs do not send ----------------------------------------------


def _raw_ids(http: httpx.Client, world: World, query: str) -> tuple[list[str], dict[str, int]]:
    resp = http.get(f"{world.list_path()}?{query}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True
    return [d["id"] for d in body["data"]], body["paging"]


def _expect(world: World, **params: Any) -> tuple[list[str], dict[str, int]]:
    e = world.ref.query(**params)
    return e.ids, {"total_count": e.total, "start_offset": e.start_offset, "end_offset": e.end_offset}


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ("status=UPLOADED,ERRORED", {"status": ["UPLOADED", "ERRORED"]}),
        ("status=UPLOADED%2CERRORED&per_page=50", {"status": ["UPLOADED", "ERRORED"], "per_page": 50}),
        ("status=UPLOADED&status=ERRORED", {"status": ["UPLOADED", "ERRORED"]}),
        ("status[]=PAUSED", {"status": ["PAUSED"]}),
        ("status%5B%5D=PAUSED&status%5B%5D=INVOKED", {"status": ["PAUSED", "INVOKED"]}),
        ("status=RECORDING,PAUSED&sort_order=ASC", {"status": ["RECORDING", "PAUSED"], "sort_order": "ASC"}),
        ("expired=1", {"expired": True}),
        ("expired=0", {"expired": False}),
        ("expired=true&status=UPLOADED", {"expired": True, "status": ["UPLOADED"]}),
        ("expired=false", {"expired": False}),
        ("page_no=2.0&per_page=10", {"page_no": 2, "per_page": 10}),
        ("per_page=20.0", {"per_page": 20}),
        ("page_no=0&per_page=0", {}),
        ("start_time=2024-05-12T00:00:00%2B02:00", {"start_time": "2024-05-11T22:00:00Z"}),
        ("start_time=2024-05-12T00:00:00", {"start_time": "2024-05-12T00:00:00Z"}),
        ("end_time=2024-05-12T09:30:00.250Z&start_time=2024-05-12T09:30:00.250Z", {"start_time": TIE, "end_time": TIE}),
        ("unknown_param=1&another=x&per_page=5", {"per_page": 5}),
        ("search=", {}),
        ("search=%22Q3%22", {"search": '"Q3"'}),
        ("search=caf%C3%A9", {"search": "café"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_raw_query_forms(http: httpx.Client, world: World, query: str, params: dict[str, Any]) -> None:
    assert _raw_ids(http, world, query) == _expect(world, **params)


def test_search_255_characters_is_accepted(http: httpx.Client, world: World) -> None:
    assert _raw_ids(http, world, "search=" + "a" * 255) == ([], {"total_count": 0, "start_offset": 0, "end_offset": 0})


def test_empty_app_lists_nothing(client: Cloudflare, world: World) -> None:
    made = client.realtime_kit.apps.post(account_id=world.account, name="empty-for-listing")
    assert made.data is not None and made.data.app is not None and made.data.app.id
    resp = sdk_list(client, world, app=made.data.app.id)
    assert resp.data == []
    assert (resp.paging.total_count, resp.paging.start_offset, resp.paging.end_offset) == (0, 0, 0)
