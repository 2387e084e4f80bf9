"""A scratch SQLite file that holds an import's converted rows between its two passes.

Pass one converts each line once and appends the ready row here (no journal); ``finish`` marks the
rows a later line of the same id superseded and builds the one index pass two reads through:
``(invoked_ms, dup, status, expiry_ms)``, so a batch's counters come from the index alone and its
rows are read in time order. Pass two moves the rows into the store in batches of ``invoked_time``.
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
# Pass two's walk: a batch's rows in time order, and its counters without reading a row.
BY_TIME = "rec_by_time"
_N_REC = len(RECORDING_COLUMNS.split(","))
_N_MEET = len(MEETING_COLUMNS.split(","))


class Staging:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-32768"):
            self.conn.execute(pragma)
        self.conn.execute(f"CREATE TABLE rec (dup INTEGER NOT NULL DEFAULT 0, {RECORDING_COLUMNS})")
        self.conn.execute(f"CREATE TABLE meet ({MEETING_COLUMNS})")
        self.conn.execute("BEGIN")
        self.rows = 0
        self._superseded: list[tuple[int]] = []

    @property
    def next_rowid(self) -> int:
        """The rowid the next row ``add`` stages gets (rows are only ever appended)."""
        return self.rows + 1

    def add(self, recordings: list[tuple[Any, ...]], meetings: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(f"INSERT INTO rec ({RECORDING_COLUMNS}) VALUES ({','.join('?' * _N_REC)})", recordings)
        self.conn.executemany(f"INSERT INTO meet ({MEETING_COLUMNS}) VALUES ({','.join('?' * _N_MEET)})", meetings)
        self.rows += len(recordings)

    def supersede(self, rowid: int) -> None:
        """The row staged as ``rowid`` came again later in the file: the later one wins."""
        self._superseded.append((rowid,))

    def finish(self) -> None:
        self.conn.executemany("UPDATE rec SET dup = 1 WHERE rowid = ?", self._superseded)
        self.conn.execute(f"CREATE INDEX {BY_TIME} ON rec(invoked_ms, dup, status, expiry_ms)")
        self.conn.execute("COMMIT")
        self.conn.close()
