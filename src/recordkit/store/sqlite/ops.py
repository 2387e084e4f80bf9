"""``OpsQueries`` on SQLite: readiness (a fresh connection to the file, the schema version) and the
numbers behind the metrics, each from an index or the exact counters (``recordkit.domain.opsview``)."""

from __future__ import annotations

import sqlite3
from typing import Protocol

from recordkit.domain.opsview import UNFINISHED, OpsSnapshot, SchemaState, WebhookBacklog
from recordkit.errors import Unavailable
from recordkit.store.migrations.runner import sqlite_migrations
from recordkit.store.sqlite.connection import ConnectionPool

_IN_UNFINISHED = "(" + ", ".join(f"'{s}'" for s in UNFINISHED) + ")"
# Per app, a seek on the counters' primary key (app, dim, ...): no scan of the hour and day rows.
_RECORDINGS = (
    "SELECT status, SUM(n) FROM recording_counts WHERE app IN (SELECT seq FROM apps) AND dim = 'T' GROUP BY status"
)
# The same terms as the partial index recordings_unfinished, so SQLite reads only that index's rows.
_JOBS = (
    f"SELECT status, COUNT(*), MIN(invoked_ms) FROM recordings WHERE managed = 1 AND status IN {_IN_UNFINISHED} "
    "GROUP BY status"
)
# Both from the partial index webhook_deliveries_due (pending rows only).
_PENDING = "SELECT COUNT(*), MIN(created_ms) FROM webhook_deliveries WHERE status = 'pending'"
_DUE = "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND next_ms <= ?"


class PooledStore(Protocol):
    """What the adapter reads of the store: its pool (replaced in a forked child, so read each time)."""

    pool: ConnectionPool


class SqliteOps:
    kind = "sqlite"

    def __init__(self, store: PooledStore) -> None:
        self.store = store
        self.expected = max((version for version, _, _ in sqlite_migrations()), default=0)
        self._has_outbox: bool | None = None

    def check(self) -> SchemaState:
        """Open the database file afresh (read-write, never creating it) and read its schema version
        and one row: a file that was removed, replaced by something else or cannot be opened fails
        here even while the server's own connections still hold the old one open."""
        path = self.store.pool.path
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=2.0)
        except sqlite3.Error as exc:
            raise Unavailable(f"database {path}: {exc}") from None
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise Unavailable(f"database {path}: {exc}") from None
        finally:
            conn.close()
        return SchemaState(version, self.expected)

    def snapshot(self, now: int) -> OpsSnapshot:
        conn = self.store.pool.get()
        recordings = {str(s): int(n) for s, n in conn.execute(_RECORDINGS).fetchall() if n}
        jobs = {str(s): (int(n), int(oldest)) for s, n, oldest in conn.execute(_JOBS).fetchall()}
        if self._has_outbox is None:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'webhook_deliveries'")
            self._has_outbox = found.fetchone() is not None
        webhooks = None
        if self._has_outbox:
            pending, oldest = conn.execute(_PENDING).fetchone()
            (due,) = conn.execute(_DUE, (now,)).fetchone()
            webhooks = WebhookBacklog(int(pending), int(due), None if oldest is None else int(oldest))
        return OpsSnapshot(recordings=recordings, jobs=jobs, webhooks=webhooks)
