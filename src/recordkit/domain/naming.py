"""Object names at a destination: ``path`` + ``file_name_prefix`` + file name, never escaping ``path``.

``storage_config.path`` is the user's folder: ``"a/b"``, ``"a/b/"``, ``"/a/b"`` and ``"a//b"`` all
mean the folder ``a/b`` in a bucket. On an SFTP server a leading ``/`` is kept (an absolute
directory) and a relative path is relative to the login directory. The folder may not contain
``.`` or ``..`` segments, backslashes, NUL or other control characters, so nothing built on it can
leave it.

The file name comes from RecordKit (``Recording.output_file_name`` or a track's file name): one or
more ``/``-separated segments of letters, digits, ``.``, ``_`` and ``-``. ``file_name_prefix``
(letters, digits, ``_``, ``-``) is put in front of the last segment with an ``_``, as
``recordings.output_name`` does: prefix ``"acme"`` and name ``"x.mp4"`` give ``"acme_x.mp4"``. A
name that already carries its prefix (an ``output_file_name``) must be given without ``prefix``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

from recordkit.domain.ids import check_prefix
from recordkit.domain.keys import check_name
from recordkit.errors import InvalidRequest

MAX_PATH: Final = 512  # characters of storage_config.path
MAX_SEGMENT: Final = 255  # bytes of one folder name (most file systems' limit)
MAX_KEY: Final = 1024  # bytes of a whole object key (S3's and GCS's limit)


@dataclass(frozen=True)
class RemotePath:
    """A checked ``storage_config.path``: its folders, and whether it began with ``/``."""

    absolute: bool
    folders: tuple[str, ...]


@dataclass(frozen=True)
class ObjectName:
    absolute: bool  # the configured path began with "/" (meaningful on SFTP only)
    folders: tuple[str, ...]  # the path's folders, then the file name's own folders
    leaf: str  # the prefixed file name

    @property
    def key(self) -> str:
        """The object key in a bucket: folders and leaf joined by ``/``, no leading ``/``."""
        return "/".join((*self.folders, self.leaf))

    @property
    def remote_path(self) -> str:
        """The path on an SFTP server: ``key`` with the configured path's leading ``/`` kept."""
        return ("/" if self.absolute else "") + self.key


def _bad_char(ch: str) -> bool:
    return ch in "\\\x00" or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def parse_path(path: str | None, field: str = "storage_config.path") -> RemotePath:
    """Check and split ``storage_config.path``; ``None`` or ``""`` is the bucket's (or login's) root."""
    if path is None:
        return RemotePath(False, ())
    if not isinstance(path, str):
        raise InvalidRequest(f"{field}: must be a string")
    if len(path) > MAX_PATH:
        raise InvalidRequest(f"{field}: must be at most {MAX_PATH} characters")
    if any(_bad_char(ch) for ch in path):
        raise InvalidRequest(f"{field}: must not contain backslashes, NUL or control characters")
    folders = tuple(s for s in path.split("/") if s)
    for segment in folders:
        if segment in (".", ".."):
            raise InvalidRequest(f"{field}: must not contain '.' or '..' segments")
        if len(segment.encode()) > MAX_SEGMENT:
            raise InvalidRequest(f"{field}: each folder name must be at most {MAX_SEGMENT} bytes")
    return RemotePath(path.startswith("/"), folders)


def build_name(
    path: str | None,
    prefix: str | None,
    name: str,
    *,
    path_field: str = "storage_config.path",
    prefix_field: str = "file_name_prefix",
) -> ObjectName:
    """The object name for file ``name`` under ``path`` with ``prefix``; InvalidRequest naming the field."""
    where = parse_path(path, path_field)
    if prefix is not None:
        if not isinstance(prefix, str):
            raise InvalidRequest(f"{prefix_field}: must be a string")
        check_prefix(prefix, prefix_field)
    if not isinstance(name, str) or not name:
        raise InvalidRequest("file name: must not be empty")
    segments = name.split("/")
    for segment in segments:
        check_name(segment)
    leaf = f"{prefix}_{segments[-1]}" if prefix else segments[-1]
    result = ObjectName(where.absolute, (*where.folders, *segments[:-1]), leaf)
    if len(result.key.encode()) > MAX_KEY:
        raise InvalidRequest(f"{path_field}: too long: the object name would exceed {MAX_KEY} bytes")
    return result


def object_name(path: str | None, prefix: str | None, name: str) -> str:
    """The bucket key for ``name`` (see ``build_name``)."""
    return build_name(path, prefix, name).key


def key_under(path: RemotePath, key: str, *, keep_root: bool = False) -> bool:
    """Whether ``key`` lies under the configured folder ``path`` (``delete`` refuses others).

    A bucket key has no leading ``/``; with ``keep_root`` (SFTP) it has one exactly when ``path`` has."""
    if not isinstance(key, str) or not key or any(_bad_char(ch) for ch in key):
        return False
    if key.startswith("/") != (keep_root and path.absolute):
        return False
    parts = key.removeprefix("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        return False
    return len(parts) > len(path.folders) and tuple(parts[: len(path.folders)]) == path.folders
