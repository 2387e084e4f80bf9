"""Which ffmpeg records (recordkit.recorder.binaries), and the recorder probing files with it alone.

The PyPI ffmpeg (imageio-ffmpeg, a dependency of the default install) is real here: these tests
encode, kill and probe real files with it, with no ffmpeg or ffprobe on the PATH.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from recordkit.recorder.binaries import PACKAGE, find_ffmpeg
from recordkit.recorder.ffmpeg import FfmpegRecorder
from recordkit.recorder.port import MediaSpec, RecorderError


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with no ffmpeg and no ffprobe on it (a fresh machine with Python and pip)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def test_with_nothing_on_path_the_wheel_s_ffmpeg_is_found_and_has_the_codecs(bare_path: Path) -> None:
    found = find_ffmpeg()
    assert found.source == PACKAGE and found.path is not None and os.access(found.path, os.X_OK)
    version = subprocess.run([found.path, "-hide_banner", "-version"], capture_output=True, text=True, check=True)
    for library in ("--enable-libx264", "--enable-libvpx", "--enable-libvorbis", "--enable-libopus"):
        assert library in version.stdout
    assert found.describe() == f"{found.path} (from {PACKAGE})"


def test_an_ffmpeg_on_path_comes_first(bare_path: Path) -> None:
    mine = bare_path / "ffmpeg"
    mine.write_text("#!/bin/sh\nexit 0\n")
    mine.chmod(0o755)
    found = find_ffmpeg()
    assert (found.path, found.source) == (str(mine), "PATH")


def test_an_explicit_ffmpeg_is_used_as_given_and_never_replaced(tmp_path: Path) -> None:
    missing = find_ffmpeg(str(tmp_path / "nope"))
    assert not missing.found and missing.source == "RECORDKIT_FFMPEG"
    assert missing.missing() == f"ffmpeg not found: RECORDKIT_FFMPEG={tmp_path / 'nope'} is not an executable file"
    recorder = FfmpegRecorder(str(tmp_path / "nope"))
    assert not recorder.available()
    with pytest.raises(RecorderError) as caught:
        recorder.start_segment(MediaSpec(), tmp_path / "seg.mkv")
    assert str(caught.value) == missing.missing()  # the binary is named once, with the fix


def _record(recorder: FfmpegRecorder, spec: MediaSpec, path: Path, seconds: float) -> None:
    segment = recorder.start_segment(spec, path)
    time.sleep(seconds)  # -re: real time
    assert segment.running(), recorder.failure(segment)
    recorder.stop_segment(segment)


@pytest.mark.parametrize(("codec", "container"), [("H264", "mp4"), ("VP8", "webm")])
def test_record_join_and_probe_with_the_wheel_s_ffmpeg_alone(
    bare_path: Path, tmp_path: Path, codec: str, container: str
) -> None:
    recorder = FfmpegRecorder()
    assert recorder.binary.source == PACKAGE
    spec = MediaSpec(video_codec=codec, width=320, height=240, export_audio=True)
    first, second = tmp_path / "segment-0001.mkv", tmp_path / "segment-0002.mkv"
    _record(recorder, spec, first, 2.0)
    _record(recorder, spec, second, 1.0)
    parts = [recorder.probe(first).duration_s, recorder.probe(second).duration_s]
    assert all(part > 0 for part in parts), parts
    outputs = recorder.finalize(spec, [first, second], tmp_path / "out", "rec")
    video = outputs["video"]
    assert video.path.name == f"rec.{container}" and video.size == video.path.stat().st_size > 0
    assert abs(video.duration_s - sum(parts)) < 0.5, (video.duration_s, parts)
    assert outputs["audio"].duration_s > 0


def test_a_killed_segment_is_probed_from_its_packets(bare_path: Path, tmp_path: Path) -> None:
    recorder = FfmpegRecorder()
    path = tmp_path / "segment-0001.mkv"
    segment = recorder.start_segment(MediaSpec(width=320, height=240), path)
    while not path.exists() or path.stat().st_size < 50_000:  # a second or two of clusters on disk
        assert segment.running(), recorder.failure(segment)
        time.sleep(0.1)
    os.killpg(segment.process.pid, signal.SIGKILL)  # no trailer, no duration in the header
    segment.process.wait()
    header = subprocess.run([recorder.ffmpeg, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    assert "Duration: N/A" in header.stderr
    assert recorder.probe(path).duration_s > 0


def test_probing_what_is_not_media_is_a_recorder_error(bare_path: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a media file at all" * 100)
    with pytest.raises(RecorderError, match=r"cannot read junk\.mkv"):
        FfmpegRecorder().probe(junk)
