"""Cached list pages never go stale: the same request after every kind of write shows the write.

Writes come from every path that changes a list: an import (in this process and from another
process, ``recordkit import``), a re-import that changes a meeting's title, and the API's own
recording lifecycle (start, stop). Each time the same query string is asked again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec

from recordkit.domain.listcache import PageCache, params_key

from ._harness import MeetingSpec, RecSpec, fresh_api, wall_ms, wire_row

NOW = wall_ms()
PARAMS = [("per_page", "5"), ("sort_order", "DESC")]


def _ids(resp: object) -> list[tuple[str, str, str | None]]:
    body = resp.json()  # type: ignore[attr-defined]
    return [(i["id"], i["status"], i["meeting"]["title"] if i["meeting"] else None) for i in body["data"]]


def _rec(n: int, meeting: MeetingSpec, status: str = "UPLOADED") -> tuple[RecSpec, MeetingSpec]:
    rec = RecSpec(
        id=f"{n:08x}-0000-4000-8000-000000000000", meeting_id=meeting.id, invoked_ms=NOW - n * 1000, status=status
    )
    return rec, meeting


def _meeting(title: str) -> MeetingSpec:
    return MeetingSpec(id="11111111-0000-4000-8000-000000000000", title=title, created_ms=NOW, updated_ms=NOW)


def test_same_request_sees_every_write() -> None:
    meeting = _meeting("first title")
    with fresh_api() as api:
        api.import_batch([_rec(1, meeting)])
        first = _ids(api.list(PARAMS))
        assert first == _ids(api.list(PARAMS))  # served twice, the second time from the cache
        assert len(api_pages(api)) >= 1

        api.import_batch([_rec(2, meeting)])  # a new row
        assert [i[0] for i in _ids(api.list(PARAMS))] == [
            "00000001-0000-4000-8000-000000000000",
            "00000002-0000-4000-8000-000000000000",
        ]

        api.import_batch([_rec(1, meeting, status="ERRORED")])  # a changed row
        assert _ids(api.list(PARAMS))[0][1] == "ERRORED"

        renamed = _meeting("second title")  # a changed meeting
        api.import_batch([_rec(2, renamed)])
        assert {t for _, _, t in _ids(api.list(PARAMS))} == {"second title"}

        # another process writes: recordkit import from the command line
        line = msgspec.json.encode(wire_row(_rec(3, renamed)[0], renamed))
        path = api.tmp / "one.jsonl"
        path.write_bytes(line + b"\n")
        api.store.close()  # keep no connection of ours across the other process's write
        subprocess.run(
            [
                str(Path(sys.executable).with_name("recordkit")),
                "import",
                str(path),
                "--data-dir",
                str(api.settings.data_dir),
                "--account",
                api.account_id,
                "--app",
                api.app_id,
            ],
            check=True,
            capture_output=True,
        )
        assert len(_ids(api.list(PARAMS))) == 3


def api_pages(api: object) -> PageCache[object]:
    app = api._client._transport.app  # type: ignore[attr-defined]
    return app.state.services.recordings.pages  # type: ignore[no-any-return]


def test_keys_separate_every_parameter_value() -> None:
    a = params_key("app", {"status": ["UPLOADED", "ERRORED"]})
    b = params_key("app", {"status": ["ERRORED", "UPLOADED"]})
    c = params_key("app", {"status": ["UPLOADED"]})
    assert len({a, b, c}) == 3
    cache: PageCache[int] = PageCache(capacity=2)
    cache.put(a, 1, 10)
    assert cache.get(a, 1) == 10 and cache.get(a, 2) is None
    cache.put(b, 1, 20)
    cache.put(c, 1, 30)
    assert cache.get(a, 1) is None and len(cache) == 2  # the oldest went
