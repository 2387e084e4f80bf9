"""The recording lifecycle (SPEC §4) and the recording config precedence (SPEC §5).

Every (status, event) pair of the six statuses and all lifecycle events is checked against the
table written out below from SPEC §4 (not read back from the code): an allowed pair gives its
target and the timing fields it sets; every other pair raises a non-retryable ``Conflict``.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordkit.api.errors import status_of
from recordkit.domain import lifecycle
from recordkit.domain.keys import object_key
from recordkit.domain.lifecycle import Clock, Event, apply, next_status, recorded_ms
from recordkit.domain.models import Recording
from recordkit.domain.recordings import (
    DEFAULT_CONFIG,
    StartRecordingBody,
    StartTrackBody,
    TrackLayer,
    effective_config,
    merge,
    new_recording,
    new_track_recording,
    transition,
)
from recordkit.errors import Conflict

STATUSES = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")
LIVE = ("INVOKED", "RECORDING", "PAUSED")
STOPS = (Event.STOP, Event.MAX_SECONDS, Event.MEETING_ENDED)

# SPEC §4, written out by hand. "Any live state" is INVOKED, RECORDING or PAUSED (the statuses
# that count as an active recording); UPLOADING ends through `file stored` / `upload failed`.
EXPECTED: dict[tuple[str, Event], str] = {
    ("INVOKED", Event.RECORDER_STARTED): "RECORDING",
    ("INVOKED", Event.RECORDER_FAILED): "ERRORED",
    ("RECORDING", Event.PAUSE): "PAUSED",
    ("PAUSED", Event.RESUME): "RECORDING",
    **{(status, event): "UPLOADING" for status in LIVE for event in STOPS},
    ("UPLOADING", Event.FILE_STORED): "UPLOADED",
    ("UPLOADING", Event.UPLOAD_FAILED): "ERRORED",
    **{(status, Event.RECORDER_LOST): "ERRORED" for status in LIVE},
    # Not SPEC §4's: an operator's `recordkit recordings retry-upload` (never the API) sends an
    # ERRORED recording whose files were kept back to UPLOADING (docs/decisions.md).
    ("ERRORED", Event.RETRY_UPLOAD): "UPLOADING",
}

ALL_PAIRS = list(itertools.product(STATUSES, list(Event)))
ALLOWED = [pair for pair in ALL_PAIRS if pair in EXPECTED]
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in EXPECTED]

T0 = 1_700_000_000_000
NOW = T0 + 50_000


def _id(pair: tuple[str, Event]) -> str:
    return f"{pair[0]}-{pair[1].value}"


def clock_for(status: str) -> Clock:
    """A plausible clock for a recording sitting in ``status`` (before ``NOW``)."""
    if status == "INVOKED":
        return Clock(None, None, None, 0)
    if status == "RECORDING":
        return Clock(T0 + 1_000, None, None, 4_000)  # paused for 4 s earlier, resumed since
    if status == "PAUSED":
        return Clock(T0 + 1_000, None, T0 + 30_000, 4_000)  # paused since T0+30 s
    return Clock(T0 + 1_000, T0 + 40_000, None, 4_000)  # UPLOADING, UPLOADED, ERRORED: stopped


def test_the_table_covers_six_statuses_and_every_event() -> None:
    assert len(ALL_PAIRS) == 6 * len(Event) == 66
    assert len(ALLOWED) == 19
    assert len(FORBIDDEN) == 47
    # The module's table is exactly SPEC §4's plus the operator's retry, no transition more or less.
    assert dict(lifecycle.TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("pair", ALLOWED, ids=_id)
def test_allowed_pair_gives_the_spec_target(pair: tuple[str, Event]) -> None:
    status, event = pair
    assert next_status(status, event) == EXPECTED[pair]
    moved = apply(status, event, clock_for(status), NOW)
    assert moved.status == EXPECTED[pair]


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_id)
def test_forbidden_pair_is_a_conflict_that_is_not_retryable(pair: tuple[str, Event]) -> None:
    status, event = pair
    with pytest.raises(Conflict) as raised:
        apply(status, event, clock_for(status), NOW)
    assert raised.value.retryable is False
    assert status_of(raised.value) == 409
    assert status in raised.value.message
    with pytest.raises(Conflict):
        next_status(status, event)


@pytest.mark.parametrize("pair", ALLOWED, ids=_id)
def test_allowed_pair_sets_the_timing_fields_spec_names(pair: tuple[str, Event]) -> None:
    status, event = pair
    before = clock_for(status)
    after = apply(status, event, before, NOW).clock
    target = EXPECTED[pair]

    # started_time: set when the recorder starts, never touched afterwards.
    if (status, target) == ("INVOKED", "RECORDING"):
        assert after.started_ms == NOW
    else:
        assert after.started_ms == before.started_ms

    # stopped_time: set when a live recording stops (UPLOADING) or dies (ERRORED), kept afterwards.
    if status in LIVE and target in ("UPLOADING", "ERRORED"):
        assert after.stopped_ms == NOW
    else:
        assert after.stopped_ms == before.stopped_ms

    # Pause accounting.
    if target == "PAUSED":
        assert after.paused_since_ms == NOW
        assert after.paused_total_ms == before.paused_total_ms
    elif status == "PAUSED":  # resume, stop, lost: the open pause is closed and counted
        assert before.paused_since_ms is not None
        assert after.paused_since_ms is None
        assert after.paused_total_ms == before.paused_total_ms + (NOW - before.paused_since_ms)
    else:
        assert after.paused_since_ms is None
        assert after.paused_total_ms == before.paused_total_ms


@pytest.mark.parametrize("status", LIVE)
@pytest.mark.parametrize("event", STOPS, ids=lambda e: e.value)
def test_stop_sets_stop_reason_and_stopped_time(status: str, event: Event) -> None:
    c = clock_for(status)
    rec = _recording(status, c)
    caller = {"type": "ORGANIZATION", "name": "RecordKit API", "user_Id": "tok"}
    out = transition(rec, event, NOW, caller=caller)
    assert out.status == "UPLOADING"
    assert out.stopped_ms == NOW
    expected_reason = "ALL_PEERS_LEFT" if event is Event.MEETING_ENDED else "API_CALL"
    assert out.stop_reason == {"reason": expected_reason, "caller": caller}
    assert rec.status == status  # the input is not changed


@pytest.mark.parametrize("status", LIVE)
def test_recorder_lost_is_errored_with_internal_error(status: str) -> None:
    out = transition(_recording(status, clock_for(status)), Event.RECORDER_LOST, NOW)
    assert out.status == "ERRORED"
    assert out.stop_reason == {"reason": "INTERNAL_ERROR"}


def test_recorder_failed_is_errored_with_internal_error() -> None:
    out = transition(_recording("INVOKED", clock_for("INVOKED")), Event.RECORDER_FAILED, NOW)
    assert out.status == "ERRORED"
    assert out.stop_reason == {"reason": "INTERNAL_ERROR"}
    assert out.started_ms is None


def test_stop_reason_is_kept_through_upload() -> None:
    rec = _recording("RECORDING", clock_for("RECORDING"))
    stopped = transition(rec, Event.STOP, NOW, caller={"type": "ORGANIZATION"})
    for event, target in ((Event.FILE_STORED, "UPLOADED"), (Event.UPLOAD_FAILED, "ERRORED")):
        done = transition(stopped, event, NOW + 5_000)
        assert done.status == target
        assert done.stop_reason == stopped.stop_reason
        assert done.stopped_ms == NOW


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_id)
def test_forbidden_transition_of_a_recording_changes_nothing(pair: tuple[str, Event]) -> None:
    status, event = pair
    rec = _recording(status, clock_for(status))
    snapshot = copy.deepcopy(rec)
    with pytest.raises(Conflict):
        transition(rec, event, NOW)
    assert rec == snapshot


# -- recorded time: paused spans excluded ------------------------------------------------------


def run(events: list[tuple[int, Event]], status: str = "INVOKED") -> tuple[str, Clock]:
    clock = Clock(None, None, None, 0)
    for at, event in events:
        moved = apply(status, event, clock, T0 + at)
        status, clock = moved.status, moved.clock
    return status, clock


def test_recorded_ms_before_start_is_zero() -> None:
    assert recorded_ms(Clock(None, None, None, 0), NOW) == 0
    assert recorded_ms(Clock(None, T0, None, 0), NOW) == 0  # stopped before the recorder started


def test_recorded_ms_without_pauses() -> None:
    status, clock = run([(1_000, Event.RECORDER_STARTED)])
    assert status == "RECORDING"
    assert recorded_ms(clock, T0 + 11_000) == 10_000
    _, clock = run([(1_000, Event.RECORDER_STARTED), (8_000, Event.STOP)])
    assert recorded_ms(clock, T0 + 99_000) == 7_000  # stopped: later "now" changes nothing


def test_recorded_ms_excludes_several_pauses() -> None:
    events = [
        (1_000, Event.RECORDER_STARTED),  # record 1..3   = 2 s
        (3_000, Event.PAUSE),  # pause 3..7              = 4 s
        (7_000, Event.RESUME),  # record 7..10           = 3 s
        (10_000, Event.PAUSE),  # pause 10..10.5         = 0.5 s
        (10_500, Event.RESUME),  # record 10.5..12       = 1.5 s
        (12_000, Event.PAUSE),  # pause 12..20           = 8 s
        (20_000, Event.RESUME),  # record 20..21.25      = 1.25 s
    ]
    status, clock = run(events)
    assert status == "RECORDING"
    assert clock.paused_total_ms == 12_500
    assert clock.paused_since_ms is None
    assert recorded_ms(clock, T0 + 21_250) == 7_750
    # Stopped: the total is frozen.
    status, clock = run([*events, (21_250, Event.STOP)])
    assert status == "UPLOADING"
    assert clock.stopped_ms == T0 + 21_250
    assert recorded_ms(clock, T0 + 60_000) == 7_750
    # And stays frozen through the upload.
    status, clock = run([*events, (21_250, Event.STOP), (25_000, Event.FILE_STORED)])
    assert status == "UPLOADED"
    assert recorded_ms(clock, T0 + 90_000) == 7_750


def test_recorded_ms_while_paused_does_not_grow() -> None:
    status, clock = run(
        [(0, Event.RECORDER_STARTED), (5_000, Event.PAUSE), (6_000, Event.RESUME), (9_000, Event.PAUSE)]
    )
    assert status == "PAUSED"
    assert recorded_ms(clock, T0 + 9_000) == 8_000
    assert recorded_ms(clock, T0 + 30_000) == 8_000
    assert recorded_ms(clock, T0 + 3_600_000) == 8_000


def test_stop_while_paused_counts_the_open_pause() -> None:
    status, clock = run([(0, Event.RECORDER_STARTED), (4_000, Event.PAUSE), (10_000, Event.STOP)])
    assert status == "UPLOADING"
    assert clock.paused_since_ms is None
    assert clock.paused_total_ms == 6_000
    assert recorded_ms(clock, T0 + 20_000) == 4_000


def test_recorder_lost_while_paused_counts_the_open_pause() -> None:
    status, clock = run([(0, Event.RECORDER_STARTED), (2_000, Event.PAUSE), (9_000, Event.RECORDER_LOST)])
    assert status == "ERRORED"
    assert clock.stopped_ms == T0 + 9_000
    assert recorded_ms(clock, T0 + 20_000) == 2_000


def test_recorded_ms_never_negative() -> None:
    assert recorded_ms(Clock(T0, None, None, 0), T0 - 5_000) == 0
    assert recorded_ms(Clock(T0, None, T0 + 100, 0), T0) == 0


_steps = st.lists(
    st.tuples(st.integers(0, 120_000), st.sampled_from([Event.PAUSE, Event.RESUME])),
    max_size=30,
)


@settings(max_examples=300, deadline=None, database=None)
@given(start=st.integers(0, 10_000), steps=_steps, tail=st.integers(0, 60_000), stop=st.booleans())
def test_recorded_ms_is_the_sum_of_recording_spans(
    start: int, steps: list[tuple[int, Event]], tail: int, stop: bool
) -> None:
    """Any walk through the table: recorded time is exactly the time spent in RECORDING."""
    status, clock = "INVOKED", Clock(None, None, None, 0)
    t = start
    moved = apply(status, Event.RECORDER_STARTED, clock, T0 + t)
    status, clock = moved.status, moved.clock
    in_recording = 0
    for gap, event in steps:
        if (status, event) not in EXPECTED:
            with pytest.raises(Conflict):
                apply(status, event, clock, T0 + t + gap)
            continue
        if status == "RECORDING":
            in_recording += gap
        t += gap
        moved = apply(status, event, clock, T0 + t)
        status, clock = moved.status, moved.clock
    if status == "RECORDING":
        in_recording += tail
    t += tail
    if stop:
        moved = apply(status, Event.STOP, clock, T0 + t)
        status, clock = moved.status, moved.clock
        assert status == "UPLOADING"
        t += 123_456  # later reads do not change a stopped recording's time
    assert recorded_ms(clock, T0 + t) == in_recording


# -- config precedence: body > meeting > app > RecordKit's defaults ----------------------------


def test_defaults_when_nothing_is_given() -> None:
    assert effective_config(None, None, {}) == DEFAULT_CONFIG
    assert DEFAULT_CONFIG["video_config"] == {"codec": "H264", "width": 1280, "height": 720, "export_file": True}
    assert DEFAULT_CONFIG["audio_config"] == {"codec": "AAC", "channel": "stereo", "export_file": True}
    assert DEFAULT_CONFIG["max_seconds"] == 86400
    assert DEFAULT_CONFIG["realtimekit_bucket_config"] == {"enabled": True}


def test_each_level_overrides_the_one_below() -> None:
    app = {"max_seconds": 7200, "file_name_prefix": "app"}
    meeting = {"max_seconds": 3600, "file_name_prefix": "meeting"}
    body = {"max_seconds": 600}
    assert effective_config(app, None, {})["max_seconds"] == 7200
    assert effective_config(app, meeting, {})["max_seconds"] == 3600
    assert effective_config(None, meeting, {})["max_seconds"] == 3600
    assert effective_config(app, meeting, body)["max_seconds"] == 600
    assert effective_config(app, None, body)["max_seconds"] == 600
    # A key only a lower level sets survives the higher ones.
    assert effective_config(app, meeting, body)["file_name_prefix"] == "meeting"
    assert effective_config(app, None, body)["file_name_prefix"] == "app"


def test_nested_objects_merge_field_by_field() -> None:
    app = {"video_config": {"width": 640, "height": 480}, "audio_config": {"channel": "mono"}}
    meeting = {"video_config": {"height": 360, "codec": "VP8"}, "audio_config": {"codec": "MP3"}}
    body = {"video_config": {"codec": "H264", "watermark": {"url": "https://x/y.png", "size": {"width": 50}}}}
    config = effective_config(app, meeting, body)
    assert config["video_config"] == {
        "codec": "H264",  # body
        "width": 640,  # app
        "height": 360,  # meeting over app
        "export_file": True,  # default
        "watermark": {"url": "https://x/y.png", "size": {"width": 50}},  # body only
    }
    assert config["audio_config"] == {"codec": "MP3", "channel": "mono", "export_file": True}
    assert config["max_seconds"] == 86400
    assert config["realtimekit_bucket_config"] == {"enabled": True}


def test_deeper_levels_merge_too() -> None:
    meeting = {"video_config": {"watermark": {"url": "https://m/w.png", "size": {"width": 10, "height": 20}}}}
    body = {"video_config": {"watermark": {"size": {"height": 99}, "position": "right top"}}}
    watermark = effective_config(None, meeting, body)["video_config"]["watermark"]
    assert watermark == {"url": "https://m/w.png", "size": {"width": 10, "height": 99}, "position": "right top"}


def test_none_does_not_erase_and_non_objects_replace() -> None:
    meeting = {"file_name_prefix": "keep", "video_config": {"width": 320}}
    body = {"file_name_prefix": None, "video_config": None, "realtimekit_bucket_config": {"enabled": False}}
    config = effective_config(None, meeting, body)
    assert config["file_name_prefix"] == "keep"
    assert config["video_config"]["width"] == 320
    assert config["realtimekit_bucket_config"] == {"enabled": False}
    # A scalar replaces an object and an object replaces a scalar.
    assert merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}
    assert merge({"a": 5}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_merging_changes_none_of_its_inputs() -> None:
    app = {"video_config": {"width": 640}}
    meeting = {"video_config": {"height": 360}, "audio_config": {"codec": "MP3"}}
    body = {"video_config": {"codec": "VP8"}}
    snapshots = [copy.deepcopy(x) for x in (DEFAULT_CONFIG, app, meeting, body)]
    effective_config(app, meeting, body)
    assert [DEFAULT_CONFIG, app, meeting, body] == snapshots


def test_new_recording_uses_the_effective_config() -> None:
    body = StartRecordingBody(meeting_id="6f1b3c8e-5d1a-4c2b-9f0e-1a2b3c4d5e6f", max_seconds=120)
    rec = new_recording(
        "app",
        body,
        {"video_config": {"width": 640}, "audio_config": {"channel": "mono"}},
        {"video_config": {"codec": "VP8", "height": 360}, "file_name_prefix": "board"},
        {"type": "ORGANIZATION"},
        NOW,
    )
    assert rec.status == "INVOKED"
    assert rec.invoked_ms == NOW
    assert rec.config is not None
    assert rec.config["max_seconds"] == 120
    assert rec.config["video_config"] == {"codec": "VP8", "width": 640, "height": 360, "export_file": True}
    assert rec.config["audio_config"] == {"codec": "AAC", "channel": "mono", "export_file": True}
    assert rec.output_file_name == f"board_{rec.id}.webm"  # meeting's prefix, VP8 -> WebM


def test_track_names_are_file_names_one_per_user() -> None:
    body = StartTrackBody(
        meeting_id="6f1b3c8e-5d1a-4c2b-9f0e-1a2b3c4d5e6f",
        layers={"default": TrackLayer(file_name_prefix="aud", media_kind="audio")},
        user_ids=["josé", "李", "a b", "a-b", "alice", "alice"],
    )
    rec = new_track_recording("app", body, {"type": "ORGANIZATION"}, NOW)
    assert rec.config is not None
    tracks = rec.config["tracks"]
    assert len(tracks) == len(set(tracks)) == 6
    assert tracks[0] == "aud_jos-"
    assert rec.output_file_name == f"aud_jos-_{rec.id}.webm"
    for track in tracks:  # every stored file gets a valid bucket key
        object_key("app", rec.id, f"{track}_{rec.id}.webm")


def _recording(status: str, clock: Clock) -> Recording:
    return Recording(
        id="00000000-0000-4000-8000-000000000001",
        app_id="app",
        meeting_id="00000000-0000-4000-8000-000000000002",
        status=status,
        invoked_ms=T0,
        started_ms=clock.started_ms,
        stopped_ms=clock.stopped_ms,
        paused_since_ms=clock.paused_since_ms,
        paused_total_ms=clock.paused_total_ms,
    )
