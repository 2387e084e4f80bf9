"""``LocalBlobStore``: the RecordKit bucket as a folder under the data dir."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from recordkit.domain.keys import split_key
from recordkit.errors import NotFound


class LocalBlobStore:
    """Objects are files under ``root``; keys are checked segment by segment (no traversal)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        path = self.root.joinpath(*split_key(key))
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise NotFound("no such object")
        return path

    def put_file(self, key: str, source: Path) -> int:
        """Copy a file in atomically (temp name, fsync, rename); returns its size."""
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        shutil.copyfile(source, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(target)
        return target.stat().st_size

    def delete(self, key: str) -> bool:
        path = self.path_of(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # drop the recording's folder once empty
        return True
