"""The import passes both stores share, and the port the importer writes through.

Pass one converts each line once into a staging file (``staging.Staging``, rows as the row codec
makes them); pass two moves the staged rows into the store in batches, each a run of
``invoked_time`` (so the time-ordered indexes grow at their ends), with the batch's counters from
one grouped walk of the staging index. Each store moves a batch in its own SQL.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from recordkit.domain.counting import HOUR_MS, add_grouped
from recordkit.domain.models import RECORDING_STATUSES, Meeting, Recording
from recordkit.domain.timefmt import MAX_MS
from recordkit.errors import InvalidRequest
from recordkit.store.common import staging

# The hour bucket of a column in SQL (floor division, also for times before 1970).
HOUR_SQL = f"({{c}} - ({{c}} < 0) * {HOUR_MS - 1}) / {HOUR_MS}"

Progress = Callable[[int], None]
C = TypeVar("C")


class ImportTarget(Protocol):
    """What ``recordkit.importer`` needs of a store: its row codec, the id check, pass two."""

    def app_seq(self, app_id: str) -> int: ...

    def meeting_row(self, m: Meeting) -> tuple[Any, ...]: ...

    def recording_row(self, r: Recording, updated: int, app: int, wire: bytes | None = None) -> tuple[Any, ...]: ...

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]: ...

    def import_staged(
        self,
        app_id: str,
        parts: Sequence[Path],
        batch: int = 100_000,
        progress: Progress | None = None,
        disjoint: bool = False,
        *,
        now: int,
    ) -> int:
        """Pass two: move staged rows in, a batch per transaction; returns rows written."""
        ...

    def reset_connections(self) -> None: ...


def batch_windows(invoked: Iterable[tuple[int]], batch: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` runs of invoked time of about ``batch`` rows each, from the staged invoked times
    in ascending order (rows of one instant stay in one run)."""
    edges: list[int] = []
    for index, (value,) in enumerate(invoked):
        if index % batch == 0 and (not edges or value > edges[-1]):
            edges.append(value)
    ends = [*edges[1:], MAX_MS + 1] if edges else []  # no edges: nothing was staged
    return list(zip(edges, ends, strict=True))


def staged_counts(conn: sqlite3.Connection, table: str, window: tuple[int, int]) -> tuple[int, Counter[Any]]:
    """A batch's rows and counters, from one grouped walk of the staging index of ``table`` (the
    staging file's ``rec``, attached or not): (status, invoked hour, expiry hour)."""
    added: Counter[Any] = Counter()
    rows = 0
    for status, ih, eh, n in conn.execute(
        f"SELECT status, {HOUR_SQL.format(c='invoked_ms')}, {HOUR_SQL.format(c='expiry_ms')}, "
        f"COUNT(*) FROM {table} INDEXED BY {staging.BY_TIME} WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 "
        "GROUP BY 1, 2, 3",
        window,
    ):
        rows += n
        add_grouped(added, status, ih, eh, n)
    return rows, added


class ImportPasses(Generic[C]):
    """Both passes on top of a store's row codec; mixed into each store, which moves one staging
    file in (``_import_part``) on the connection its ``_bulk`` gives (``C``)."""

    app_seq: Callable[[str], int]
    meeting_row: Callable[[Meeting], tuple[Any, ...]]
    recording_row: Callable[..., tuple[Any, ...]]
    conflicting_ids: Callable[[str, Sequence[str], Sequence[str]], set[str]]
    _sum: Callable[..., int]

    def _bulk(self) -> AbstractContextManager[C]:
        """The connection an import's pass two runs on, set up for bulk writes while it lasts."""
        raise NotImplementedError

    def _import_part(
        self, conn: C, app: int, part: Path, batch: int, progress: Progress | None, before: int, prior: int, now: int
    ) -> int:
        """One staging file's rows. ``before``: the app's rows before the import (or this part);
        ``prior``: rows this import wrote before this part that are counted in the app's total."""
        raise NotImplementedError

    def import_staged(
        self,
        app_id: str,
        parts: Sequence[Path],
        batch: int = 100_000,
        progress: Progress | None = None,
        disjoint: bool = False,
        *,
        now: int,
    ) -> int:
        """Move an import's staged rows (``staging`` files, in file order) in, a batch per
        transaction; a later part's row of an id wins over an earlier part's.

        Per part: meetings first (all of them, changed ones only, so the title index is not churned),
        then recordings in ``invoked_time`` order; counters follow in the same transaction as the
        rows. ``disjoint``: no recording id is in two parts (then into an empty app, no batch
        replaces a row unless someone else wrote). ``now``: rows whose expiry is behind its lapse
        cut are flagged lapsed.
        """
        app = self.app_seq(app_id)
        with self._bulk() as conn:
            written = 0
            before = self._sum(conn, app, "T", RECORDING_STATUSES, None)
            for part in parts:
                if not disjoint:
                    before = self._sum(conn, app, "T", RECORDING_STATUSES, None)
                written += self._import_part(conn, app, part, batch, progress, before, written if disjoint else 0, now)
            return written

    def import_recordings(self, app_id: str, items: Iterable[tuple[Recording, Meeting]], *, now: int) -> int:
        """Insert or update recordings and their meetings; the last of an id wins. Returns rows written."""
        app = self.app_seq(app_id)
        recordings: dict[str, tuple[Any, ...]] = {}
        meetings: dict[str, tuple[Any, ...]] = {}
        for rec, meeting in items:
            recordings.pop(rec.id, None)
            recordings[rec.id] = self.recording_row(rec, now, app)
            meetings[meeting.id] = self.meeting_row(meeting)
        if not recordings:
            return 0
        clash = self.conflicting_ids(app_id, list(recordings), list(meetings))
        if clash:
            raise InvalidRequest(f"id {sorted(clash)[0]} belongs to another app")
        with tempfile.TemporaryDirectory(prefix="recordkit-import-") as scratch:
            stage = staging.Staging(Path(scratch) / "staging.sqlite3")
            try:
                stage.add(list(recordings.values()), list(meetings.values()))
            finally:
                stage.finish()
            return self.import_staged(app_id, [stage.path], now=now)
