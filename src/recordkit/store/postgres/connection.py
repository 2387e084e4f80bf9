"""PostgreSQL connections: a psycopg_pool pool of autocommit connections, migrations on open.

Reads run as single autocommit statements. A write is a function run inside one transaction
(``PgPool.write``) and run again, whole, when PostgreSQL ends it with a deadlock or a
serialization failure; the functions that write are pure apart from the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from recordkit.errors import Unavailable
from recordkit.settings import DEFAULT_DATABASE_POOL_SIZE  # Settings.database_pool_size passes the setting
from recordkit.store.migrations.runner_postgres import migrate_postgres

log = logging.getLogger("recordkit.store.postgres")

T = TypeVar("T")
POOL_TIMEOUT = 15.0  # seconds a caller waits for a free connection (SQLite's busy timeout, likewise)
RETRIES = 5
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
# Pools a forked child inherited: never closed nor collected there (they belong to the parent).
_INHERITED: list[ConnectionPool[Any]] = []


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the database URL"
    host = info.get("host") or "localhost"
    return f"postgresql://{info.get('user') or ''}@{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


# A process frozen or cut off inside a transaction keeps its row locks, and the rows it leased stay
# invisible to the other processes' SKIP LOCKED claims, until PostgreSQL ends its session: bound
# that. RecordKit's transactions never wait on anything but the database between statements.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'")


class PgPool:
    """The store's connections; ``get`` for a read, ``write`` for a transaction."""

    def __init__(self, url: str, *, migrate: bool = True, max_size: int = DEFAULT_DATABASE_POOL_SIZE) -> None:
        self.url = url
        self.pid = os.getpid()
        self.max_size = max_size
        self._lock = threading.Lock()
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                encoding = conn.execute("SHOW server_encoding").fetchone()
                if encoding is None or str(encoding[0]).upper() not in ("UTF8", "UTF-8"):
                    raise Unavailable(f"database {redact(url)}: its encoding must be UTF8, not {encoding}")
                if migrate:
                    applied = migrate_postgres(conn)
                    if applied:
                        log.info("applied migrations %s", ", ".join(applied))
        except psycopg.Error as exc:
            raise Unavailable(f"cannot open database {redact(url)}: {_first_line(exc)}") from None
        self._pool: ConnectionPool[Any] | None = self._open()

    def _open(self) -> ConnectionPool[Any]:
        return ConnectionPool(
            self.url,
            min_size=1,
            max_size=self.max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            timeout=POOL_TIMEOUT,
            open=True,
            name="recordkit",
        )

    def _check_fork(self) -> ConnectionPool[Any]:
        if os.getpid() != self.pid:  # a forked child: the parent's sockets are not ours to use
            if self._pool is not None:
                _INHERITED.append(self._pool)
            self.pid = os.getpid()
            self._pool = None
        pool = self._pool
        if pool is None:  # first use after close() (as the SQLite store, it opens again)
            with self._lock:
                if self._pool is None:
                    self._pool = self._open()
                pool = self._pool
        return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        pool = self._check_fork()
        try:
            with pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise Unavailable(f"database is busy: {exc}") from None
        except _RETRYABLE:
            raise
        except psycopg.OperationalError as exc:
            raise Unavailable(f"database unavailable: {_first_line(exc)}") from None

    def fetchone(self, sql: str, params: Any = None) -> Any:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Any = None) -> list[Any]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def write(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``work(conn)`` in one transaction; again (up to ``RETRIES``) on a deadlock or a
        serialization failure."""
        for attempt in range(RETRIES):
            try:
                with self.connection() as conn, conn.transaction():
                    return work(conn)
            except _RETRYABLE:
                if attempt == RETRIES - 1:
                    raise Unavailable("database is busy: too many conflicting writes") from None
                time.sleep(0.005 * (2**attempt))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every connection; a later use opens the pool again."""
        pool, self._pool = self._pool, None
        if pool is None or os.getpid() != self.pid:
            return
        with contextlib.suppress(Exception):
            pool.close(timeout=5)

    def reset(self) -> None:
        """In a forked child: leave the inherited pool alone and open a fresh one."""
        self._check_fork()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
