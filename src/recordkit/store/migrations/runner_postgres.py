"""PostgreSQL migrations: ``migrations/postgres/000N_*.sql``, the same numbers and meaning as the SQLite
files (one history, two dialects), recorded in a ``schema_version`` table.

All pending files are applied in one transaction (PostgreSQL's DDL is transactional) under an
advisory lock, so several processes starting at once apply each file once and the others wait,
then find nothing to do. Checking costs one query when the schema is current.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# pg_advisory_xact_lock key: "RKmigrat" as a big-endian int64.
LOCK_KEY = int.from_bytes(b"RKmigrat", "big", signed=True)


def postgres_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("recordkit.store.migrations") / "postgres"
    found = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _current(conn: Any) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def schema_version(conn: Any) -> int:
    """The version of the schema behind an open connection (0: none yet)."""
    return _current(conn)


def migrate_postgres(conn: Any) -> list[str]:
    """Apply pending migrations on an autocommit psycopg connection; returns the files applied."""
    migrations = postgres_migrations()
    latest = migrations[-1][0] if migrations else 0
    if _current(conn) >= latest:
        return []
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, name text NOT NULL, applied_ms bigint NOT NULL)"
        )
        current = _current(conn)
        for version, name, sql in migrations:
            if version <= current:
                continue
            conn.execute(sql)  # no parameters: sent as one simple query, several statements allowed
            conn.execute(
                # The database's clock: when it applied the file (a record, not a time the store decides on).
                "INSERT INTO schema_version (version, name, applied_ms) "
                "VALUES (%s, %s, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                (version, name),
            )
            applied.append(name)
    return applied


def migrate_postgres_url(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return migrate_postgres(conn)
