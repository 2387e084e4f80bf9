"""Readiness: can this process do its work right now? (``GET /readyz``; liveness is ``/livez``.)

Five checks, each cheap enough for a probe every few seconds:

- ``database``: the store answers a trivial query on a fresh connection (SQLite: the file opened
  again, read-write, so a removed or replaced file is noticed although open connections hold on).
- ``migrations``: the schema is at least at this build's last migration (a newer schema, during a
  rolling upgrade, is reported but ready: migrations only add).
- ``bucket``: the local bucket folder takes a file (written and removed), or the S3 bucket answers
  a HEAD with the configured credentials (remembered for ``remote_cache_seconds``).
- ``recorder``: the default recorder can run (the test card: an ffmpeg was found, RECORDKIT_FFMPEG,
  the PATH, or the ``imageio-ffmpeg`` wheel); when it cannot, the detail names what is missing and
  how to get it. Each other registered recorder (``recorder/registry.py``) adds a check
  ``recorder <name>`` of its own.
- ``data_dir``: the data dir takes a file and has at least ``MIN_FREE_BYTES`` free (recordings are
  written there while they are live, whatever the bucket).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recordkit.blobs.bucket import LocalBucket, S3Bucket
from recordkit.domain.opsview import OpsQueries
from recordkit.errors import RecordKitError

if TYPE_CHECKING:
    from recordkit.blobs.bucket import Bucket
    from recordkit.recorder.registry import RecorderRegistry

REMOTE_CACHE_SECONDS = 10.0
MIN_FREE_BYTES = 256 * 1024 * 1024  # below this the data dir counts as full: a live recording needs room


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)


def _mib(count: int) -> str:
    return f"{count / 1048576:,.0f} MiB"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecordKitError):
        return exc.message
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Readiness:
    def __init__(
        self,
        queries: OpsQueries | None,
        bucket: Bucket | None,
        *,
        recorders: RecorderRegistry | None = None,
        data_dir: Path | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
        remote_cache_seconds: float = REMOTE_CACHE_SECONDS,
    ) -> None:
        self.queries = queries
        self.bucket = bucket
        self.recorders = recorders
        self.data_dir = data_dir
        self.min_free_bytes = min_free_bytes
        self.remote_cache_seconds = remote_cache_seconds
        self._lock = threading.Lock()
        self._remote: tuple[float, Check] | None = None

    def check(self) -> Report:
        return Report((*self._store(), self._bucket(), *self._recorders(), self._data_dir()))

    def _recorders(self) -> tuple[Check, ...]:
        if self.recorders is None:
            return (Check("recorder", True, "not checked"),)
        return tuple(
            Check("recorder" if name == self.recorders.default else f"recorder {name}", rec.available(), rec.status())
            for name, rec in self.recorders
        )

    def _data_dir(self) -> Check:
        if self.data_dir is None:
            return Check("data_dir", True, "not checked")
        return data_dir_check(self.data_dir, self.min_free_bytes)

    def _store(self) -> tuple[Check, Check]:
        if self.queries is None:
            return Check("database", True, "not checked"), Check("migrations", True, "not checked")
        try:
            state = self.queries.check()
        except Exception as exc:
            return Check("database", False, _reason(exc)), Check("migrations", False, "unknown (no database)")
        database = Check("database", True, self.queries.kind)
        if state.behind:
            return database, Check(
                "migrations",
                False,
                f"schema version {state.current}, this build needs {state.expected} (run `recordkit migrate`)",
            )
        if state.current > state.expected:
            return database, Check("migrations", True, f"schema {state.current} is newer than this build's")
        return database, Check("migrations", True, f"schema {state.current}")

    def _bucket(self) -> Check:
        bucket = self.bucket
        if isinstance(bucket, LocalBucket):
            return self._local(bucket)
        if isinstance(bucket, S3Bucket):
            with self._lock:
                if self._remote is not None and time.monotonic() - self._remote[0] < self.remote_cache_seconds:
                    return self._remote[1]
            try:
                bucket.store.check_bucket()
                result = Check("bucket", True, bucket.describe())
            except Exception as exc:
                result = Check("bucket", False, _reason(exc))
            with self._lock:
                self._remote = (time.monotonic(), result)
            return result
        return Check("bucket", True, "not checked")

    @staticmethod
    def _local(bucket: LocalBucket) -> Check:
        failure = unwritable(bucket.store.root)
        return Check("bucket", failure is None, failure or "local")


def unwritable(folder: Path) -> str | None:
    """Why ``folder`` does not take a file (one is written and removed), or None when it does."""
    probe = folder / f".readyz-{os.getpid()}-{threading.get_ident()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        return f"cannot write to {folder}: {exc.strerror or exc}"
    return None


def data_dir_check(folder: Path, min_free_bytes: int = MIN_FREE_BYTES) -> Check:
    """The data dir takes a file and has at least ``min_free_bytes`` free (/readyz, recordkit doctor)."""
    failure = unwritable(folder)
    if failure is not None:
        return Check("data_dir", False, failure)
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return Check("data_dir", False, f"cannot read the free space of {folder}: {exc.strerror or exc}")
    if free < min_free_bytes:
        needed = _mib(min_free_bytes)
        return Check("data_dir", False, f"{folder} is nearly full: {_mib(free)} free, at least {needed} needed")
    return Check("data_dir", True, f"{_mib(free)} free")
