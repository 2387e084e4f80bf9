"""``PgMeetings``: the meetings half of the PostgreSQL store (create, get, list; SPEC §5).

A mixin of ``PostgresRecordingStore``, as ``SqliteMeetings`` is of the SQLite store: the same rows
(``meeting_row``, the shared row codec), converted to this schema by ``pg_meeting``: the
title and its folded form as exact UTF-8 bytes (text cannot hold NUL), and the folded title as
text for the trigram index. Title search has SQLite's semantics exactly: a byte-wise substring of
the folded title, with the trigram index naming the candidates for three characters or more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from recordkit.domain.models import Meeting
from recordkit.domain.query import MeetingQuery
from recordkit.store.common.codec import MEETING_READ
from recordkit.store.postgres.connection import PgPool

PG_MEETING_COLUMNS = (
    "id, app_id, title, title_folded, title_index, status, record_on_start, live_stream_on_start, persist_chat, "
    "summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, recording_config, ai_config, "
    "created_ms, updated_ms, wire"
)
PG_MEETING_TYPES = [
    "text",
    "text",
    "bytea",
    "bytea",
    "text",
    "text",
    "int4",
    "int4",
    "int4",
    "int4",
    "int4",
    "float8",
    "bytea",
    "bytea",
    "int8",
    "int8",
    "bytea",
]
PG_MEETING_UPDATE = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in (x.strip() for x in PG_MEETING_COLUMNS.split(",")) if c not in ("id", "app_id")
)
_INSERT = f"INSERT INTO meetings ({PG_MEETING_COLUMNS}) VALUES ({', '.join(['%s'] * len(PG_MEETING_TYPES))})"
_READ = MEETING_READ  # the order ``RowCodec._meeting`` reads


def _blob(value: Any) -> bytes | None:
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else bytes(value)


def pg_meeting(row: Sequence[Any]) -> tuple[Any, ...]:
    """A staged meeting row (``staging.MEETING_COLUMNS``) as this schema's (``PG_MEETING_COLUMNS``)."""
    (
        meeting_id,
        app_id,
        title,
        folded,
        status,
        rec,
        live,
        chat,
        summ,
        transcribe,
        keep,
        config,
        ai,
        created,
        updated,
        wire,
    ) = row
    folded = folded or ""
    return (
        meeting_id,
        app_id,
        None if title is None else title.encode(),
        folded.encode(),
        folded.replace("\x00", "\ufffd"),
        status,
        int(rec),
        int(live),
        int(chat),
        int(summ),
        None if transcribe is None else int(transcribe),
        float(keep),
        _blob(config),
        _blob(ai),
        int(created),
        int(updated),
        _blob(wire),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PgMeetings:
    """Meetings on the store's pool; mixed into ``PostgresRecordingStore``."""

    pool: PgPool
    meeting_row: Callable[[Meeting], tuple[Any, ...]]
    _meeting: Callable[[Sequence[Any]], Meeting]

    def create_meeting(self, meeting: Meeting) -> None:
        row = pg_meeting(self.meeting_row(meeting))
        self.pool.write(lambda conn: conn.execute(_INSERT, row))

    def get_meeting(self, app_id: str, meeting_id: str) -> Meeting | None:
        row = self.pool.fetchone(f"SELECT {_READ} FROM meetings WHERE id = %s AND app_id = %s", (meeting_id, app_id))
        return self._meeting(row) if row else None

    def list_meetings(self, app_id: str, query: MeetingQuery) -> tuple[list[bytes], int]:
        """A page of meetings as their stored JSON, newest first (``created_at``, then id, DESC)."""
        where = "app_id = %s"
        params: list[Any] = [app_id]
        if query.status is not None:
            where += " AND status = %s"
            params.append(query.status)
        if query.start_ms is not None:
            where += " AND created_ms >= %s"
            params.append(query.start_ms)
        if query.end_ms is not None:
            where += " AND created_ms <= %s"
            params.append(query.end_ms)
        if query.search is not None:
            folded = query.search.folded
            needle = folded.encode()
            if len(folded) >= 3:
                # The trigram index names the candidates; title_folded keeps the exact substring semantics.
                title = "(title_index LIKE %s AND position(%s::bytea IN title_folded) > 0)"
                title_params: list[Any] = [_like(folded.replace("\x00", "\ufffd")), needle]
            else:
                title, title_params = "position(%s::bytea IN title_folded) > 0", [needle]
            candidate = query.search.id_candidate
            if candidate is not None:
                where += f" AND ({title} OR id = %s)"
                params.extend([*title_params, candidate])
            else:
                where += f" AND {title}"
                params.extend(title_params)
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM meetings WHERE {where}", params).fetchone()
            total = int(row[0]) if row else 0
            page = query.page
            if page.offset >= total:
                return [], total
            rows = conn.execute(
                f"SELECT wire FROM meetings WHERE {where} ORDER BY created_ms DESC, id DESC LIMIT %s OFFSET %s",
                [*params, page.per_page, page.offset],
            ).fetchall()
        return [bytes(r[0]) for r in rows], total
