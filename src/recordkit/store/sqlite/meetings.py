"""``SqliteMeetings``: the meetings half of the SQLite store (create, get, list; SPEC §5).

A mixin of ``SqliteRecordingStore``: it uses the store's connection pool and the row codec
(``meeting_row``, ``_meeting``: ``recordkit.store.common.codec``), so an imported meeting and a
created one are the same row. A list
page is assembled from each row's ``wire`` column (the meeting's JSON, rendered at write time).
Meetings are few per app next to recordings, so ``total_count`` is an exact ``COUNT(*)`` on the
``(app_id, [status,] created_ms, id)`` indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from recordkit.domain.models import Meeting
from recordkit.domain.query import MeetingQuery
from recordkit.store.common import staging
from recordkit.store.common.codec import MEETING_READ
from recordkit.store.sqlite.connection import ConnectionPool

_N_COLUMNS = len(staging.MEETING_COLUMNS.split(","))
_INSERT = f"INSERT INTO meetings ({staging.MEETING_COLUMNS}) VALUES ({','.join('?' * _N_COLUMNS)})"
_READ = MEETING_READ  # the order ``RowCodec._meeting`` reads


class SqliteMeetings:
    """Meetings on the store's connection pool; mixed into ``SqliteRecordingStore``."""

    # Provided by SqliteRecordingStore (the row codec, shared with the importer).
    pool: ConnectionPool
    meeting_row: Callable[[Meeting], tuple[Any, ...]]
    _meeting: Callable[[Sequence[Any]], Meeting]

    def create_meeting(self, meeting: Meeting) -> None:
        row = self.meeting_row(meeting)
        with self.pool.write() as conn:
            conn.execute(_INSERT, row)

    def get_meeting(self, app_id: str, meeting_id: str) -> Meeting | None:
        row = (
            self.pool.get()
            .execute(f"SELECT {_READ} FROM meetings WHERE id = ? AND app_id = ?", (meeting_id, app_id))
            .fetchone()
        )
        return self._meeting(row) if row else None

    def list_meetings(self, app_id: str, query: MeetingQuery) -> tuple[list[bytes], int]:
        """A page of meetings as their stored JSON, newest first (``created_at``, then id, DESC)."""
        where = "app_id = ?"
        params: list[Any] = [app_id]
        if query.status is not None:
            where += " AND status = ?"
            params.append(query.status)
        if query.start_ms is not None:
            where += " AND created_ms >= ?"
            params.append(query.start_ms)
        if query.end_ms is not None:
            where += " AND created_ms <= ?"
            params.append(query.end_ms)
        if query.search is not None:
            folded = query.search.folded
            if len(folded) >= 3 and "\x00" not in folded:  # FTS5 stops at a NUL: those take the scan
                # The trigram index names the candidates; instr() keeps the exact substring semantics.
                title = (
                    "(seq IN (SELECT rowid FROM meetings_fts WHERE meetings_fts MATCH ?) "
                    "AND instr(title_folded, ?) > 0)"
                )
                title_params: list[Any] = ['"' + folded.replace('"', '""') + '"', folded]
            else:
                title, title_params = "instr(title_folded, ?) > 0", [folded]
            candidate = query.search.id_candidate
            if candidate is not None:
                where += f" AND ({title} OR id = ?)"
                params.extend([*title_params, candidate])
            else:
                where += f" AND {title}"
                params.extend(title_params)
        conn = self.pool.get()
        total = int(conn.execute(f"SELECT COUNT(*) FROM meetings WHERE {where}", params).fetchone()[0])
        page = query.page
        if page.offset >= total:
            return [], total
        rows = conn.execute(
            f"SELECT wire FROM meetings WHERE {where} ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?",
            [*params, page.per_page, page.offset],
        ).fetchall()
        return [bytes(r[0]) for r in rows], total
