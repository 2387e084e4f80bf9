"""``SqliteImporting``: pass two of an import into the SQLite store (``recordkit.store.common.importing``).

A staging file is attached to the store's connection, so a batch moves in with one
``INSERT ... SELECT ... ON CONFLICT`` inside the store's write transaction. The WAL is copied into
the database once, at the end.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from recordkit.domain.counting import counter_keys, lapse_cut
from recordkit.domain.models import RECORDING_STATUSES
from recordkit.store.common import staging
from recordkit.store.common.importing import ImportPasses, Progress, batch_windows, staged_counts
from recordkit.store.sqlite.connection import ConnectionPool

_RECORDING_UPDATE = ", ".join(
    f"{c}=excluded.{c}"
    for c in ("meeting_id", "status", "invoked_ms", "expiry_ms", "wire", "detail", "secrets", "updated_ms", "lapsed")
)
_MEETING_UPDATE = ", ".join(
    f"{c}=excluded.{c}" for c in (x.strip() for x in staging.MEETING_COLUMNS.split(",")) if c not in ("id", "app_id")
)
_CHUNK = 500


class SqliteImporting(ImportPasses[sqlite3.Connection]):
    """Mixed into ``SqliteRecordingStore``."""

    pool: ConnectionPool
    _app_seqs: dict[str, int]
    _apply_deltas: Callable[..., None]

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]:
        """Ids among these that already belong to another app (an import must not move them)."""
        return self._conflicts_in(self.pool.get(), app_id, list(recording_ids), list(meeting_ids))

    @contextmanager
    def _bulk(self) -> Iterator[sqlite3.Connection]:
        conn = self.pool.get()
        # Batches touch the same index pages again and again: copy them into the database file once,
        # at the end, rather than after every batch (the WAL grows meanwhile; readers are unaffected).
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA cache_size=-1048576")
        try:
            yield conn
        finally:
            conn.execute("PRAGMA wal_autocheckpoint=1000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _import_part(
        self,
        conn: sqlite3.Connection,
        app: int,
        part: Path,
        batch: int,
        progress: Progress | None,
        before: int,
        prior: int,
        now: int,
    ) -> int:
        """One staging file, attached to the store's connection, moved in batch by batch."""
        conn.execute("ATTACH DATABASE ? AS staging", (str(part),))
        try:
            meeting_columns, recording_columns = staging.MEETING_COLUMNS, staging.RECORDING_COLUMNS
            by_time = f"INDEXED BY {staging.BY_TIME}"
            with self.pool.write():
                conn.execute(
                    f"INSERT INTO meetings ({meeting_columns}) SELECT {meeting_columns} FROM staging.meet "
                    "WHERE rowid IN (SELECT MAX(rowid) FROM staging.meet GROUP BY id) "
                    "ON CONFLICT(id) DO UPDATE SET " + _MEETING_UPDATE + " WHERE meetings.wire IS NOT excluded.wire"
                )
            # Batches are runs of invoked_time across the whole part, so the time-ordered indexes grow at
            # their ends instead of being touched everywhere by every batch.
            walk = conn.execute(f"SELECT invoked_ms FROM staging.rec {by_time} ORDER BY invoked_ms")
            windows = batch_windows(walk, batch)
            written = 0
            cut = lapse_cut(now)
            for window in windows:
                with self.pool.write():
                    deltas: Counter[tuple[str, str, int]] = Counter()
                    # Rows replaced by this batch leave their counters. When the app holds nothing but
                    # this import's earlier batches (checked inside this transaction), none can be.
                    if before or self._sum(conn, app, "T", RECORDING_STATUSES, None) != prior + written:
                        for status, invoked, expiry in conn.execute(
                            f"SELECT r.status, r.invoked_ms, r.expiry_ms FROM staging.rec s {by_time} "
                            "JOIN recordings r ON s.id = r.id "
                            "WHERE s.invoked_ms >= ? AND s.invoked_ms < ? AND s.dup = 0",
                            window,
                        ):
                            for key in counter_keys(status, invoked, expiry):
                                deltas[key] -= 1
                    # The batch's own counters from one grouped walk of the staging index.
                    rows, added = staged_counts(conn, "staging.rec", window)
                    deltas.update(added)
                    cur = conn.execute(
                        f"INSERT INTO recordings ({recording_columns}, lapsed) SELECT {recording_columns}, "
                        f"expiry_ms IS NOT NULL AND expiry_ms < ? FROM staging.rec {by_time} "
                        "WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 ORDER BY invoked_ms "
                        "ON CONFLICT(id) DO UPDATE SET " + _RECORDING_UPDATE,
                        (cut, *window),
                    )
                    written += cur.rowcount
                    self._apply_deltas(conn, app, deltas)
                    # New unmanaged rows fire no version trigger (one bump per batch, not per row).
                    conn.execute("UPDATE apps SET version = version + 1 WHERE seq = ?", (app,))
                if progress is not None:
                    progress(rows)
            return written
        finally:
            conn.execute("DETACH DATABASE staging")

    def _conflicts_in(
        self, conn: sqlite3.Connection, app_id: str, recording_ids: list[str], meeting_ids: list[str]
    ) -> set[str]:
        found: set[str] = set()
        app = self._app_seqs.get(app_id) or self.app_seq(app_id)
        for table, column, owner, ids in (
            ("recordings", "app", app, recording_ids),
            ("meetings", "app_id", app_id, meeting_ids),
        ):
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT id FROM {table} WHERE id IN ({marks}) AND {column} != ?", [*chunk, owner]
                    )
                )
        return found
