"""Where a sync got to: ``sync-state.sqlite3`` in the data dir, one row per source and per recording.

A source is the upstream (URL, account, app) together with the destination app. Per source: the
cursor, the ``invoked_time`` of the last recording handled in list order (a rerun lists from a
little before it). Per recording: its state here, written in the same step that finishes it:

    done      final upstream and archived (files copied, or none to copy)
    expired   final upstream; its files had expired (or were refused) before they could be copied
    pending   not final upstream yet (INVOKED ... UPLOADING): looked at again on every run
    failed    a copy that went wrong (network, size mismatch...): tried again on every run
    skipped   final in a status that ``--status`` leaves out
    gone      was pending or failed, and the upstream no longer lists it

Each write is its own transaction (WAL), so a ``kill -9`` loses at most the recording in hand.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

FILE_NAME = "sync-state.sqlite3"
RETRIED = ("pending", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    key         TEXT PRIMARY KEY,
    cursor_ms   INTEGER,
    runs        INTEGER NOT NULL DEFAULT 0,
    last_run_ms INTEGER
);
CREATE TABLE IF NOT EXISTS recordings (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    state       TEXT NOT NULL,
    status      TEXT,
    meeting_id  TEXT,
    invoked_ms  INTEGER,
    files       TEXT,
    link_expiry_ms INTEGER,
    note        TEXT,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recordings_by_state ON recordings (source, state);
"""


@dataclass(frozen=True)
class Entry:
    id: str
    state: str
    status: str | None
    meeting_id: str | None
    invoked_ms: int | None
    files: dict[str, Any] | None
    link_expiry_ms: int | None
    note: str | None


class SyncState:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    # -- sources -------------------------------------------------------------------------------------

    def cursor(self, source: str) -> int | None:
        row = self.conn.execute("SELECT cursor_ms FROM sources WHERE key = ?", (source,)).fetchone()
        return None if row is None else row[0]

    def advance(self, source: str, invoked_ms: int) -> None:
        """Move the cursor forward to ``invoked_ms`` (never back)."""
        self.conn.execute(
            "INSERT INTO sources (key, cursor_ms) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
            "cursor_ms = MAX(COALESCE(cursor_ms, excluded.cursor_ms), excluded.cursor_ms)",
            (source, invoked_ms),
        )

    def finish_run(self, source: str, now_ms: int) -> None:
        self.conn.execute(
            "INSERT INTO sources (key, runs, last_run_ms) VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET "
            "runs = runs + 1, last_run_ms = excluded.last_run_ms",
            (source, now_ms),
        )

    # -- recordings ----------------------------------------------------------------------------------

    def state_of(self, source: str, recording_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT state FROM recordings WHERE source = ? AND id = ?", (source, recording_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def record(
        self,
        source: str,
        recording_id: str,
        state: str,
        *,
        status: str | None,
        meeting_id: str | None,
        invoked_ms: int | None,
        now_ms: int,
        files: dict[str, Any] | None = None,
        link_expiry_ms: int | None = None,
        note: str | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO recordings (source, id, state, status, meeting_id, invoked_ms, files, link_expiry_ms, note, "
            "updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(source, id) DO UPDATE SET state = excluded.state, "
            "status = excluded.status, meeting_id = COALESCE(excluded.meeting_id, recordings.meeting_id), "
            "invoked_ms = COALESCE(excluded.invoked_ms, recordings.invoked_ms), files = excluded.files, "
            "link_expiry_ms = excluded.link_expiry_ms, note = excluded.note, updated_ms = excluded.updated_ms",
            (
                source,
                recording_id,
                state,
                status,
                meeting_id,
                invoked_ms,
                None if files is None else msgspec.json.encode(files).decode(),
                link_expiry_ms,
                note,
                now_ms,
            ),
        )

    def set_link_expiry(self, source: str, recording_id: str, expiry_ms: int) -> None:
        self.conn.execute(
            "UPDATE recordings SET link_expiry_ms = ? WHERE source = ? AND id = ?", (expiry_ms, source, recording_id)
        )

    def entries(self, source: str, states: tuple[str, ...]) -> list[Entry]:
        marks = ",".join("?" * len(states))
        rows = self.conn.execute(
            "SELECT id, state, status, meeting_id, invoked_ms, files, link_expiry_ms, note FROM recordings "
            f"WHERE source = ? AND state IN ({marks}) ORDER BY invoked_ms, id",
            (source, *states),
        ).fetchall()
        return [_entry(r) for r in rows]

    def links_due(self, source: str, before_ms: int) -> Iterator[Entry]:
        """Archived recordings whose RecordKit links expire before ``before_ms``."""
        rows = self.conn.execute(
            "SELECT id, state, status, meeting_id, invoked_ms, files, link_expiry_ms, note FROM recordings "
            "WHERE source = ? AND state = 'done' AND files IS NOT NULL AND link_expiry_ms < ?",
            (source, before_ms),
        ).fetchall()
        return (_entry(r) for r in rows)

    def counts(self, source: str) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT state, COUNT(*) FROM recordings WHERE source = ? GROUP BY state", (source,)
        ).fetchall()
        return {str(state): int(n) for state, n in rows}


def _entry(row: tuple[Any, ...]) -> Entry:
    files = msgspec.json.decode(row[5]) if row[5] else None
    return Entry(row[0], row[1], row[2], row[3], row[4], files, row[6], row[7])
