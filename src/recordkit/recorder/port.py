"""The recorder port: what produces media for a recording, segment by segment.

A recording is written as segments while it is live (RECORDING); pausing ends a segment, resuming
starts the next, so paused spans are not in the file. On stop the segments are joined into the
final files. The default backend (``FfmpegRecorder``) records a generated test card and tone; a
real media source (a meeting's composite, say) plugs in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Watermark:
    position: str = "left top"
    width: int = 160
    height: int = 90


@dataclass(frozen=True)
class MediaSpec:
    """What to produce, resolved from the recording's configuration."""

    kind: str = "composite"  # or "track"
    video_codec: str = "H264"  # or "VP8"
    width: int = 1280
    height: int = 720
    audio_codec: str = "AAC"  # or "MP3"; VP8 recordings carry Vorbis (as the upstream documents)
    channels: int = 2
    export_audio: bool = False
    export_video: bool = True
    watermark: Watermark | None = None
    tracks: tuple[str, ...] = field(default=())  # track recordings: one output per track name

    @property
    def container(self) -> str:
        return "webm" if self.video_codec == "VP8" else "mp4"

    @property
    def effective_audio_codec(self) -> str:
        return "VORBIS" if self.video_codec == "VP8" else self.audio_codec

    @property
    def audio_extension(self) -> str:
        return {"AAC": "m4a", "MP3": "mp3", "VORBIS": "ogg"}[self.effective_audio_codec]


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    size: int
    duration_s: float


class SegmentHandle(Protocol):
    def running(self) -> bool: ...


class RecorderError(Exception):
    """The recorder could not do what was asked; the message says why (it reaches the API)."""


class Recorder(Protocol):
    """One way of making media. The registry (``recorder/registry.py``) holds them by name."""

    def available(self) -> bool:
        """Whether recordings can be made now (``/readyz``, ``recordkit doctor``)."""
        ...

    def status(self) -> str:
        """What makes the recordings, or, when nothing can, what is missing and how to get it."""
        ...

    def start_segment(self, spec: MediaSpec, path: Path) -> SegmentHandle:
        """Begin writing one segment; raise ``RecorderError`` when the source cannot start."""
        ...

    def stop_segment(self, handle: SegmentHandle) -> None:
        """End a segment cleanly (the file stays readable); ``handle`` is one this recorder made."""
        ...

    def failure(self, handle: SegmentHandle) -> str:
        """Why a segment ended by itself (``handle`` stopped running without being asked)."""
        ...

    def finalize(self, spec: MediaSpec, segments: list[Path], out_dir: Path, base_name: str) -> dict[str, MediaInfo]:
        """Join segments into the final files: ``{"video": ..., "audio": ..., "track:<name>": ...}``."""
        ...
