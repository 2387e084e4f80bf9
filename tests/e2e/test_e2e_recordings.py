"""Recordings that are really made (SPEC §4, §6), driven through the official SDK against live servers.

Each server here is a ``recordkit serve`` subprocess with its own data dir and port (see
``tests.support.servers.RkServer``): the main one, one with short-lived download links, one whose recorder
cannot start (``RECORDKIT_FFMPEG=/nonexistent``) and one that is killed with ``kill -9`` and
restarted. The slow work (real-time encoding) runs in parallel: the lifecycle flows of every
codec and the track recordings (both body shapes) run at once in one module fixture, and the
``max_seconds`` recording starts at the beginning of the module and is checked at its end.

A recording stopped before its encoder wrote a frame (well under a second after RECORDING) has
nothing to upload and ends ERRORED; the tests that want a file record for at least 1.5 s.
"""

from __future__ import annotations

import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest

from tests.support.data import write_jsonl
from tests.support.media import decodes_cleanly, ffprobe, streams
from tests.support.recording import Kit, Tenant, download, encoders_writing_under
from tests.support.servers import RkServer, run_cli
from tests.support.world import STATUSES, make_meeting, make_recording

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

SMALL = {"width": 160, "height": 120}
RECORDING_TIMEOUT = 30.0  # INVOKED -> RECORDING
UPLOAD_TIMEOUT = 45.0  # stop -> UPLOADED
TAKEOVER_TIMEOUT = 60.0  # after a crash: the dead server's lease may have to lapse (15 s) first
MAX_SECONDS_TEST = "test_max_seconds_stops_the_recording_by_itself"


