"""``OpsQueries`` on PostgreSQL: readiness (one query on a pooled connection, the schema version) and
the numbers behind the metrics, each from an index or the exact counters (``recordkit.domain.opsview``).

Kept apart from the store's own modules: it only reads, through the store's pool."""

from __future__ import annotations

from typing import Protocol

import psycopg

from recordkit.domain.opsview import UNFINISHED, OpsSnapshot, SchemaState, WebhookBacklog
from recordkit.errors import Unavailable
from recordkit.store.migrations.runner_postgres import postgres_migrations, schema_version
from recordkit.store.postgres.connection import PgPool

_IN_UNFINISHED = "(" + ", ".join(f"'{s}'" for s in UNFINISHED) + ")"
_RECORDINGS = (
    "SELECT status, SUM(n) FROM recording_counts WHERE app IN (SELECT seq FROM apps) AND dim = 'T' GROUP BY status"
)
# The same terms as the partial index recordings_unfinished.
_JOBS = (
    f"SELECT status, COUNT(*), MIN(invoked_ms) FROM recordings WHERE managed AND status IN {_IN_UNFINISHED} "
    "GROUP BY status"
)
_PENDING = (
    "SELECT COUNT(*), MIN(created_ms), COUNT(*) FILTER (WHERE next_ms <= %s) "
    "FROM webhook_deliveries WHERE status = 'pending'"
)


class PooledStore(Protocol):
    """What the adapter reads of the store: its pool."""

    pool: PgPool


class PgOps:
    kind = "postgres"

    def __init__(self, store: PooledStore) -> None:
        self.store = store
        self.expected = max((version for version, _, _ in postgres_migrations()), default=0)
        self._has_outbox: bool | None = None

    def check(self) -> SchemaState:
        try:
            with self.store.pool.connection() as conn:
                conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchall()
                version = schema_version(conn)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Unavailable(f"database: {first}") from None
        return SchemaState(int(version), self.expected)

    def snapshot(self, now: int) -> OpsSnapshot:
        pool = self.store.pool
        recordings = {str(s): int(n) for s, n in pool.fetchall(_RECORDINGS) if n}
        jobs = {str(s): (int(n), int(oldest)) for s, n, oldest in pool.fetchall(_JOBS)}
        if self._has_outbox is None:
            row = pool.fetchone("SELECT to_regclass('webhook_deliveries') IS NOT NULL")
            self._has_outbox = bool(row and row[0])
        webhooks = None
        if self._has_outbox:
            pending, oldest, due = pool.fetchone(_PENDING, (now,))
            webhooks = WebhookBacklog(int(pending), int(due), None if oldest is None else int(oldest))
        return OpsSnapshot(recordings=recordings, jobs=jobs, webhooks=webhooks)
