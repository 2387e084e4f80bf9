"""Numbered SQL files per dialect, applied in order; the version lives in ``PRAGMA user_version``.

Checking the version costs one pragma, so start-up stays fast and SQLAlchemy/Alembic never load.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def sqlite_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("recordkit.store.migrations") / "sqlite"
    found = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate_sqlite(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations atomically; safe when several processes start at once."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    pending = [m for m in sqlite_migrations() if m[0] > current]
    if not pending:
        return []
    applied: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for version, name, sql in pending:
            if version <= current:
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
            applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def _statements(sql: str) -> list[str]:
    """Split a script on ';' at line ends, keeping trigger bodies (BEGIN ... END;) whole."""
    out: list[str] = []
    buf: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        chunk = "\n".join(buf)
        if line.rstrip().endswith(";") and sqlite3.complete_statement(chunk):
            out.append(chunk)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf))
    return out
