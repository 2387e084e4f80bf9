"""``SqliteRecordingStore``: the ``RecordingStore`` port on the stdlib ``sqlite3`` driver.

Reads run on the calling thread's own connection (WAL: readers never wait for the writer). Every
write runs in one ``BEGIN IMMEDIATE`` transaction that also keeps ``recording_counts`` in step,
so ``total_count`` is exact without scanning (see ``recordkit.domain.counting``).

The store is composed of one part per concern: ``access`` (accounts, apps, tokens), ``meetings``,
``recordings``, ``listing``, ``importing`` and ``webhooks``; the row codec is the one both stores
share (``recordkit.store.common.codec``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from recordkit.domain.opsview import OpsQueries
from recordkit.security.cipher import SecretCipher
from recordkit.store.common.appkeys import AppKeys
from recordkit.store.common.codec import RowCodec
from recordkit.store.sqlite.access import SqliteAccess
from recordkit.store.sqlite.connection import ConnectionPool
from recordkit.store.sqlite.importing import SqliteImporting
from recordkit.store.sqlite.listing import SqliteListing
from recordkit.store.sqlite.meetings import SqliteMeetings
from recordkit.store.sqlite.ops import SqliteOps
from recordkit.store.sqlite.recordings import SqliteRecordings
from recordkit.store.sqlite.webhooks import SqliteWebhooks


class SqliteRecordingStore(
    SqliteAccess,
    SqliteRecordings,
    SqliteMeetings,
    SqliteListing,
    SqliteImporting,
    SqliteWebhooks,
    RowCodec,
    AppKeys,
):
    """The default metadata store: one SQLite file under the data dir."""

    def __init__(self, path: Path, cipher: SecretCipher) -> None:
        self.pool = ConnectionPool(path)
        self.cipher = cipher
        self._app_seqs: dict[str, int] = {}

    def _read_app_seq(self, app_id: str) -> int | None:
        row = self.pool.get().execute("SELECT seq FROM apps WHERE id = ?", (app_id,)).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        self.pool.close()

    def ops_queries(self) -> OpsQueries:
        """Readiness and the metrics' numbers, read through this store's pool."""
        return SqliteOps(self)

    def reset_connections(self) -> None:
        """In a forked child: drop inherited connections (unsafe across fork) and open fresh ones."""
        self.pool = ConnectionPool(self.pool.path)

    @staticmethod
    def _apply_deltas(conn: sqlite3.Connection, app: int, deltas: Counter[tuple[str, str, int]]) -> None:
        """Add to the counter rows (in the caller's write transaction)."""
        rows = [(app, dim, status, bucket, n) for (dim, status, bucket), n in deltas.items() if n]
        if rows:
            conn.executemany(
                "INSERT INTO recording_counts (app, dim, status, bucket, n) VALUES (?,?,?,?,?) "
                "ON CONFLICT(app, dim, status, bucket) DO UPDATE SET n = n + excluded.n",
                rows,
            )