def assert_envelope(resp: httpx.Response, status: int, *needles: str) -> str:
    """The RealtimeKit error envelope, exactly; returns the message."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"success", "error"}, body
    assert body["success"] is False, body
    assert isinstance(body["error"], dict) and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == status, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in resp.text
    return message


def assert_not_retryable_conflict(exc: cloudflare.APIStatusError, *needles: str) -> None:
    assert isinstance(exc, cloudflare.ConflictError), exc
    assert exc.response.headers.get("x-should-retry") == "false", dict(exc.response.headers)
    assert_envelope(exc.response, 409, *needles)


def ms(value: datetime | None) -> float:
    assert value is not None
    return value.timestamp()


# -- servers ---------------------------------------------------------------------------------


def _server(
    tmp_path_factory: pytest.TempPathFactory, name: str, databases: Callable[[], dict[str, str]], **env: str
) -> tuple[RkServer, Tenant]:
    """A server of its own (and, on PostgreSQL, a database of its own: servers sharing one would
    share their recordings' jobs)."""
    srv = RkServer(tmp_path_factory.mktemp(name), env={**databases(), **env})
    tenant = Tenant.create(srv)
    srv.start()
    return srv, tenant


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv, tenant = _server(tmp_path_factory, "rec-main", databases)
    try:
        yield tenant
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def kit(main: Tenant) -> Iterator[Kit]:
    with main.sdk() as client:  # the SDK's default retries: a 409 must not be retried
        yield Kit(main, client)


@pytest.fixture(scope="module")
def http(main: Tenant) -> Iterator[httpx.Client]:
    with main.http() as client:
        yield client


# -- max_seconds: started first, checked last -------------------------------------------------


@dataclass
class Background:
    recording_id: str
    started_at: float


@pytest.fixture(scope="module", autouse=True)
def max_seconds_recording(request: pytest.FixtureRequest, store_kind: str) -> Background | None:
    """Start the 60 s recording as the module begins when its (slow) test is selected: once per
    store (``store_kind`` named so that each half of the module gets its own, on its own server)."""
    if not any(getattr(item, "originalname", item.name) == MAX_SECONDS_TEST for item in request.session.items):
        return None
    kit: Kit = request.getfixturevalue("kit")
    meeting = kit.meeting("max seconds")
    rec = kit.start(meeting, max_seconds=60, video_config=SMALL, audio_config={"channel": "mono"})
    assert rec.status == "INVOKED"
    return Background(rec.id, time.monotonic())


# -- the lifecycle flows, all at once ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    body: dict[str, Any]
    container: str  # format name ffprobe reports
    extension: str
    video: str
    width: int
    height: int
    audio: str
    channels: int
    audio_extension: str
    meeting_config: dict[str, Any] | None = None
    prefix: str | None = None


CASES: dict[str, Case] = {
    "h264-aac-stereo": Case(
        {"video_config": {"codec": "H264", "width": 640, "height": 360}, "audio_config": {"codec": "AAC"}},
        "mp4", ".mp4", "h264", 640, 360, "aac", 2, ".m4a",
    ),
    "h264-mp3-mono": Case(
        {
            "video_config": {"codec": "H264", "width": 320, "height": 240},
            "audio_config": {"codec": "MP3", "channel": "mono"},
            "file_name_prefix": "flow_mp3-1",
        },
        "mp4", ".mp4", "h264", 320, 240, "mp3", 1, ".mp3", prefix="flow_mp3-1",
    ),
    "vp8-mono": Case(
        {"video_config": {"codec": "VP8", "width": 352, "height": 288}, "audio_config": {"channel": "mono"}},
        "webm", ".webm", "vp8", 352, 288, "vorbis", 1, ".ogg",
    ),
    # The meeting's recording_config under the start body, field by field (SPEC §5).
    "meeting-config": Case(
        {"video_config": {"width": 480}, "audio_config": {"channel": "stereo"}},
        "webm", ".webm", "vp8", 480, 240, "vorbis", 2, ".ogg",
        meeting_config={
            "video_config": {"codec": "VP8", "width": 320, "height": 240},
            "audio_config": {"channel": "mono"},
            "file_name_prefix": "mtg",
        },
        prefix="mtg",
    ),
}  # fmt: skip

TRACK_SHAPES: dict[str, dict[str, Any]] = {
    "current": {
        "layers": {"default": {"file_name_prefix": "aud", "media_kind": "audio"}},
        "user_ids": ["alice", "bob-2"],
    },
    "older": {"layers": {"default": {"outputs": [{"type": "REALTIMEKIT_BUCKET"}]}}},
    # User ids that are no file names: cleaned to ASCII, and kept apart when they clean alike.
    "odd-user-ids": {"user_ids": ["josé", "李", "a b", "a-b"]},
}
TRACK_PREFIX = {"current": "aud_alice_", "older": "default_all_", "odd-user-ids": "default_jos-_"}
TRACK_FILES = {"current": 2, "older": 1, "odd-user-ids": 4}

PAUSE_SECONDS = 4.0


@dataclass
class Flow:
    """What one run through the lifecycle saw."""

    meeting_id: str = ""
    start: Any = None
    recording: Any = None
    paused: Any = None
    resumed: Any = None
    stopped: Any = None
    final: Any = None
    active_while_paused: Any = None
    active_after: cloudflare.APIStatusError | None = None
    pause_gap: float = 0.0  # seconds between the pause's answer and the resume call
    refusals: dict[str, cloudflare.APIStatusError] = field(default_factory=dict)
    video: Path | None = None
    audio: Path | None = None


def composite_flow(kit: Kit, name: str, case: Case, folder: Path) -> Flow:
    flow = Flow()
    extra = {"recording_config": case.meeting_config} if case.meeting_config else {}
    flow.meeting_id = kit.meeting(f"flow {name}", **extra)
    flow.start = kit.start(flow.meeting_id, **case.body)
    rec_id = flow.start.id
    flow.recording = kit.wait(rec_id, {"RECORDING", "ERRORED"}, RECORDING_TIMEOUT)
    flow.refusals["resume while RECORDING"] = kit.refused(rec_id, "resume")
    time.sleep(1.5)
    flow.paused = kit.act(rec_id, "pause")
    paused_at = time.monotonic()
    flow.refusals["pause while PAUSED"] = kit.refused(rec_id, "pause")
    flow.active_while_paused = kit.active(flow.meeting_id)
    time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - paused_at)))
    flow.pause_gap = time.monotonic() - paused_at
    flow.resumed = kit.act(rec_id, "resume")
    flow.refusals["resume after resume"] = kit.refused(rec_id, "resume")
    time.sleep(1.5)
    flow.stopped = kit.act(rec_id, "stop")
    flow.refusals["pause while UPLOADING or later"] = kit.refused(rec_id, "pause")
    flow.final = kit.wait(rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    for action in ("stop", "pause", "resume"):
        flow.refusals[f"{action} after UPLOADED"] = kit.refused(rec_id, action)
    try:
        kit.active(flow.meeting_id)
    except cloudflare.APIStatusError as exc:
        flow.active_after = exc
    if flow.final.download_url:
        flow.video = folder / f"{name}-video"
        download(flow.final.download_url, flow.video)
    if flow.final.audio_download_url:
        flow.audio = folder / f"{name}-audio"
        download(flow.final.audio_download_url, flow.audio)
    return flow


def track_flow(kit: Kit, shape: str, folder: Path) -> Flow:
    flow = Flow()
    flow.meeting_id = kit.meeting(f"track {shape}")
    flow.start = kit.start_track(flow.meeting_id, **TRACK_SHAPES[shape])
    rec_id = flow.start.id
    flow.recording = kit.wait(rec_id, {"RECORDING", "ERRORED"}, RECORDING_TIMEOUT)
    time.sleep(2.5)
    flow.stopped = kit.act(rec_id, "stop")
    flow.final = kit.wait(rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    if flow.final.download_url:
        flow.video = folder / f"track-{shape}"
        download(flow.final.download_url, flow.video)
    return flow


@pytest.fixture(scope="module")
def flows(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Flow | BaseException]:
    folder = tmp_path_factory.mktemp("rec-downloads")
    jobs: dict[str, Callable[[], Flow]] = {
        **{name: partial(composite_flow, kit, name, case, folder) for name, case in CASES.items()},
        **{f"track-{shape}": partial(track_flow, kit, shape, folder) for shape in TRACK_SHAPES},
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        out: dict[str, Flow | BaseException] = {}
        for name, future in futures.items():
            try:
                out[name] = future.result(timeout=180)
            except BaseException as exc:
                out[name] = exc
    return out


def flow_of(flows: dict[str, Flow | BaseException], name: str) -> Flow:
    result = flows[name]
    if isinstance(result, BaseException):
        raise result
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_flow_walks_the_lifecycle(flows: dict[str, Flow | BaseException], name: str) -> None:
    flow, case = flow_of(flows, name), CASES[name]
    start = flow.start
    rec_id = start.id
    uuid.UUID(rec_id)
    assert start.status == "INVOKED"
    assert start.started_time is None and start.stopped_time is None
    assert start.download_url is None and start.file_size is None and start.recording_duration is None
    assert start.output_file_name.endswith(case.extension)
    if case.prefix:
        assert start.output_file_name == f"{case.prefix}_{rec_id}{case.extension}"
    assert start.start_reason.reason == "API_CALL"
    assert start.stop_reason is None

    assert flow.recording.status == "RECORDING"
    assert flow.recording.started_time is not None
    assert flow.recording.stopped_time is None
    assert flow.paused.status == "PAUSED"
    assert flow.active_while_paused.id == rec_id
    assert flow.active_while_paused.status == "PAUSED"
    assert flow.resumed.status == "RECORDING"
    assert flow.resumed.started_time == flow.recording.started_time  # resuming does not restart

    stopped = flow.stopped
    assert stopped.status == "UPLOADING"
    assert stopped.stopped_time is not None and stopped.stopped_time > stopped.started_time
    assert stopped.stop_reason.reason == "API_CALL"
    assert stopped.stop_reason.caller is not None

    final = flow.final
    assert final.status == "UPLOADED", final
    assert final.id == rec_id
    assert final.started_time == flow.recording.started_time
    assert final.stopped_time == stopped.stopped_time
    assert final.stop_reason.reason == "API_CALL"
    assert final.download_url and final.audio_download_url
    assert final.file_size and final.file_size > 0
    assert final.recording_duration is not None and final.recording_duration >= 1
    assert final.output_file_name.endswith(case.extension)
    # The link lives 7 days by default (SPEC §6).
    expiry = final.download_url_expiry
    assert expiry is not None
    assert abs(expiry - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=10)

    assert flow.active_after is not None
    assert isinstance(flow.active_after, cloudflare.NotFoundError)
    assert_envelope(flow.active_after.response, 404)


@pytest.mark.parametrize("name", list(CASES))
def test_flow_refuses_every_transition_the_table_lacks(flows: dict[str, Flow | BaseException], name: str) -> None:
    flow = flow_of(flows, name)
    assert set(flow.refusals) == {
        "resume while RECORDING",
        "pause while PAUSED",
        "resume after resume",
        "pause while UPLOADING or later",
        "stop after UPLOADED",
        "pause after UPLOADED",
        "resume after UPLOADED",
    }
    for label, exc in flow.refusals.items():
        try:
            assert_not_retryable_conflict(exc)
        except AssertionError as failure:
            raise AssertionError(f"{label}: {failure}") from None


@pytest.mark.parametrize("name", list(CASES))
def test_flow_file_is_what_was_asked(flows: dict[str, Flow | BaseException], name: str) -> None:
    flow, case = flow_of(flows, name), CASES[name]
    final = flow.final
    assert flow.video is not None and flow.video.exists()
    assert final.download_url.split("?")[0].endswith(case.extension)
    assert flow.video.stat().st_size == final.file_size
    info = ffprobe(flow.video)
    assert case.container in info["format"]["format_name"].split(","), info
    video, audio = streams(info, "video"), streams(info, "audio")
    assert len(video) == 1 and len(audio) == 1, info
    assert video[0]["codec_name"] == case.video
    assert (video[0]["width"], video[0]["height"]) == (case.width, case.height)
    assert audio[0]["codec_name"] == case.audio
    assert audio[0]["channels"] == case.channels
    duration = float(info["format"]["duration"])
    assert abs(duration - final.recording_duration) <= 1.0, (duration, final.recording_duration)
    # Paused time is not in the file: it is shorter than started..stopped minus the pause (4 s),
    # give or take how quickly the encoder followed the pause and the stop: on a loaded 2-core
    # machine (the suite's own servers and encoders) up to about 0.7 s each. The 2 s of slack stay
    # well under the pause, so a file that kept the pause (about the whole span) still fails.
    span = ms(final.stopped_time) - ms(final.started_time)
    assert duration <= span - flow.pause_gap + 2.0, (duration, span, flow.pause_gap)
    # ~3 s were live; ffmpeg needs up to a second to start each segment on a loaded 2-core machine
    assert duration >= 0.5
    assert decodes_cleanly(flow.video) == ""


@pytest.mark.parametrize("name", list(CASES))
def test_flow_audio_file(flows: dict[str, Flow | BaseException], name: str) -> None:
    flow, case = flow_of(flows, name), CASES[name]
    assert flow.audio is not None and flow.audio.exists()
    assert flow.final.audio_download_url.split("?")[0].endswith(case.audio_extension)
    info = ffprobe(flow.audio)
    assert streams(info, "video") == []
    (audio,) = streams(info, "audio")
    assert audio["codec_name"] == case.audio
    assert audio["channels"] == case.channels
    assert abs(float(info["format"]["duration"]) - flow.final.recording_duration) <= 1.0


@pytest.mark.parametrize("name", ["h264-aac-stereo", "vp8-mono"])
def test_download_supports_range(flows: dict[str, Flow | BaseException], name: str) -> None:
    flow = flow_of(flows, name)
    assert flow.video is not None
    whole = flow.video.read_bytes()
    url = flow.final.download_url
    part = httpx.get(url, headers={"Range": "bytes=100-1099"}, timeout=30)
    assert part.status_code == 206, part.text[:200]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole)}"
    assert part.content == whole[100:1100]
    tail = httpx.get(url, headers={"Range": "bytes=-64"}, timeout=30)
    assert tail.status_code == 206
    assert tail.content == whole[-64:]
    rest = httpx.get(url, headers={"Range": f"bytes={len(whole) - 10}-"}, timeout=30)
    assert rest.status_code == 206
    assert rest.content == whole[-10:]
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(whole)
    assert head.headers.get("accept-ranges") == "bytes"
    beyond = httpx.get(url, headers={"Range": f"bytes={len(whole) + 10}-"}, timeout=30)
    assert beyond.status_code == 416
    assert whole[:64] not in beyond.content or not beyond.content


def test_tampered_links_are_refused(flows: dict[str, Flow | BaseException]) -> None:
    flow = flow_of(flows, "h264-aac-stereo")
    url, audio_url = flow.final.download_url, flow.final.audio_download_url
    path, query = url.split("?")
    params = dict(p.split("=") for p in query.split("&"))
    sig, expires = params["signature"], params["expires"]
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    audio_path, audio_query = audio_url.split("?")
    bad = {
        "signature changed": f"{path}?expires={expires}&signature={flipped}",
        "expiry pushed out": f"{path}?expires={int(expires) + 86_400_000}&signature={sig}",
        "other file, same signature": f"{audio_path}?{query}",
        "no signature": f"{path}?expires={expires}",
        "no query": path,
        "signature not hex": f"{path}?expires={expires}&signature=zz{sig[2:]}",
    }
    whole = flow.video.read_bytes() if flow.video else b""
    for label, link in bad.items():
        resp = httpx.get(link, timeout=30)
        try:
            assert_envelope(resp, 403)
        except AssertionError as failure:
            raise AssertionError(f"{label}: {failure}") from None
        assert len(resp.content) < 500 and whole[:32] not in resp.content
    # The genuine links still work.
    assert httpx.get(url, timeout=30).status_code == 200
    assert httpx.get(f"{audio_path}?{audio_query}", timeout=30).status_code == 200


@pytest.mark.parametrize("shape", list(TRACK_SHAPES))
def test_track_recording_ends_uploaded_with_webm_opus(
    flows: dict[str, Flow | BaseException], shape: str, main: Tenant
) -> None:
    flow = flow_of(flows, f"track-{shape}")
    assert flow.start.status == "INVOKED"
    assert flow.start.output_file_name.startswith(TRACK_PREFIX[shape])
    assert flow.recording.status == "RECORDING"
    assert flow.stopped.status == "UPLOADING"
    final = flow.final
    assert final.status == "UPLOADED", final
    assert final.output_file_name == flow.start.output_file_name
    assert final.output_file_name.endswith(".webm")
    # One file per user (and layer) in the bucket.
    stored = sorted(p.name for p in (main.server.data_dir / "bucket" / main.app / final.id).iterdir())
    assert len(stored) == TRACK_FILES[shape], stored
    assert all(name.endswith(f"_{final.id}.webm") for name in stored), stored
    assert flow.video is not None
    assert flow.video.stat().st_size == final.file_size
    info = ffprobe(flow.video)
    assert "webm" in info["format"]["format_name"].split(",")
    assert streams(info, "video") == []
    (audio,) = streams(info, "audio")
    assert audio["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) - final.recording_duration) <= 1.0
    assert final.recording_duration >= 1
    assert decodes_cleanly(flow.video) == ""


def test_track_start_answers_in_the_recording_wrapper(main: Tenant, kit: Kit, http: httpx.Client) -> None:
    meeting = kit.meeting("track wrapper")
    resp = http.post(f"{main.kit}/recordings/track", json={"meeting_id": meeting})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True and set(body["data"]) == {"recording"}
    rec = body["data"]["recording"]
    assert rec["status"] == "INVOKED"
    # A second track recording of the same meeting while one runs is refused.
    again = http.post(f"{main.kit}/recordings/track", json={"meeting_id": meeting})
    assert_envelope(again, 409, "Recording already in progress")
    kit.wait(rec["id"], {"RECORDING"}, RECORDING_TIMEOUT)
    assert kit.act(rec["id"], "stop").status == "UPLOADING"


# -- start rules ------------------------------------------------------------------------------


def test_second_start_is_a_conflict_unless_multiple_recordings_are_allowed(kit: Kit) -> None:
    meeting = kit.meeting("twice")
    first = kit.start(meeting, video_config=SMALL)
    with pytest.raises(cloudflare.ConflictError) as raised:
        kit.start(meeting, video_config=SMALL)
    assert_not_retryable_conflict(raised.value, "Recording already in progress")
    assert kit.active(meeting).id == first.id  # nothing new was made

    second = kit.start(meeting, video_config=SMALL, allow_multiple_recordings=True)
    assert second.status == "INVOKED" and second.id != first.id
    assert kit.active(meeting).id == second.id  # newest first
    kit.wait(first.id, {"RECORDING"}, RECORDING_TIMEOUT)
    kit.wait(second.id, {"RECORDING"}, RECORDING_TIMEOUT)
    time.sleep(1.5)  # a recording stopped before its encoder wrote a frame has nothing to upload
    kit.act(second.id, "stop")
    assert kit.active(meeting).id == first.id
    kit.act(first.id, "stop")
    with pytest.raises(cloudflare.NotFoundError):
        kit.active(meeting)
    # Once none is active, a plain start works again.
    third = kit.start(meeting, video_config=SMALL)
    kit.wait(third.id, {"RECORDING"}, RECORDING_TIMEOUT)
    time.sleep(1.5)
    kit.act(third.id, "stop")
    for rec_id in (first.id, second.id, third.id):
        assert kit.wait(rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT).status == "UPLOADED"


def test_active_recording_is_404_when_there_is_none(kit: Kit, http: httpx.Client, main: Tenant) -> None:
    meeting = kit.meeting("quiet")
    with pytest.raises(cloudflare.NotFoundError):
        kit.active(meeting)
    resp = http.get(f"{main.kit}/recordings/active-recording/{meeting}")
    assert_envelope(resp, 404)


def test_unknown_meeting_or_recording_is_404(kit: Kit, http: httpx.Client, main: Tenant) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(cloudflare.NotFoundError) as raised:
        kit.start(unknown)
    assert_envelope(raised.value.response, 404, unknown)
    with pytest.raises(cloudflare.NotFoundError):
        kit.start_track(unknown)
    for resp in (
        http.get(f"{main.kit}/recordings/active-recording/{unknown}"),
        http.get(f"{main.kit}/recordings/{unknown}"),
        http.put(f"{main.kit}/recordings/{unknown}", json={"action": "stop"}),
    ):
        assert_envelope(resp, 404)


def test_read_only_token_cannot_start_or_act(main: Tenant, kit: Kit) -> None:
    meeting = kit.meeting("read only")
    rec = kit.start(meeting, video_config=SMALL)
    with main.sdk(main.ro_token, max_retries=0) as ro_client:
        ro = Kit(main, ro_client)
        with pytest.raises(cloudflare.PermissionDeniedError) as raised:
            ro.start(meeting, allow_multiple_recordings=True)
        assert_envelope(raised.value.response, 403)
        with pytest.raises(cloudflare.PermissionDeniedError):
            ro.start_track(meeting)
        kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
        for action in ("pause", "stop", "resume"):
            with pytest.raises(cloudflare.PermissionDeniedError) as raised:
                ro.act(rec.id, action)
            assert_envelope(raised.value.response, 403)
        # Reading is allowed, and nothing changed.
        assert ro.get(rec.id).status == "RECORDING"
        assert ro.active(meeting).id == rec.id
    with main.http(main.ro_token) as ro_http:
        assert_envelope(ro_http.post(f"{main.kit}/recordings", json={"meeting_id": meeting}), 403)
        assert_envelope(ro_http.put(f"{main.kit}/recordings/{rec.id}", json={"action": "stop"}), 403)
    assert kit.act(rec.id, "stop").status == "UPLOADING"


BAD_STARTS: list[tuple[str, dict[str, Any]]] = [
    ("max_seconds", {"max_seconds": 59}),
    ("max_seconds", {"max_seconds": 86401}),
    ("max_seconds", {"max_seconds": "sixty"}),
    ("width", {"video_config": {"width": 5000}}),
    ("height", {"video_config": {"height": 0}}),
    ("codec", {"video_config": {"codec": "H265"}}),
    ("codec", {"audio_config": {"codec": "OPUS"}}),
    ("channel", {"audio_config": {"channel": "surround"}}),
    ("file_name_prefix", {"file_name_prefix": "../x"}),
    ("file_name_prefix", {"file_name_prefix": "a/b"}),
    ("file_name_prefix", {"file_name_prefix": ""}),
    ("allow_multiple_recordings", {"allow_multiple_recordings": "yes"}),
    ("meeting_id", {"meeting_id": "not-a-uuid"}),
    ("meeting_id", {"meeting_id": None}),
]


@pytest.mark.parametrize(("field_name", "body"), BAD_STARTS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_STARTS)])
def test_bad_start_body_is_400_naming_the_field(
    kit: Kit, http: httpx.Client, main: Tenant, field_name: str, body: dict[str, Any]
) -> None:
    meeting = kit.meeting(f"bad {field_name}")
    resp = http.post(f"{main.kit}/recordings", json={"meeting_id": meeting, **body})
    assert_envelope(resp, 400, field_name)
    with pytest.raises(cloudflare.NotFoundError):
        kit.active(meeting)  # nothing was started


