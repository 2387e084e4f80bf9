"""Which ffmpeg the recorder runs: one answer, found once, named in every error.

In order:

1. ``RECORDKIT_FFMPEG`` (``Settings.ffmpeg``) when it is set to anything but the bare name
   ``ffmpeg``: that path (or name on PATH) and nothing else, so an operator's choice is never
   silently replaced;
2. ``ffmpeg`` on the PATH (Debian's package, Homebrew's, a container's);
3. the static ffmpeg that the ``imageio-ffmpeg`` wheel ships (a dependency of the default install),
   so a machine with Python and pip alone records.

Finding (2) and (3) costs a PATH walk and a directory listing: ``imageio_ffmpeg`` itself is not
imported (that takes ~40 ms, which would count against the server's cold start); its documented
``get_ffmpeg_exe`` is the fallback when the wheel's layout is not the one expected.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

DEFAULT = "ffmpeg"
PACKAGE = "imageio-ffmpeg"


@dataclass(frozen=True)
class Ffmpeg:
    """A resolved ffmpeg: ``path`` is None when none was found; ``source`` says where it came from."""

    path: str | None
    source: str  # "RECORDKIT_FFMPEG", "PATH", "imageio-ffmpeg" or "missing"
    wanted: str  # what was asked for (the setting's value)

    @property
    def found(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        if self.path is None:
            return self.missing()
        return f"{self.path} (from {self.source})"

    def missing(self) -> str:
        if self.wanted != DEFAULT:
            return f"ffmpeg not found: RECORDKIT_FFMPEG={self.wanted} is not an executable file"
        return f"ffmpeg not found: not on PATH, and the {PACKAGE} package is not installed (pip install {PACKAGE})"


def _executable(candidate: str) -> str | None:
    if os.sep in candidate:
        return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None
    return shutil.which(candidate)


def _bundled() -> str | None:
    spec = importlib.util.find_spec("imageio_ffmpeg")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "binaries"
    with_version = sorted(folder.glob("ffmpeg-*")) if folder.is_dir() else []
    for path in with_version:
        if os.access(path, os.X_OK) and not path.name.endswith((".txt", ".md")):
            return str(path)
    try:  # not the layout we know: ask the package (slower, but documented)
        from imageio_ffmpeg import get_ffmpeg_exe

        found = get_ffmpeg_exe()
    except Exception:
        return None
    return found if _executable(found) else None


def find_ffmpeg(wanted: str | None = DEFAULT) -> Ffmpeg:
    wanted = wanted or DEFAULT
    if wanted != DEFAULT:
        return Ffmpeg(_executable(wanted), "RECORDKIT_FFMPEG", wanted)
    on_path = shutil.which(DEFAULT)
    if on_path is not None:
        return Ffmpeg(on_path, "PATH", wanted)
    bundled = _bundled()
    if bundled is not None:
        return Ffmpeg(bundled, PACKAGE, wanted)
    return Ffmpeg(None, "missing", wanted)
