"""An imported row's stored rendering must be exactly what the renderer makes of it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordkit.domain import render
from recordkit.domain.importing import decode_recording, item_json, to_domain
from recordkit.domain.timefmt import format_ms

APP = "8968a361-b681-438c-81ae-a40e1e767eaa"
REC = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
MEETING = {"id": "282bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e", "title": "Weekly"}

times = st.integers(min_value=-62135596800000, max_value=253402300799999)


def _same(line: dict[str, object]) -> None:
    wire = decode_recording(json.dumps(line).encode())
    rec, _ = to_domain(wire, APP)
    assert item_json(wire, rec) == render.recording_item_json(rec)


@settings(max_examples=300, deadline=None)
@given(invoked=times, started=st.none() | times, expiry=st.none() | times, size=st.none() | st.floats(0, 1e12))
def test_canonical_times_are_reused_verbatim(
    invoked: int, started: int | None, expiry: int | None, size: float | None
) -> None:
    _same(
        {
            "id": REC,
            "status": "UPLOADED",
            "invoked_time": format_ms(invoked),
            "started_time": None if started is None else format_ms(started),
            "download_url_expiry": None if expiry is None else format_ms(expiry),
            "file_size": size,
            "meeting": MEETING,
        }
    )


@pytest.mark.parametrize(
    "text",
    [
        "2019-12-27T18:11:19Z",
        "2019-12-27T18:11:19.1Z",
        "2019-12-27T18:11:19.117+02:00",
        "2019-12-27T18:11:19.117123Z",
        "2019-12-27 18:11:19.117",
        "2019-12-27T18:11:19.117",
        "2019-12-27",
    ],
)
def test_other_forms_are_rendered_canonically(text: str) -> None:
    _same({"id": REC, "status": "RECORDING", "invoked_time": text, "stopped_time": text, "meeting": MEETING})
