"""Copy a whole SQLite store into an empty PostgreSQL database (``recordkit copy-database``).

Lossless: every row of every table, with its ids, compact keys, token hashes, leases, counters and
encrypted secrets as they are (the ciphertext is copied, so the PostgreSQL deployment must use the
same keys: the data dir's ``secret.key`` or the same ``RECORDKIT_SECRET_KEYS``). Both schemas are
brought up to date first and must then be at the same migration. One transaction: the target gets
everything or nothing. Tables go in an order that needs no trigger or constraint switched off:
webhooks after recordings, so that copying a recording queues no webhook event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from recordkit.errors import InvalidRequest
from recordkit.store.migrations.runner import migrate_sqlite
from recordkit.store.migrations.runner_postgres import migrate_postgres, schema_version
from recordkit.store.sqlite.connection import PRAGMAS

Row = Sequence[Any]


def _utf8(value: Any) -> bytes | None:
    return None if value is None else (value.encode() if isinstance(value, str) else bytes(value))


def _blob(value: Any) -> bytes | None:
    return _utf8(value)


def _flag(value: Any) -> bool:
    return bool(value)


def _same(value: Any) -> Any:
    return value


# (table, columns as in SQLite, conversion per column, extra PostgreSQL columns made from the row)
_TABLES: list[tuple[str, list[tuple[str, Callable[[Any], Any]]]]] = [
    ("accounts", [("id", _same), ("created_ms", _same)]),
    (
        "apps",
        [
            ("seq", _same),
            ("id", _same),
            ("account_id", _same),
            ("name", _utf8),
            ("created_ms", _same),
            ("recording_config", _blob),
            ("version", _same),
        ],
    ),
    (
        "tokens",
        [
            ("id", _same),
            ("account_id", _same),
            ("permission", _same),
            ("hash", _same),
            ("created_ms", _same),
            ("revoked_ms", _same),
        ],
    ),
    (
        "meetings",
        [
            ("seq", _same),
            ("id", _same),
            ("app_id", _same),
            ("title", _utf8),
            ("title_folded", _utf8),
            ("status", _same),
            ("record_on_start", _same),
            ("live_stream_on_start", _same),
            ("persist_chat", _same),
            ("summarize_on_end", _same),
            ("transcribe_on_end", _same),
            ("session_keep_alive_time_in_secs", float),
            ("recording_config", _blob),
            ("ai_config", _blob),
            ("created_ms", _same),
            ("updated_ms", _same),
            ("wire", _blob),
        ],
    ),
    (
        "recordings",
        [
            ("seq", _same),
            ("id", _same),
            ("app", _same),
            ("meeting_id", _same),
            ("status", _same),
            ("invoked_ms", _same),
            ("expiry_ms", _same),
            ("wire", _blob),
            ("detail", _blob),
            ("secrets", _blob),
            ("updated_ms", _same),
            ("managed", _flag),
            ("owner", _same),
            ("lease_ms", _same),
            ("purged_ms", _same),
            ("lapsed", _flag),
        ],
    ),
    ("recording_counts", [("app", _same), ("dim", _same), ("status", _same), ("bucket", _same), ("n", _same)]),
    (
        "webhooks",
        [
            ("seq", _same),
            ("id", _same),
            ("app", _same),
            ("name", _utf8),
            ("url", _same),
            ("events", _same),
            ("enabled", _same),
            ("created_ms", _same),
            ("updated_ms", _same),
        ],
    ),
    (
        "webhook_events",
        [
            ("seq", _same),
            ("app", _same),
            ("event", _same),
            ("subject", _same),
            ("meeting_id", _same),
            ("status", _same),
            ("wire", _blob),
            ("meeting", _blob),
            ("created_ms", _same),
        ],
    ),
    (
        "webhook_deliveries",
        [
            ("seq", _same),
            ("id", _same),
            ("webhook", _same),
            ("event", _same),
            ("subject", _same),
            ("status", _same),
            ("attempts", _same),
            ("budget_from", _same),
            ("next_ms", _same),
            ("owner", _same),
            ("lease_ms", _same),
            ("last_code", _same),
            ("last_error", _same),
            ("created_ms", _same),
            ("updated_ms", _same),
            ("delivered_ms", _same),
        ],
    ),
]
# Columns PostgreSQL has and SQLite has not, made from the copied row.
_DERIVED: dict[str, list[tuple[str, Callable[[dict[str, Any]], Any]]]] = {
    "meetings": [("title_index", lambda r: (r["title_folded"] or "").replace("\x00", "\ufffd"))],
}


def _rows(src: sqlite3.Connection, table: str, columns: list[tuple[str, Callable[[Any], Any]]]) -> Iterable[Row]:
    names = [name for name, _ in columns]
    derived = _DERIVED.get(table, [])
    order = " ORDER BY seq" if "seq" in names else ""
    for raw in src.execute(f"SELECT {', '.join(names)} FROM {table}{order}"):
        record = dict(zip(names, raw, strict=True))
        yield [convert(value) for (_, convert), value in zip(columns, raw, strict=True)] + [
            make(record) for _, make in derived
        ]


def copy_sqlite_to_postgres(
    sqlite_path: Path, url: str, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row; returns rows per table. InvalidRequest when the target already holds data."""
    if not sqlite_path.exists():
        raise InvalidRequest(f"no SQLite database at {sqlite_path}")
    src = sqlite3.connect(sqlite_path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            src.execute(pragma)
        migrate_sqlite(src)
        source_version = int(src.execute("PRAGMA user_version").fetchone()[0])
        with psycopg.connect(url, autocommit=True) as conn:
            migrate_postgres(conn)
            target_version = schema_version(conn)
            if source_version != target_version:
                raise InvalidRequest(
                    f"schema versions differ: SQLite is at {source_version}, PostgreSQL at {target_version}"
                )
            counts: dict[str, int] = {}
            with conn.transaction():
                if conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None:
                    raise InvalidRequest("the PostgreSQL database already holds accounts: copy into an empty one")
                present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table, columns in _TABLES:
                    if table not in present:
                        continue
                    names = [name for name, _ in columns] + [name for name, _ in _DERIVED.get(table, [])]
                    n = 0
                    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in _rows(src, table, columns):
                            copy.write_row(row)
                            n += 1
                    counts[table] = n
                    if "seq" in names:  # the identity goes on after the copied keys
                        conn.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'), "
                            f"GREATEST((SELECT MAX(seq) FROM {table}), 1), (SELECT COUNT(*) > 0 FROM {table}))"
                        )
                    if progress is not None:
                        progress(table, n)
            return counts
    finally:
        src.close()
