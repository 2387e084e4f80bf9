"""Media files: what ffprobe would say of one (read with PyAV), and whether it decodes cleanly."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import av

from recordkit.recorder.binaries import find_ffmpeg


def ffprobe(path: Path) -> dict[str, Any]:
    """What ffprobe's JSON would say of a file (streams and format), read with PyAV (no ffprobe needed)."""
    with av.open(str(path)) as container:
        info: dict[str, Any] = {
            "format": {
                "format_name": container.format.name,
                "duration": str(container.duration / av.time_base) if container.duration is not None else None,
            },
            "streams": [],
        }
        for stream in container.streams:
            entry: dict[str, Any] = {"codec_type": stream.type, "codec_name": stream.codec_context.codec.canonical_name}
            if stream.type == "video":
                entry.update(width=stream.codec_context.width, height=stream.codec_context.height)
            if stream.type == "audio":
                entry["channels"] = stream.codec_context.channels
            info["streams"].append(entry)
    return info


def streams(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in info.get("streams", []) if s.get("codec_type") == kind]


def decodes_cleanly(path: Path) -> str:
    """Decode the whole file with the recorder's own ffmpeg; returns its complaints ('' for a playable file)."""
    ffmpeg = find_ffmpeg().path
    assert ffmpeg is not None, find_ffmpeg().missing()
    done = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return f"exit {done.returncode}: {done.stderr.decode(errors='replace')}" if done.returncode else ""