def test_bad_bodies_of_the_other_endpoints(kit: Kit, http: httpx.Client, main: Tenant) -> None:
    meeting = kit.meeting("bad bodies")
    assert_envelope(http.post(f"{main.kit}/recordings", json={}), 400, "meeting_id")
    assert_envelope(http.post(f"{main.kit}/recordings", content=b"{not json"), 400)
    bad_tracks: list[tuple[str, dict[str, Any]]] = [
        ("file_name_prefix", {"layers": {"default": {"file_name_prefix": "../x"}}}),
        ("media_kind", {"layers": {"default": {"media_kind": "video"}}}),
        ("user_ids", {"user_ids": [f"u{i}" for i in range(101)]}),
    ]
    for field_name, body in bad_tracks:
        assert_envelope(
            http.post(f"{main.kit}/recordings/track", json={"meeting_id": meeting, **body}), 400, field_name
        )
    with pytest.raises(cloudflare.NotFoundError):
        kit.active(meeting)
    # An action the API does not know, on a live recording: 400, and the recording goes on.
    rec = kit.start(meeting, video_config=SMALL)
    kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
    for body in ({"action": "jump"}, {"action": "STOP"}, {}, {"action": None}):
        assert_envelope(http.put(f"{main.kit}/recordings/{rec.id}", json=body), 400, "action")
    with pytest.raises(cloudflare.BadRequestError) as raised:
        kit.act(rec.id, "jump")
    assert "action" in raised.value.response.json()["error"]["message"]
    assert kit.get(rec.id).status == "RECORDING"
    assert kit.act(rec.id, "stop").status == "UPLOADING"


