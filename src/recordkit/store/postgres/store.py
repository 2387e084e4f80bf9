"""``PostgresRecordingStore``: the ``RecordingStore`` port on PostgreSQL (psycopg 3 + psycopg_pool).

The same schema concepts as the SQLite store (``recordkit.store.sqlite``): the app's compact key
(``apps.seq``), recordings kept as their wire rendering + detail + encrypted secrets, the exact
counters of ``recording_counts`` changed in the same transaction as every write
(``recordkit.domain.counting``), the ``lapsed`` flag for ``expired=true``, the per-app list
``version`` bumped by triggers, and a trigram index for meeting titles. Rows are encoded by the
row codec both stores share (``recordkit.store.common.codec``), so both hold the same bytes and
encrypt secrets the same way.

Many processes may share one database: every write is one transaction (run again on a deadlock),
counter rows are changed in one global order, a recording is changed under its row lock, and the
unfinished recordings are claimed with ``FOR UPDATE SKIP LOCKED`` (``recordings.PgRecordings``).

The store is composed of one part per concern: ``access`` (accounts, apps, tokens), ``meetings``,
``recordings``, ``listing``, ``importing`` and ``webhooks``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import psycopg

from recordkit.domain.models import Meeting, Recording
from recordkit.domain.opsview import OpsQueries
from recordkit.security.cipher import SecretCipher
from recordkit.settings import DEFAULT_DATABASE_POOL_SIZE
from recordkit.store.common.appkeys import AppKeys
from recordkit.store.common.codec import RowCodec
from recordkit.store.postgres.access import PgAccess
from recordkit.store.postgres.connection import PgPool
from recordkit.store.postgres.importing import PgImporting
from recordkit.store.postgres.listing import PgListing
from recordkit.store.postgres.meetings import PgMeetings
from recordkit.store.postgres.ops import PgOps
from recordkit.store.postgres.recordings import PgRecordings
from recordkit.store.postgres.webhooks import PgWebhooks

Conn = psycopg.Connection[Any]


class PostgresRecordingStore(PgAccess, PgRecordings, PgMeetings, PgListing, PgImporting, PgWebhooks, RowCodec, AppKeys):
    """The metadata store for several processes: one PostgreSQL database (``--database-url``)."""

    def __init__(
        self, url: str, cipher: SecretCipher, *, migrate: bool = True, pool_size: int = DEFAULT_DATABASE_POOL_SIZE
    ) -> None:
        self.pool = PgPool(url, migrate=migrate, max_size=pool_size)
        self.cipher = cipher
        self._app_seqs: dict[str, int] = {}

    def _read_app_seq(self, app_id: str) -> int | None:
        row = self.pool.fetchone("SELECT seq FROM apps WHERE id = %s", (app_id,))
        return None if row is None else int(row[0])

    def close(self) -> None:
        self.pool.close()

    def ops_queries(self) -> OpsQueries:
        """Readiness and the metrics' numbers, read through this store's pool."""
        return PgOps(self)

    def reset_connections(self) -> None:
        """In a forked child: leave the parent's connections alone and open fresh ones."""
        self.pool.reset()

    # -- the row codec, for this schema's column types ----------------------------------------

    @staticmethod
    def _recording(rec_id: str, app_id: str, meeting_id: str, wire: bytes, detail: bytes | None) -> Recording:
        return RowCodec._recording(rec_id, app_id, meeting_id, bytes(wire), detail and bytes(detail))

    def _meeting(self, row: Sequence[Any]) -> Meeting:
        title = row[4]
        return RowCodec._meeting(self, (*row[:4], None if title is None else bytes(title).decode(), *row[5:]))

    def _unseal(self, stored: bytes | str | None) -> dict[str, Any] | None:
        return RowCodec._unseal(self, None if stored is None else bytes(stored))  # type: ignore[arg-type]

    @staticmethod
    def _apply_deltas(conn: Conn, app: int, deltas: Counter[tuple[str, str, int]]) -> None:
        """Add to the counter rows, in one global order (two writers never wait on each other in a circle)."""
        rows = sorted((dim, status, bucket, n) for (dim, status, bucket), n in deltas.items() if n)
        if not rows:
            return
        conn.execute(
            "INSERT INTO recording_counts (app, dim, status, bucket, n) "
            "SELECT %s, d, s, b, n FROM unnest(%s::text[], %s::text[], %s::int8[], %s::int8[]) "
            "WITH ORDINALITY AS t(d, s, b, n, o) ORDER BY o "
            "ON CONFLICT (app, dim, status, bucket) DO UPDATE SET n = recording_counts.n + EXCLUDED.n",
            (app, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
        )
