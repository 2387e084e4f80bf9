"""Object keys: built from ids and user-given names, never escaping their folder."""

from __future__ import annotations

import re

from recordkit.domain.ids import check_prefix
from recordkit.errors import InvalidRequest

__all__ = ["check_name", "check_prefix", "object_key", "split_key"]

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


def check_name(name: str) -> str:
    """A single path segment of our own making: no separators, no dot-dot, no leading dot."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise InvalidRequest(f"file name {name[:60]!r} is not allowed")
    return name


def object_key(*segments: str) -> str:
    return "/".join(check_name(s) for s in segments)


def split_key(key: str) -> list[str]:
    parts = key.split("/")
    for part in parts:
        check_name(part)
    return parts
