"""``PgImporting``: pass two of an import into the PostgreSQL store (``recordkit.store.common.importing``).

The staging file is read with SQLite; each batch is COPYed into a temporary table and moved with
``INSERT ... ON CONFLICT (id) DO UPDATE``, under the app's import lock (an advisory lock), so two
imports into one app never interleave their batches.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from recordkit.domain.counting import counter_keys, lapse_cut
from recordkit.domain.models import RECORDING_STATUSES
from recordkit.store.common import staging
from recordkit.store.common.importing import ImportPasses, Progress, batch_windows, staged_counts
from recordkit.store.postgres.connection import PgPool
from recordkit.store.postgres.meetings import PG_MEETING_COLUMNS, PG_MEETING_TYPES, PG_MEETING_UPDATE, pg_meeting

Conn = psycopg.Connection[Any]

_RECORDING_COLUMNS = staging.RECORDING_COLUMNS
_RECORDING_TYPES = ["text", "int8", "text", "text", "int8", "int8", "bytea", "bytea", "bytea", "int8"]
_RECORDING_UPDATE = ", ".join(
    f"{c} = EXCLUDED.{c}"
    for c in ("meeting_id", "status", "invoked_ms", "expiry_ms", "wire", "detail", "secrets", "updated_ms", "lapsed")
)
_CHUNK = 10_000


class PgImporting(ImportPasses[None]):
    """Mixed into ``PostgresRecordingStore``."""

    pool: PgPool
    _apply_deltas: Callable[..., None]

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]:
        """Ids among these that already belong to another app (an import must not move them)."""
        app = self.app_seq(app_id)
        found: set[str] = set()
        with self.pool.connection() as conn:
            for sql, owner, ids in (
                ("SELECT id FROM recordings WHERE id = ANY(%s::text[]) AND app <> %s", app, list(recording_ids)),
                ("SELECT id FROM meetings WHERE id = ANY(%s::text[]) AND app_id <> %s", app_id, list(meeting_ids)),
            ):
                for i in range(0, len(ids), _CHUNK):
                    found.update(r[0] for r in conn.execute(sql, (ids[i : i + _CHUNK], owner)))
        return found

    @contextmanager
    def _bulk(self) -> Iterator[None]:
        yield None  # each batch takes a connection of the pool for its transaction

    def _import_part(
        self,
        conn: None,
        app: int,
        part: Path,
        batch: int,
        progress: Progress | None,
        before: int,
        prior: int,
        now: int,
    ) -> int:
        """Move one staging file's rows in, a batch per transaction. ``before``: the app's rows before
        the import (or this part); ``prior``: rows this import wrote before this part.

        Meetings first (changed ones only), then recordings in runs of ``invoked_time``; counters
        follow in the same transaction as the rows.
        """
        lock = f"recordkit-import:{app}"
        cut = lapse_cut(now)
        src = sqlite3.connect(part, isolation_level=None)
        try:
            meeting_columns = staging.MEETING_COLUMNS

            def load_meetings(conn: Conn) -> None:
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                self._copy_meetings(
                    conn,
                    src.execute(
                        f"SELECT {meeting_columns} FROM meet "
                        "WHERE rowid IN (SELECT MAX(rowid) FROM meet GROUP BY id) ORDER BY id"
                    ),
                )

            self.pool.write(load_meetings)
            by_time = f"INDEXED BY {staging.BY_TIME}"
            walk = src.execute(f"SELECT invoked_ms FROM rec {by_time} ORDER BY invoked_ms")
            written = 0
            for lo, hi in batch_windows(walk, batch):
                # The batch's own counters from one grouped scan of the staging index.
                rows, added = staged_counts(src, "rec", (lo, hi))

                def load_batch(
                    conn: Conn, lo: int = lo, hi: int = hi, added: Counter[Any] = added, written: int = written
                ) -> int:
                    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                    conn.execute(
                        f"CREATE TEMP TABLE stage_rec ON COMMIT DROP AS SELECT {_RECORDING_COLUMNS} "
                        "FROM recordings WITH NO DATA"
                    )
                    with (
                        conn.cursor() as cur,
                        cur.copy(f"COPY stage_rec ({_RECORDING_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
                    ):
                        copy.set_types(_RECORDING_TYPES)
                        for row in src.execute(
                            f"SELECT {_RECORDING_COLUMNS} FROM rec {by_time} "
                            "WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 ORDER BY invoked_ms",
                            (lo, hi),
                        ):
                            copy.write_row(row)
                    deltas: Counter[tuple[str, str, int]] = Counter(added)
                    # Rows replaced by this batch leave their counters. When the app holds nothing but
                    # this import's earlier batches (checked inside this transaction), none can be.
                    if before or self._sum(conn, app, "T", RECORDING_STATUSES, None) != prior + written:
                        for status, invoked, expiry in conn.execute(
                            "SELECT r.status, r.invoked_ms, r.expiry_ms FROM recordings r "
                            "JOIN stage_rec s ON s.id = r.id ORDER BY r.id FOR UPDATE OF r"
                        ):
                            for key in counter_keys(status, invoked, expiry):
                                deltas[key] -= 1
                    cur = conn.execute(
                        f"INSERT INTO recordings ({_RECORDING_COLUMNS}, lapsed) SELECT {_RECORDING_COLUMNS}, "
                        "expiry_ms IS NOT NULL AND expiry_ms < %s FROM stage_rec ORDER BY invoked_ms "
                        f"ON CONFLICT (id) DO UPDATE SET {_RECORDING_UPDATE}",
                        (cut,),
                    )
                    self._apply_deltas(conn, app, deltas)
                    # New unmanaged rows bump nothing by themselves (one bump per batch, not per row).
                    conn.execute("UPDATE apps SET version = version + 1 WHERE seq = %s", (app,))
                    return int(cur.rowcount)

                written += self.pool.write(load_batch)
                if progress is not None:
                    progress(rows)
            return written
        finally:
            src.close()

    @staticmethod
    def _copy_meetings(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
        """Upsert staged meeting rows (``staging.MEETING_COLUMNS``); unchanged ones are left alone."""
        conn.execute(
            f"CREATE TEMP TABLE stage_meet ON COMMIT DROP AS SELECT {PG_MEETING_COLUMNS} FROM meetings WITH NO DATA"
        )
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY stage_meet ({PG_MEETING_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(PG_MEETING_TYPES)
            for row in rows:
                copy.write_row(pg_meeting(row))
        conn.execute(
            f"INSERT INTO meetings ({PG_MEETING_COLUMNS}) SELECT {PG_MEETING_COLUMNS} FROM stage_meet ORDER BY id "
            f"ON CONFLICT (id) DO UPDATE SET {PG_MEETING_UPDATE} WHERE meetings.wire IS DISTINCT FROM EXCLUDED.wire"
        )
        conn.execute("DROP TABLE stage_meet")
