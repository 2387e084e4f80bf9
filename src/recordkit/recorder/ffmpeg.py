"""``FfmpegRecorder``: a generated test card and tone, encoded live by ffmpeg.

The ffmpeg is the one ``recordkit.recorder.binaries`` finds (``RECORDKIT_FFMPEG``, the PATH, or the
static build the ``imageio-ffmpeg`` wheel ships); files are probed with that same ffmpeg, so no
ffprobe is needed.

Segments are Matroska files written at real-time rate (the realtime filters), which stay readable even when the
process is killed mid-write, so a crash loses at most the last quarter second. ``finalize`` joins them
with the concat demuxer (no re-encoding) into MP4 (H264) or WebM (VP8), plus the audio export and,
for track recordings, one Opus WebM per track.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from recordkit.recorder.binaries import Ffmpeg, find_ffmpeg
from recordkit.recorder.port import MediaInfo, MediaSpec, RecorderError, SegmentHandle

_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_OUT_TIME = re.compile(rb"out_time_us=(\d+)")
_TO_NOWHERE = ("-map", "0", "-c", "copy", "-f", "null", "-", "-nostats", "-progress", "pipe:1")

_POSITIONS = {
    "left top": ("10", "10"),
    "right top": ("iw-w-10", "10"),
    "left bottom": ("10", "ih-h-10"),
    "right bottom": ("iw-w-10", "ih-h-10"),
}


# Close a cluster every 250 ms and write it out at once: an encoder that dies without finishing its
# file (killed, or interrupted while finishing it) leaves all but the open cluster readable on disk
# (a killed 1.7 s segment: 1.44 s; with 1 s clusters, 1.0 s, and a short recording killed on a
# loaded machine kept nothing). Without these, ffmpeg keeps the first seconds (5 s clusters,
# 32 KiB buffer) in memory.
_DURABLE = ("-flush_packets", "1", "-cluster_time_limit", "250")
# ffmpeg 7 and later look at a SIGINT only between progress reports (every 0.5 s by default), and
# go on encoding meanwhile: a pause or a stop would keep up to half a second more. Report (to
# nowhere: -loglevel error) every 50 ms instead.
_PROMPT_STOP = ("-stats_period", "0.05")


def _die_with_parent() -> None:
    # If the server is killed (even -9), its encoders stop too: no orphan ffmpeg keeps writing.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


@dataclass
class FfmpegSegment:
    process: subprocess.Popen[bytes]
    path: Path

    def running(self) -> bool:
        return self.process.poll() is None


def _own(handle: SegmentHandle) -> FfmpegSegment:
    """The supervisor hands a segment back to the recorder that made it."""
    if not isinstance(handle, FfmpegSegment):
        raise TypeError(f"not an ffmpeg segment: {handle!r}")
    return handle


class FfmpegRecorder:
    def __init__(self, ffmpeg: str | Ffmpeg | None = None) -> None:
        self.binary = ffmpeg if isinstance(ffmpeg, Ffmpeg) else find_ffmpeg(ffmpeg)
        self.ffmpeg = self.binary.path or self.binary.wanted

    def available(self) -> bool:
        return self.binary.found

    def status(self) -> str:
        """What runs the recordings (or, when nothing can, what is missing and how to get it)."""
        return self.binary.describe()

    # -- segments ----------------------------------------------------------------------------

    def _segment_args(self, spec: MediaSpec, path: Path) -> list[str]:
        # Real time comes from the realtime / arealtime filters on every source, not from ``-re``:
        # ``-re`` paces one input only, and an ffmpeg of 7 or later (threaded inputs) lets the
        # unpaced one run ahead (a 1 s segment held 1.5-1.9 s of media with ffmpeg 9).
        args = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        if spec.kind == "track":
            for index, _ in enumerate(spec.tracks or ("track",)):
                args += ["-f", "lavfi", "-i", f"sine=frequency={330 + 110 * index}:sample_rate=48000,arealtime"]
            for index in range(len(spec.tracks or ("track",))):
                args += ["-map", f"{index}:a"]
            return [*args, "-c:a", "libopus", "-b:a", "48k", *_DURABLE, *_PROMPT_STOP, "-f", "matroska", str(path)]
        size = f"{spec.width}x{spec.height}"
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25,realtime"]
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:beep_factor=4,arealtime"]
        filters = []
        if spec.watermark is not None:
            x, y = _POSITIONS.get(spec.watermark.position, _POSITIONS["left top"])
            w, h = min(spec.watermark.width, spec.width), min(spec.watermark.height, spec.height)
            filters.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color=white@0.6:t=fill")
        vf = ["-vf", ",".join(filters)] if filters else []
        if spec.video_codec == "VP8":
            video = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-g", "50"]
            audio = ["-c:a", "libvorbis", "-q:a", "3"]
        else:
            video = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"]
            video += ["-g", "50"]
            audio = ["-c:a", "aac" if spec.audio_codec == "AAC" else "libmp3lame", "-b:a", "128k"]
        channels = ["-ac", str(spec.channels)]
        return [*args, *vf, *video, *audio, *channels, *_DURABLE, *_PROMPT_STOP, "-f", "matroska", str(path)]

    def start_segment(self, spec: MediaSpec, path: Path) -> FfmpegSegment:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.binary.found:
            raise RecorderError(self.binary.missing())
        try:
            process = subprocess.Popen(
                self._segment_args(spec, path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            raise RecorderError(f"{self.ffmpeg} could not start: {exc.strerror or exc}") from None
        return FfmpegSegment(process=process, path=path)

    def stop_segment(self, handle: SegmentHandle) -> None:
        process = _own(handle).process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # ffmpeg finishes the file on SIGINT
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def failure(self, handle: SegmentHandle) -> str:
        """Why a segment ended by itself (the encoder's last words)."""
        process = _own(handle).process
        if process.stderr is None or process.stderr.closed:
            return f"recorder exited with status {process.returncode}"
        tail = process.stderr.read()[-300:].decode("utf-8", "replace").strip()
        return f"recorder exited with status {process.returncode}: {tail}" if tail else "recorder exited"

    # -- finishing ---------------------------------------------------------------------------

    def finalize(self, spec: MediaSpec, segments: list[Path], out_dir: Path, base_name: str) -> dict[str, MediaInfo]:
        usable = [s for s in segments if s.exists() and s.stat().st_size > 0 and self._duration(s) > 0]
        if not usable:
            raise RecorderError("nothing was recorded")
        out_dir.mkdir(parents=True, exist_ok=True)
        listing = out_dir / "segments.txt"
        listing.write_text("".join(f"file '{s.resolve()}'\n" for s in usable), encoding="utf-8")
        concat = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0"]
        concat += ["-i", str(listing)]
        outputs: dict[str, MediaInfo] = {}
        if spec.kind == "track":
            for index, name in enumerate(spec.tracks or ("track",)):
                target = out_dir / f"{name}.webm"
                self._run([*concat, "-map", f"0:a:{index}", "-c", "copy", "-f", "webm", str(target)])
                outputs[f"track:{name}"] = self.probe(target)
            return outputs
        if spec.export_video:
            target = out_dir / f"{base_name}.{spec.container}"
            fmt = "webm" if spec.container == "webm" else "mp4"
            extra = ["-movflags", "+faststart"] if fmt == "mp4" else []
            self._run([*concat, "-map", "0", "-c", "copy", *extra, "-f", fmt, str(target)])
            outputs["video"] = self.probe(target)
        if spec.export_audio or not spec.export_video:
            target = out_dir / f"{base_name}_audio.{spec.audio_extension}"
            fmt = {"m4a": "ipod", "mp3": "mp3", "ogg": "ogg"}[spec.audio_extension]
            self._run([*concat, "-map", "0:a", "-c", "copy", "-f", fmt, str(target)])
            outputs["audio"] = self.probe(target)
        return outputs

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(args, capture_output=True, timeout=600, check=False)
        if result.returncode != 0:
            raise RecorderError(f"joining segments failed: {result.stderr[-300:].decode('utf-8', 'replace')}")

    def _duration(self, path: Path) -> float:
        try:
            return self.probe(path).duration_s
        except RecorderError:
            return 0.0

    def probe(self, path: Path) -> MediaInfo:
        """Size and duration of a media file, read by ffmpeg itself (its header, else its packets)."""
        if not self.binary.found:
            raise RecorderError(self.binary.missing())
        result = subprocess.run(
            [self.ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],  # no output: prints the header, exits 1
            capture_output=True,
            timeout=60,
            check=False,
        )
        match = _DURATION.search(result.stderr)
        if match is not None:
            hours, minutes, seconds = match.groups()
            duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        else:
            # A segment whose encoder died has no duration in its header: read it off its packets.
            duration = self._last_timestamp(path)
        if duration <= 0:
            raise RecorderError(f"cannot read {path.name}")
        return MediaInfo(path=path, size=path.stat().st_size, duration_s=duration)

    def _last_timestamp(self, path: Path) -> float:
        """Copy every packet to nowhere; ffmpeg's progress report ends at the last timestamp."""
        result = subprocess.run(
            [self.ffmpeg, "-hide_banner", "-nostdin", "-v", "quiet", "-i", str(path), *_TO_NOWHERE],
            capture_output=True,
            timeout=600,
            check=False,
        )
        times = [int(m) for m in _OUT_TIME.findall(result.stdout)]
        return max(times, default=0) / 1_000_000
