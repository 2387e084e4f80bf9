"""The recorders by name, and which one makes a given recording.

A recording's effective config may name its recorder (``config["recorder"]``); without a name it
gets the default. Today there is one recorder, the ffmpeg test card (``"testcard"``). Another one
(a browser recorder, a fake for a test mode) plugs in with one entry in ``BUILDERS``: nothing
outside this module changes (the composition root, ``recordkit.runtime``, builds them all;
``/readyz`` and ``recordkit doctor`` report each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from recordkit.domain.models import Recording
from recordkit.recorder.port import Recorder, RecorderError
from recordkit.settings import Settings

DEFAULT = "testcard"


def _testcard(settings: Settings) -> Recorder:
    from recordkit.recorder.ffmpeg import FfmpegRecorder

    return FfmpegRecorder(settings.ffmpeg)


# name -> how to build it from the settings; the first one listed here is not special: DEFAULT is.
BUILDERS: Mapping[str, Callable[[Settings], Recorder]] = {"testcard": _testcard}


class UnknownRecorder(RecorderError):
    """A recording names a recorder this process does not have (the recording ends ERRORED)."""


class RecorderRegistry:
    """name -> ``Recorder``, with a default for the recordings that name none."""

    def __init__(self, recorders: Mapping[str, Recorder], default: str = DEFAULT) -> None:
        if default not in recorders:
            raise ValueError(f"the default recorder {default!r} is not among {sorted(recorders)}")
        self._recorders = dict(recorders)
        self.default = default

    @classmethod
    def from_settings(cls, settings: Settings) -> RecorderRegistry:
        return cls({name: build(settings) for name, build in BUILDERS.items()})

    def names(self) -> tuple[str, ...]:
        """The default first, then the others in the order they were registered."""
        return (self.default, *(name for name in self._recorders if name != self.default))

    def __iter__(self) -> Iterator[tuple[str, Recorder]]:
        return iter([(name, self._recorders[name]) for name in self.names()])

    def get(self, name: str) -> Recorder:
        try:
            return self._recorders[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownRecorder(f"no recorder named {name!r} (this server has: {known})") from None

    @staticmethod
    def name_of(rec: Recording, default: str = DEFAULT) -> str:
        named = (rec.config or {}).get("recorder")
        return named if isinstance(named, str) and named else default

    def for_recording(self, rec: Recording) -> Recorder:
        """The recorder ``rec`` names, else the default; ``UnknownRecorder`` for a name not registered."""
        return self.get(self.name_of(rec, self.default))

    @property
    def main(self) -> Recorder:
        """The default recorder."""
        return self._recorders[self.default]
