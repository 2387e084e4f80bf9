"""A scratch SQLite file that holds an import's converted rows between its two passes.

Pass one converts each line once and appends the ready row here (no indexes, no journal); pass two
moves the rows into the store with ``INSERT ... SELECT`` in batches, inside SQLite.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

RECORDING_COLUMNS = "id, app, meeting_id, status, invoked_ms, expiry_ms, wire, detail, secrets, updated_ms"
MEETING_COLUMNS = (
    "id, app_id, title, title_folded, status, record_on_start, live_stream_on_start, persist_chat, "
    "summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, recording_config, ai_config, "
    "created_ms, updated_ms, wire"
)
_N_REC = len(RECORDING_COLUMNS.split(","))
_N_MEET = len(MEETING_COLUMNS.split(","))


class Staging:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-32768"):
            self.conn.execute(pragma)
        self.conn.execute(f"CREATE TABLE rec (dup INTEGER NOT NULL DEFAULT 0, {RECORDING_COLUMNS})")
        # The counters' inputs, narrow, so that counting a batch does not read every rendering again.
        self.conn.execute("CREATE TABLE k (dup INTEGER NOT NULL DEFAULT 0, id, status, invoked_ms, expiry_ms)")
        self.conn.execute(f"CREATE TABLE meet ({MEETING_COLUMNS})")
        self.conn.execute("BEGIN")
        self.rows = 0

    def add(self, recordings: list[tuple[Any, ...]], meetings: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(f"INSERT INTO rec ({RECORDING_COLUMNS}) VALUES ({','.join('?' * _N_REC)})", recordings)
        self.conn.executemany(
            "INSERT INTO k (id, status, invoked_ms, expiry_ms) VALUES (?,?,?,?)",
            [(r[0], r[3], r[4], r[5]) for r in recordings],
        )
        self.conn.executemany(f"INSERT INTO meet ({MEETING_COLUMNS}) VALUES ({','.join('?' * _N_MEET)})", meetings)
        self.rows += len(recordings)

    def supersede(self, recording_id: str) -> None:
        """The same id came again later in the file: the later row wins."""
        self.conn.execute("UPDATE rec SET dup = 1 WHERE id = ? AND dup = 0", (recording_id,))
        self.conn.execute("UPDATE k SET dup = 1 WHERE id = ? AND dup = 0", (recording_id,))

    def finish(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()
