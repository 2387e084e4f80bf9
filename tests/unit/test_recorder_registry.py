"""The recorder registry: a recording gets the recorder it names, else the default; an unknown
name is a clear error (and the supervisor ends that recording ERRORED with it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recordkit.domain.models import Recording
from recordkit.recorder.port import MediaInfo, MediaSpec, RecorderError, SegmentHandle
from recordkit.recorder.registry import DEFAULT, RecorderRegistry, UnknownRecorder
from recordkit.settings import Settings


@dataclass
class FakeSegment:
    path: Path
    live: bool = True

    def running(self) -> bool:
        return self.live


@dataclass
class FakeRecorder:
    """Writes nothing real: a segment is an empty file; enough for a recording to pass through."""

    name: str
    started: list[Path] = field(default_factory=list)

    def available(self) -> bool:
        return True

    def status(self) -> str:
        return f"fake {self.name}"

    def start_segment(self, spec: MediaSpec, path: Path) -> SegmentHandle:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        self.started.append(path)
        return FakeSegment(path)

    def stop_segment(self, handle: SegmentHandle) -> None:
        assert isinstance(handle, FakeSegment)
        handle.live = False

    def failure(self, handle: SegmentHandle) -> str:
        return "fake recorder stopped"

    def finalize(self, spec: MediaSpec, segments: list[Path], out_dir: Path, base_name: str) -> dict[str, MediaInfo]:
        raise RecorderError("the fake recorder makes no files")


def recording(config: dict[str, object] | None = None) -> Recording:
    return Recording(id="r1", app_id="a1", meeting_id="m1", status="INVOKED", invoked_ms=0, config=config)


def test_a_recording_that_names_a_registered_recorder_gets_it_else_the_default() -> None:
    main, fake = FakeRecorder("main"), FakeRecorder("fake")
    registry = RecorderRegistry({DEFAULT: main, "fake": fake})
    assert registry.for_recording(recording({"recorder": "fake"})) is fake
    assert registry.for_recording(recording({"max_seconds": 60})) is main
    assert registry.for_recording(recording(None)) is main
    assert registry.names() == (DEFAULT, "fake")
    assert [name for name, _ in registry] == [DEFAULT, "fake"]


def test_an_unknown_recorder_is_a_clear_error() -> None:
    registry = RecorderRegistry({DEFAULT: FakeRecorder("main")})
    with pytest.raises(UnknownRecorder) as caught:
        registry.for_recording(recording({"recorder": "browser"}))
    assert str(caught.value) == f"no recorder named 'browser' (this server has: {DEFAULT})"
    assert isinstance(caught.value, RecorderError)  # the supervisor ends such a recording ERRORED


def test_the_default_must_be_registered() -> None:
    with pytest.raises(ValueError, match="the default recorder 'testcard' is not among"):
        RecorderRegistry({"fake": FakeRecorder("fake")})


def test_the_settings_register_the_ffmpeg_test_card_as_the_default(tmp_path: Path) -> None:
    from recordkit.recorder.ffmpeg import FfmpegRecorder

    registry = RecorderRegistry.from_settings(Settings(data_dir=tmp_path))
    assert registry.default == "testcard" and registry.names() == ("testcard",)
    assert isinstance(registry.main, FfmpegRecorder)


def test_the_supervisor_starts_the_recorder_a_recording_names(tmp_path: Path) -> None:
    from recordkit.blobs.bucket import LocalBucket, open_signer
    from recordkit.blobs.local import LocalBlobStore
    from recordkit.domain.timefmt import now_ms
    from recordkit.jobs.supervisor import Supervisor
    from recordkit.store.factory import open_store

    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        now = now_ms()
        account = store.create_account(now=now)
        app = store.create_app(account.id, "x", now=now).id
        main, fake = FakeRecorder("main"), FakeRecorder("fake")
        bucket = LocalBucket(LocalBlobStore(tmp_path / "bucket"), open_signer(store.cipher), "http://rk.test")
        supervisor = Supervisor(
            store, RecorderRegistry({DEFAULT: main, "fake": fake}), bucket, tmp_path / "work", 3_600_000
        )
        named = Recording(id="r-fake", app_id=app, meeting_id="m1", status="INVOKED", invoked_ms=now)
        named.config = {"recorder": "fake"}
        plain = Recording(id="r-main", app_id=app, meeting_id="m2", status="INVOKED", invoked_ms=now)
        unknown = Recording(id="r-none", app_id=app, meeting_id="m3", status="INVOKED", invoked_ms=now)
        unknown.config = {"recorder": "browser"}
        for rec in (named, plain, unknown):
            store.insert_recording(rec, exclusive=False, now=now)
        try:
            supervisor.tick()
        finally:
            supervisor.stop()
        assert [p.parent.name for p in fake.started] == ["r-fake"]
        assert [p.parent.name for p in main.started] == ["r-main"]
        failed = store.recording_by_id("r-none")
        assert failed is not None and failed.status == "ERRORED"
        assert failed.error == "no recorder named 'browser' (this server has: testcard, fake)"
        assert {r: store.recording_by_id(r).status for r in ("r-fake", "r-main")} == {  # type: ignore[union-attr]
            "r-fake": "RECORDING",
            "r-main": "RECORDING",
        }
    finally:
        store.close()