# -- imported recordings are not RecordKit's to run --------------------------------------------

LIVE_ACTIONS_ALLOWED = {("RECORDING", "pause"), ("PAUSED", "resume")} | {
    (s, "stop") for s in ("INVOKED", "RECORDING", "PAUSED")
}


def test_imported_recordings_are_never_touched(main: Tenant, kit: Kit, http: httpx.Client, tmp_path: Path) -> None:
    rng = random.Random(4242)
    now = datetime.now(UTC)
    meeting = make_meeting(rng, "Imported", "ACTIVE")
    invoked = now - timedelta(hours=2)
    rows = [
        make_recording(rng, meeting, status, invoked + timedelta(minutes=i), now) for i, status in enumerate(STATUSES)
    ]
    rows += [
        make_recording(rng, meeting, s, invoked + timedelta(minutes=10 + i), now) for i, s in enumerate(STATUSES[:3])
    ]
    path = write_jsonl(tmp_path / "imported.jsonl", rows)
    run_cli("import", str(path), "--data-dir", str(main.server.data_dir), "--account", main.account, "--app", main.app)
    imported_at = time.monotonic()
    before = {r["id"]: http.get(f"{main.kit}/recordings/{r['id']}").json() for r in rows}
    for row in rows:
        assert before[row["id"]]["data"]["status"] == row["status"]

    # Every action the table does not allow is a 409 that must not be retried, in every status.
    for row in rows[:6]:
        for action in ("stop", "pause", "resume"):
            if (row["status"], action) in LIVE_ACTIONS_ALLOWED:
                continue
            try:
                assert_not_retryable_conflict(kit.refused(row["id"], action), row["status"])
            except AssertionError as failure:
                raise AssertionError(f"{action} while {row['status']}: {failure}") from None

    # The supervisor ticks every half second: give it several chances to (wrongly) pick them up.
    time.sleep(max(0.0, 4.0 - (time.monotonic() - imported_at)))
    for row in rows:
        after = http.get(f"{main.kit}/recordings/{row['id']}").json()
        assert after == before[row["id"]], row["status"]
        assert not (main.server.work_dir / row["id"]).exists()
    active = kit.active(meeting["id"])
    assert active.status in ("INVOKED", "RECORDING", "PAUSED")


