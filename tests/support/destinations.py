"""Shared bits of the destination tests: random files, unique names, and the checks of a failure."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from recordkit.destinations import DestinationError


def random_file(folder: Path, size: int, name: str | None = None) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = folder / (name or f"{uuid.uuid4().hex}.bin")
    path.write_bytes(data)
    return path, data


def unique(prefix: str) -> str:
    """A fresh bucket / container / folder name (lowercase, 3-63 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_secret_free(error: DestinationError, *secrets: str) -> None:
    shown = f"{error}\n{error!r}\n{error.message}"
    for secret in secrets:
        assert secret not in shown
        for line in secret.splitlines():
            if len(line.strip()) >= 8:
                assert line.strip() not in shown


def check_failure(error: DestinationError, *, transient: bool, secrets: tuple[str, ...] = ()) -> None:
    assert error.transient is transient, error
    assert_secret_free(error, *secrets)