# -- download links expire ----------------------------------------------------------------------


def test_expired_link_is_410(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> None:
    srv, tenant = _server(tmp_path_factory, "rec-ttl", databases, RECORDKIT_DOWNLOAD_TTL_SECONDS="4")
    try:
        with tenant.sdk() as client:
            kit = Kit(tenant, client)
            meeting = kit.meeting("short links")
            rec = kit.start(meeting, video_config=SMALL)
            kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
            time.sleep(2)
            kit.act(rec.id, "stop")
            final = kit.wait(rec.id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
            assert final.status == "UPLOADED"
            fresh = httpx.get(final.download_url, timeout=30)
            assert fresh.status_code == 200
            assert len(fresh.content) == final.file_size
            expiry = ms(final.download_url_expiry)
            assert 0 < expiry - time.time() <= 4.5
            time.sleep(max(0.0, expiry - time.time()) + 0.5)
            for link in (final.download_url, final.audio_download_url):
                resp = httpx.get(link, timeout=30)
                assert_envelope(resp, 410)
                assert fresh.content[:32] not in resp.content
            ranged = httpx.get(final.download_url, headers={"Range": "bytes=0-9"}, timeout=30)
            assert_envelope(ranged, 410)
            # Tampered and expired: the signature is checked first.
            path, query = final.download_url.split("?")
            assert_envelope(httpx.get(f"{path}?{query.replace('signature=', 'signature=0')}", timeout=30), 403)
            # The row stays and matches expired=true (SPEC §6).
            listed = client.realtime_kit.recordings.get_recordings(tenant.app, account_id=tenant.account, expired=True)
            assert rec.id in [r.id for r in listed.data or []]
            assert kit.get(rec.id).status == "UPLOADED"
    finally:
        srv.stop()


# -- a recorder that cannot start ----------------------------------------------------------------


def test_recorder_that_cannot_start_ends_errored(
    tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> None:
    srv, tenant = _server(tmp_path_factory, "rec-noffmpeg", databases, RECORDKIT_FFMPEG="/nonexistent")
    try:
        with tenant.sdk() as client:
            kit = Kit(tenant, client)
            meeting = kit.meeting("no encoder")
            rec = kit.start(meeting, video_config=SMALL)
            assert rec.status == "INVOKED"
            track = kit.start_track(kit.meeting("no encoder, tracks"))
            for rec_id in (rec.id, track.id):
                final = kit.wait(rec_id, {"ERRORED", "UPLOADED", "RECORDING"}, RECORDING_TIMEOUT)
                assert final.status == "ERRORED", final
                assert final.stop_reason is not None and final.stop_reason.reason == "INTERNAL_ERROR"
                assert final.started_time is None
                assert final.download_url is None and final.audio_download_url is None
                assert final.file_size is None and final.recording_duration is None
                for action in ("stop", "pause", "resume"):
                    assert_not_retryable_conflict(kit.refused(rec_id, action))
            with pytest.raises(cloudflare.NotFoundError):
                kit.active(meeting)
            # The meeting is free again: a new start is accepted (and fails the same way).
            again = kit.start(meeting)
            assert kit.wait(again.id, {"ERRORED", "RECORDING"}, RECORDING_TIMEOUT).status == "ERRORED"
        # Why, where a user looks: the recording's error and the log name the binary, once each.
        why = "ffmpeg not found: RECORDKIT_FFMPEG=/nonexistent is not an executable file"
        with tenant.http() as http:
            shown = http.get(f"{tenant.kit}/recordings/{rec.id}").json()["data"]
        assert shown["error"] == why, shown
        log = srv.log()
        assert log.count(f"recording {rec.id}: recorder could not start: {why}") == 1, log[-2000:]
        assert "recorder could not start: recorder could not start" not in log
        ready = httpx.get(f"{srv.origin}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["error"]["message"] == f"not ready: recorder: {why}"
        assert not srv.work_dir.exists() or list(srv.work_dir.iterdir()) == []
    finally:
        srv.stop()


# -- crash safety ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crashy(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv, tenant = _server(tmp_path_factory, "rec-crash", databases)
    try:
        yield tenant
    finally:
        srv.stop()


def _work_dir_empties(srv: RkServer, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(p.name for p in srv.work_dir.iterdir()) if srv.work_dir.exists() else []
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _no_orphan_encoders(srv: RkServer, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = encoders_writing_under(srv.data_dir)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _playable(kit: Kit, rec: Any, target: Path, video_codec: str) -> None:
    assert rec.download_url, rec
    assert download(rec.download_url, target).status_code == 200
    assert target.stat().st_size == rec.file_size
    assert decodes_cleanly(target) == ""
    info = ffprobe(target)
    assert [s["codec_name"] for s in streams(info, "video")] == [video_codec]
    duration = float(info["format"]["duration"])
    assert duration > 0.5
    assert abs(duration - rec.recording_duration) <= 1.0


def test_kill_9_while_recording_then_restart(crashy: Tenant, tmp_path: Path) -> None:
    srv = crashy.server
    with crashy.sdk() as client:
        kit = Kit(crashy, client)
        recording = kit.start(kit.meeting("crash: recording"), video_config=SMALL)
        paused = kit.start(kit.meeting("crash: paused"), video_config={"codec": "VP8", **SMALL})
        empty = kit.start(kit.meeting("crash: nothing recorded"), video_config=SMALL)
        for rec in (recording, paused, empty):
            kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
        time.sleep(1.5)
        assert kit.act(paused.id, "pause").status == "PAUSED"
        time.sleep(1.0)

    srv.kill9()
    assert srv.db_status(recording.id) == "RECORDING"
    assert srv.db_status(paused.id) == "PAUSED"
    assert srv.db_status(empty.id) == "RECORDING"
    assert _no_orphan_encoders(srv) == [], "an encoder outlived its server"
    written = {
        label: [(f.name, f.stat().st_size) for f in sorted((srv.work_dir / rec.id).glob("segment-*"))]
        for label, rec in (("recording", recording), ("paused", paused))
    }
    assert all(written.values()), f"nothing was written before the crash: {written}"
    shutil.rmtree(srv.work_dir / empty.id)  # as if the server died before the encoder wrote a byte

    srv.start()
    with crashy.sdk() as client:
        kit = Kit(crashy, client)
        done = {r.id: kit.wait(r.id, {"UPLOADED", "ERRORED"}, TAKEOVER_TIMEOUT) for r in (recording, paused, empty)}
        for label, rec in (("recording", recording), ("paused", paused)):
            assert done[rec.id].status == "UPLOADED", (label, written, done[rec.id])
            assert done[rec.id].stop_reason is not None
            assert done[rec.id].stop_reason.reason == "INTERNAL_ERROR"
        _playable(kit, done[recording.id], tmp_path / "recording.mp4", "h264")
        _playable(kit, done[paused.id], tmp_path / "paused.webm", "vp8")
        assert done[empty.id].status == "ERRORED"
        assert done[empty.id].stop_reason.reason == "INTERNAL_ERROR"
        assert done[empty.id].download_url is None
    assert _work_dir_empties(srv) == []


def test_kill_9_while_uploading_then_restart(crashy: Tenant, tmp_path: Path) -> None:
    srv = crashy.server
    caught: list[str] = []
    for attempt in range(3):
        with crashy.sdk() as client, crashy.http() as http:
            kit = Kit(crashy, client)
            rec = kit.start(kit.meeting(f"crash: uploading {attempt}"), video_config=SMALL)
            kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
            time.sleep(2.0)
            resp = http.put(f"{crashy.kit}/recordings/{rec.id}", json={"action": "stop"})
            srv.kill9()  # right after the stop was accepted: the upload is under way
        assert resp.status_code == 200, resp.text
        status = srv.db_status(rec.id)
        assert status in ("UPLOADING", "UPLOADED")
        srv.start()
        with crashy.sdk() as client:
            kit = Kit(crashy, client)
            final = kit.wait(rec.id, {"UPLOADED", "ERRORED"}, TAKEOVER_TIMEOUT)
            assert final.status == "UPLOADED", final
            assert final.stop_reason.reason == "API_CALL"
            _playable(kit, final, tmp_path / f"uploading-{attempt}.mp4", "h264")
        assert _work_dir_empties(srv) == []
        if status == "UPLOADING":
            caught.append(rec.id)
            break
    assert caught, "the kill never landed during UPLOADING (three tries)"


# -- max_seconds (slow; started at the top of the module) -------------------------------------------


@pytest.mark.slow
def test_max_seconds_stops_the_recording_by_itself(
    max_seconds_recording: Background | None, kit: Kit, tmp_path: Path
) -> None:
    assert max_seconds_recording is not None
    rec_id = max_seconds_recording.recording_id
    left = 60 + 45 - (time.monotonic() - max_seconds_recording.started_at)
    final = kit.wait(rec_id, {"UPLOADED", "ERRORED"}, max(left, UPLOAD_TIMEOUT))
    assert final.status == "UPLOADED", final
    assert final.stop_reason is not None and final.stop_reason.reason != "INTERNAL_ERROR"
    span = ms(final.stopped_time) - ms(final.started_time)
    assert 60 <= span <= 63, span
    assert 58 <= final.recording_duration <= 61
    target = tmp_path / "max.mp4"
    assert download(final.download_url, target).status_code == 200
    info = ffprobe(target)
    assert abs(float(info["format"]["duration"]) - final.recording_duration) <= 1.0
    assert target.stat().st_size == final.file_size
