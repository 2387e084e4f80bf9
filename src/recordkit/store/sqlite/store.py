"""``SqliteRecordingStore``: the ``RecordingStore`` port on the stdlib ``sqlite3`` driver.

Reads run on the calling thread's own connection (WAL: readers never wait for the writer). Every
write runs in one ``BEGIN IMMEDIATE`` transaction that also keeps ``recording_counts`` in step,
so ``total_count`` is exact without scanning (see ``recordkit.domain.counting``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.counting import counter_keys, plan_range
from recordkit.domain.ids import new_account_id, new_uuid
from recordkit.domain.models import (
    RECORDING_STATUSES,
    Account,
    App,
    Meeting,
    Principal,
    Recording,
)
from recordkit.domain.query import Page, RecordingQuery
from recordkit.domain.timefmt import MAX_MS, MIN_MS, now_ms
from recordkit.errors import InvalidRequest, NotFound
from recordkit.security.cipher import SecretCipher
from recordkit.security.tokens import hash_token, new_token
from recordkit.store.sqlite.connection import ConnectionPool

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode

REC_COLUMNS = (
    "id, app_id, meeting_id, status, invoked_ms, session_id, started_ms, stopped_ms, download_url, "
    "audio_download_url, expiry_ms, file_size, output_file_name, recording_duration, storage_config, "
    "storage_secrets, start_reason, stop_reason"
)
MEETING_COLUMNS = (
    "id, app_id, created_ms, updated_ms, title, status, record_on_start, live_stream_on_start, "
    "persist_chat, summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, "
    "recording_config, ai_config"
)
_R = ", ".join("r." + c.strip() for c in REC_COLUMNS.split(","))
_M = ", ".join("m." + c.strip() for c in MEETING_COLUMNS.split(","))
_N_REC = len(REC_COLUMNS.split(","))

# Above this many rows to skip, a per-status merge costs more than one scan of the time index.
_UNION_LIMIT = 5000
_CHUNK = 500


def _j(value: Any) -> bytes | None:
    return None if value is None else _json_encode(value)


def _dj(value: bytes | str | None) -> Any:
    return None if value is None else _json_decode(value)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class SqliteRecordingStore:
    """The default metadata store: one SQLite file under the data dir."""

    def __init__(self, path: Path, cipher: SecretCipher) -> None:
        self.pool = ConnectionPool(path)
        self.cipher = cipher
        self.backfill_renderings()

    def backfill_renderings(self, batch: int = 5000) -> int:
        """Render rows written before renderings were kept (a one-off after upgrading an old data dir)."""

        def meeting_json(row: Sequence[Any]) -> bytes:
            return render.meeting_json(self._meeting(row))

        def recording_json(row: Sequence[Any]) -> bytes:
            return render.recording_item_json(self._recording(row))

        done = 0
        for table, columns, to_json in (
            ("meetings", MEETING_COLUMNS, meeting_json),
            ("recordings", REC_COLUMNS, recording_json),
        ):
            while True:
                with self.pool.write() as conn:
                    rows = conn.execute(
                        f"SELECT seq, {columns} FROM {table} WHERE wire IS NULL LIMIT ?", (batch,)
                    ).fetchall()
                    conn.executemany(
                        f"UPDATE {table} SET wire = ? WHERE seq = ?", [(to_json(row[1:]), row[0]) for row in rows]
                    )
                done += len(rows)
                if len(rows) < batch:
                    break
        return done

    def close(self) -> None:
        self.pool.close()

    # -- accounts, apps, tokens -------------------------------------------------------------

    def create_account(self) -> Account:
        account = Account(id=new_account_id(), created_ms=now_ms())
        with self.pool.write() as conn:
            conn.execute("INSERT INTO accounts (id, created_ms) VALUES (?, ?)", (account.id, account.created_ms))
        return account

    def has_accounts(self) -> bool:
        return self.pool.get().execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def get_account(self, account_id: str) -> Account | None:
        row = self.pool.get().execute("SELECT id, created_ms FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return Account(*row) if row else None

    def create_app(self, account_id: str, name: str) -> App:
        app = App(id=new_uuid(), account_id=account_id, name=name, created_ms=now_ms())
        with self.pool.write() as conn:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO apps (id, account_id, name, created_ms) VALUES (?, ?, ?, ?)",
                (app.id, app.account_id, app.name, app.created_ms),
            )
        return app

    def get_app(self, app_id: str) -> App | None:
        row = (
            self.pool.get()
            .execute("SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE id = ?", (app_id,))
            .fetchone()
        )
        return App(row[0], row[1], row[2], row[3], _dj(row[4])) if row else None

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]:
        where = "account_id = ?"
        params: list[Any] = [account_id]
        if search:
            where += " AND instr(lower(name), ?) > 0"
            params.append(search.lower())
        conn = self.pool.get()
        total = conn.execute(f"SELECT COUNT(*) FROM apps WHERE {where}", params).fetchone()[0]
        if page.offset >= total:
            return [], total
        order = "ASC" if ascending else "DESC"
        rows = conn.execute(
            f"SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE {where} "
            f"ORDER BY created_ms {order}, id {order} LIMIT ? OFFSET ?",
            [*params, page.per_page, page.offset],
        ).fetchall()
        return [App(r[0], r[1], r[2], r[3], _dj(r[4])) for r in rows], total

    def create_token(self, account_id: str, permission: str) -> tuple[str, str]:
        """Make a token; returns ``(token_id, token)``. Only the hash is stored."""
        token = new_token()
        token_id = new_uuid()
        with self.pool.write() as conn:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO tokens (id, account_id, permission, hash, created_ms) VALUES (?, ?, ?, ?, ?)",
                (token_id, account_id, permission, hash_token(token), now_ms()),
            )
        return token_id, token

    def revoke_token(self, token_or_id: str) -> bool:
        with self.pool.write() as conn:
            cur = conn.execute(
                "UPDATE tokens SET revoked_ms = ? WHERE (id = ? OR hash = ?) AND revoked_ms IS NULL",
                (now_ms(), token_or_id, hash_token(token_or_id)),
            )
            return cur.rowcount > 0

    def list_tokens(self, account_id: str) -> list[tuple[str, str, int, int | None]]:
        rows = (
            self.pool.get()
            .execute(
                "SELECT id, permission, created_ms, revoked_ms FROM tokens WHERE account_id = ? ORDER BY created_ms",
                (account_id,),
            )
            .fetchall()
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def authenticate(self, token: str) -> Principal | None:
        row = (
            self.pool.get()
            .execute(
                "SELECT id, account_id, permission FROM tokens WHERE hash = ? AND revoked_ms IS NULL",
                (hash_token(token),),
            )
            .fetchone()
        )
        return Principal(row[0], row[1], row[2]) if row else None

    # -- meetings and recordings: rows <-> domain -------------------------------------------

    def _recording(self, row: Sequence[Any]) -> Recording:
        return Recording(
            id=row[0],
            app_id=row[1],
            meeting_id=row[2],
            status=row[3],
            invoked_ms=row[4],
            session_id=row[5],
            started_ms=row[6],
            stopped_ms=row[7],
            download_url=row[8],
            audio_download_url=row[9],
            download_url_expiry_ms=row[10],
            file_size=row[11],
            output_file_name=row[12],
            recording_duration=row[13],
            storage_config=_dj(row[14]),
            storage_secrets=None,  # decrypted only where a destination needs them
            start_reason=_dj(row[16]),
            stop_reason=_dj(row[17]),
        )

    @staticmethod
    def _meeting(row: Sequence[Any]) -> Meeting:
        return Meeting(
            id=row[0],
            app_id=row[1],
            created_ms=row[2],
            updated_ms=row[3],
            title=row[4],
            status=row[5],
            record_on_start=bool(row[6]),
            live_stream_on_start=bool(row[7]),
            persist_chat=bool(row[8]),
            summarize_on_end=bool(row[9]),
            transcribe_on_end=_bool(row[10]),
            session_keep_alive_time_in_secs=row[11],
            recording_config=_dj(row[12]),
            ai_config=_dj(row[13]),
        )

    @staticmethod
    def _meeting_params(m: Meeting) -> tuple[Any, ...]:
        return (
            m.id,
            m.app_id,
            m.title,
            (m.title or "").casefold(),
            m.status,
            int(m.record_on_start),
            int(m.live_stream_on_start),
            int(m.persist_chat),
            int(m.summarize_on_end),
            None if m.transcribe_on_end is None else int(m.transcribe_on_end),
            m.session_keep_alive_time_in_secs,
            _j(m.recording_config),
            _j(m.ai_config),
            m.created_ms,
            m.updated_ms,
            render.meeting_json(m),
        )

    def _recording_params(self, r: Recording, updated: int) -> tuple[Any, ...]:
        secrets = self.cipher.encrypt_json(r.storage_secrets) if r.storage_secrets else None
        return (
            r.id,
            r.app_id,
            r.meeting_id,
            r.session_id,
            r.status,
            r.invoked_ms,
            r.started_ms,
            r.stopped_ms,
            r.download_url,
            r.audio_download_url,
            r.download_url_expiry_ms,
            r.file_size,
            r.output_file_name,
            r.recording_duration,
            _j(r.storage_config),
            secrets,
            _j(r.start_reason),
            _j(r.stop_reason),
            updated,
            render.recording_item_json(r),
        )

    # -- import -------------------------------------------------------------------------------

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]:
        """Ids among these that already belong to another app (an import must not move them)."""
        return self._conflicts_in(self.pool.get(), app_id, list(recording_ids), list(meeting_ids))

    def import_recordings(self, app_id: str, items: Iterable[tuple[Recording, Meeting]]) -> int:
        """Insert or update recordings and their meetings in one transaction; returns rows written."""
        recordings: dict[str, Recording] = {}
        meetings: dict[str, Meeting] = {}
        for rec, meeting in items:
            recordings[rec.id] = rec
            meetings[meeting.id] = meeting
        if not recordings:
            return 0
        stamp = now_ms()
        with self.pool.write() as conn:
            clash = self._conflicts_in(conn, app_id, list(recordings), list(meetings))
            if clash:
                raise InvalidRequest(f"id {sorted(clash)[0]} belongs to another app")
            self._upsert_meetings(conn, list(meetings.values()))
            deltas: Counter[tuple[str, str, int]] = Counter()
            ids = list(recordings)
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for status, invoked, expiry in conn.execute(
                    f"SELECT status, invoked_ms, expiry_ms FROM recordings WHERE id IN ({marks})", chunk
                ):
                    for key in counter_keys(status, invoked, expiry):
                        deltas[key] -= 1
            for rec in recordings.values():
                for key in counter_keys(rec.status, rec.invoked_ms, rec.download_url_expiry_ms):
                    deltas[key] += 1
            conn.executemany(
                "INSERT INTO recordings (id, app_id, meeting_id, session_id, status, invoked_ms, started_ms, "
                "stopped_ms, download_url, audio_download_url, expiry_ms, file_size, output_file_name, "
                "recording_duration, storage_config, storage_secrets, start_reason, stop_reason, updated_ms, wire) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "meeting_id=excluded.meeting_id, session_id=excluded.session_id, status=excluded.status, "
                "invoked_ms=excluded.invoked_ms, started_ms=excluded.started_ms, stopped_ms=excluded.stopped_ms, "
                "download_url=excluded.download_url, audio_download_url=excluded.audio_download_url, "
                "expiry_ms=excluded.expiry_ms, file_size=excluded.file_size, "
                "output_file_name=excluded.output_file_name, recording_duration=excluded.recording_duration, "
                "storage_config=excluded.storage_config, storage_secrets=excluded.storage_secrets, "
                "start_reason=excluded.start_reason, stop_reason=excluded.stop_reason, "
                "updated_ms=excluded.updated_ms, wire=excluded.wire",
                [self._recording_params(r, stamp) for r in recordings.values()],
            )
            self._apply_deltas(conn, app_id, deltas)
        return len(recordings)

    def _conflicts_in(
        self, conn: sqlite3.Connection, app_id: str, recording_ids: list[str], meeting_ids: list[str]
    ) -> set[str]:
        found: set[str] = set()
        for table, ids in (("recordings", recording_ids), ("meetings", meeting_ids)):
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT id FROM {table} WHERE id IN ({marks}) AND app_id != ?", [*chunk, app_id]
                    )
                )
        return found

    def _upsert_meetings(self, conn: sqlite3.Connection, meetings: list[Meeting]) -> None:
        existing: dict[str, tuple[Any, ...]] = {}
        ids = [m.id for m in meetings]
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                "SELECT id, app_id, title, title_folded, status, record_on_start, live_stream_on_start, "
                "persist_chat, summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, "
                f"recording_config, ai_config, created_ms, updated_ms, wire FROM meetings WHERE id IN ({marks})",
                chunk,
            ):
                existing[row[0]] = tuple(row)
        inserts, updates = [], []
        for m in meetings:
            params = self._meeting_params(m)
            old = existing.get(m.id)
            if old is None:
                inserts.append(params)
            elif old != params:
                updates.append((*params[2:], m.id))
        if inserts:
            conn.executemany(
                "INSERT INTO meetings (id, app_id, title, title_folded, status, record_on_start, "
                "live_stream_on_start, persist_chat, summarize_on_end, transcribe_on_end, "
                "session_keep_alive_time_in_secs, recording_config, ai_config, created_ms, updated_ms, wire) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                inserts,
            )
        if updates:
            conn.executemany(
                "UPDATE meetings SET title=?, title_folded=?, status=?, record_on_start=?, "
                "live_stream_on_start=?, persist_chat=?, summarize_on_end=?, transcribe_on_end=?, "
                "session_keep_alive_time_in_secs=?, recording_config=?, ai_config=?, created_ms=?, "
                "updated_ms=?, wire=? WHERE id=?",
                updates,
            )

    @staticmethod
    def _apply_deltas(conn: sqlite3.Connection, app_id: str, deltas: Counter[tuple[str, str, int]]) -> None:
        rows = [(app_id, dim, status, bucket, n) for (dim, status, bucket), n in deltas.items() if n]
        if rows:
            conn.executemany(
                "INSERT INTO recording_counts (app_id, dim, status, bucket, n) VALUES (?,?,?,?,?) "
                "ON CONFLICT(app_id, dim, status, bucket) DO UPDATE SET n = n + excluded.n",
                rows,
            )

    # -- list ---------------------------------------------------------------------------------

    def list_recordings(self, app_id: str, query: RecordingQuery, now_ms: int) -> tuple[list[bytes], int]:
        """One page of list items as ready JSON (each with its meeting), and the exact total."""
        conn = self.pool.get()
        filters = self._filters(conn, app_id, query, now_ms)
        if filters is None:
            return [], 0
        total = self._count(conn, app_id, query, now_ms, filters)
        page = query.page
        if total == 0 or page.offset >= total:
            return [], total
        limit = min(page.per_page, total - page.offset)
        order = "ASC" if query.ascending else "DESC"
        inner, inner_params = self._page_seqs(conn, app_id, query, filters, order, limit, page.offset, total)
        sql = (
            "SELECT r.wire, m.wire, r.seq, m.seq FROM recordings r LEFT JOIN meetings m ON m.id = r.meeting_id "
            f"WHERE r.seq IN ({inner}) ORDER BY r.invoked_ms {order}, r.id {order}"
        )
        splice = render.splice_meeting
        out = []
        for rec_wire, meeting_wire, rec_seq, meeting_seq in conn.execute(sql, inner_params):
            if rec_wire is None or (meeting_wire is None and meeting_seq is not None):
                rec_wire, meeting_wire = self._render_now(conn, rec_seq, meeting_seq)
            out.append(splice(rec_wire, meeting_wire))
        return out, total

    def _render_now(
        self, conn: sqlite3.Connection, rec_seq: int, meeting_seq: int | None
    ) -> tuple[bytes, bytes | None]:
        """Rows written before renderings were kept (an older schema) are rendered on the fly."""
        row = conn.execute(f"SELECT {REC_COLUMNS} FROM recordings WHERE seq = ?", (rec_seq,)).fetchone()
        rec_wire = render.recording_item_json(self._recording(row))
        meeting_wire = None
        if meeting_seq is not None:
            mrow = conn.execute(f"SELECT {MEETING_COLUMNS} FROM meetings WHERE seq = ?", (meeting_seq,)).fetchone()
            meeting_wire = render.meeting_json(self._meeting(mrow))
        return rec_wire, meeting_wire

    def _filters(
        self, conn: sqlite3.Connection, app_id: str, q: RecordingQuery, now: int
    ) -> list[tuple[str, str, list[Any]]] | None:
        """The conditions over ``recordings r`` (beside app_id) as (kind, sql, params); None: no match."""
        out: list[tuple[str, str, list[Any]]] = []
        if q.meeting_id is not None:
            out.append(("meeting", "r.meeting_id = ?", [q.meeting_id]))
        if q.statuses and len(q.statuses) < len(RECORDING_STATUSES):
            out.append(("status", f"+r.status IN ({','.join('?' * len(q.statuses))})", list(q.statuses)))
        if q.start_ms is not None:
            out.append(("time", "r.invoked_ms >= ?", [q.start_ms]))
        if q.end_ms is not None:
            out.append(("time", "r.invoked_ms <= ?", [q.end_ms]))
        if q.expired is True:
            out.append(("expired", "r.expiry_ms <= ?", [now]))
        elif q.expired is False:
            out.append(("expired", "(r.expiry_ms IS NULL OR r.expiry_ms > ?)", [now]))
        if q.search is not None:
            meeting_ids = _json_encode(self._search_meetings(conn, app_id, q.search.folded, q.search.id_candidate))
            rec_id = q.search.id_candidate
            if meeting_ids == b"[]" and rec_id is None:
                return None
            by_meeting = (
                "SELECT seq FROM recordings INDEXED BY recordings_by_meeting "
                "WHERE app_id = ? AND meeting_id IN (SELECT value FROM json_each(?))"
            )
            if rec_id is not None:
                sql = f"r.seq IN ({by_meeting} UNION SELECT seq FROM recordings WHERE id = ? AND app_id = ?)"
                out.append(("search", sql, [app_id, meeting_ids.decode(), rec_id, app_id]))
            else:
                out.append(("search", f"r.seq IN ({by_meeting})", [app_id, meeting_ids.decode()]))
        return out

    @staticmethod
    def _search_meetings(conn: sqlite3.Connection, app_id: str, folded: str, id_candidate: str | None) -> list[str]:
        if len(folded) >= 3:
            phrase = '"' + folded.replace('"', '""') + '"'
            rows = conn.execute(
                "SELECT id FROM meetings WHERE seq IN (SELECT rowid FROM meetings_fts WHERE meetings_fts MATCH ?) "
                "AND app_id = ? AND instr(title_folded, ?) > 0",
                (phrase, app_id, folded),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id FROM meetings INDEXED BY meetings_by_app WHERE app_id = ? AND instr(title_folded, ?) > 0",
                (app_id, folded),
            ).fetchall()
        ids = [r[0] for r in rows]
        if id_candidate is not None and id_candidate not in ids:
            row = conn.execute("SELECT id FROM meetings WHERE id = ? AND app_id = ?", (id_candidate, app_id)).fetchone()
            if row:
                ids.append(row[0])
        return ids

    # -- counting -----------------------------------------------------------------------------

    def _count(
        self,
        conn: sqlite3.Connection,
        app_id: str,
        q: RecordingQuery,
        now: int,
        filters: list[tuple[str, str, list[Any]]],
    ) -> int:
        statuses = q.statuses or RECORDING_STATUSES
        if q.meeting_id is None and q.search is None:
            if q.expired is None:
                if not q.has_time_range:
                    return self._sum(conn, app_id, "T", statuses, None)
                start = MIN_MS if q.start_ms is None else q.start_ms
                end = MAX_MS if q.end_ms is None else q.end_ms
                return self._count_range(conn, app_id, "i", statuses, start, end)
            if not q.has_time_range:
                expired = self._count_range(conn, app_id, "e", statuses, MIN_MS, now)
                return expired if q.expired else self._sum(conn, app_id, "T", statuses, None) - expired
        # One meeting or a search: few rows, counted exactly from the index.
        where, params = _join(filters)
        sql = "SELECT COUNT(*) FROM recordings r WHERE r.app_id = ?" + where
        return int(conn.execute(sql, [app_id, *params]).fetchone()[0])

    @staticmethod
    def _sum(
        conn: sqlite3.Connection,
        app_id: str,
        dim: str,
        statuses: Sequence[str],
        buckets: tuple[int, int] | None,
    ) -> int:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT COALESCE(SUM(n), 0) FROM recording_counts WHERE app_id = ? AND dim = ? AND status IN ({marks})"
        params: list[Any] = [app_id, dim, *statuses]
        if buckets is not None:
            sql += " AND bucket >= ? AND bucket < ?"
            params.extend(buckets)
        return int(conn.execute(sql, params).fetchone()[0])

    def _count_range(
        self, conn: sqlite3.Connection, app_id: str, kind: str, statuses: Sequence[str], start: int, end: int
    ) -> int:
        """Recordings whose invoked time (kind "i") or expiry (kind "e") lies in [start, end]."""
        plan = plan_range(start, end)
        total = 0
        for span in plan.days:
            total += self._sum(conn, app_id, kind + "D", statuses, span)
        for span in plan.hours:
            total += self._sum(conn, app_id, kind + "H", statuses, span)
        column, index = ("invoked_ms", "recordings_by_time") if kind == "i" else ("expiry_ms", "recordings_by_expiry")
        status_sql = ""
        if len(statuses) < len(RECORDING_STATUSES):
            status_sql = f" AND status IN ({','.join('?' * len(statuses))})"
        for lo, hi in plan.exact:
            total += conn.execute(
                f"SELECT COUNT(*) FROM recordings INDEXED BY {index} WHERE app_id = ? AND {column} >= ? "
                f"AND {column} < ?{status_sql}",
                [app_id, lo, hi, *(statuses if status_sql else ())],
            ).fetchone()[0]
        return total

    # -- choosing how to walk to the page -----------------------------------------------------

    def _page_seqs(
        self,
        conn: sqlite3.Connection,
        app_id: str,
        q: RecordingQuery,
        filters: list[tuple[str, str, list[Any]]],
        order: str,
        limit: int,
        offset: int,
        total: int,
    ) -> tuple[str, list[Any]]:
        """A subquery yielding the page's row ids, walking the index that suits the filter at hand."""
        tail = f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ? OFFSET ?"
        where, params = _join(filters)
        index = "INDEXED BY recordings_by_time"
        if q.search is not None:
            index = ""  # the search already names the rows; they are few and get sorted
        elif q.meeting_id is not None:
            index = "INDEXED BY recordings_by_meeting"
        elif q.statuses and len(q.statuses) < len(RECORDING_STATUSES) and offset + limit <= _UNION_LIMIT:
            # One ordered walk of the status index per status, merged: each reads offset+limit rows at most.
            parts: list[str] = []
            union_params: list[Any] = []
            for status in q.statuses:
                per_status = [f if f[0] != "status" else ("status", "r.status = ?", [status]) for f in filters]
                branch_where, branch_params = _join(per_status)
                parts.append(
                    "SELECT * FROM (SELECT r.seq, r.invoked_ms, r.id FROM recordings r INDEXED BY "
                    f"recordings_by_status WHERE r.app_id = ?{branch_where} "
                    f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ?)"
                )
                union_params.extend([app_id, *branch_params, offset + limit])
            return (
                f"SELECT seq FROM ({' UNION ALL '.join(parts)}) ORDER BY invoked_ms {order}, id {order} "
                "LIMIT ? OFFSET ?",
                [*union_params, limit, offset],
            )
        elif (
            q.expired is not None
            and not q.has_time_range
            and total * 20 < self._sum(conn, app_id, "T", RECORDING_STATUSES, None)
        ):
            # Sparse matches: walk the expiry index and sort them; dense ones: walk by time and filter.
            index = "INDEXED BY recordings_by_expiry"
        return (
            f"SELECT r.seq FROM recordings r {index} WHERE r.app_id = ?{where} {tail}",
            [app_id, *params, limit, offset],
        )


def _join(filters: list[tuple[str, str, list[Any]]]) -> tuple[str, list[Any]]:
    where = "".join(" AND " + sql for _, sql, _ in filters)
    params = [p for _, _, ps in filters for p in ps]
    return where, params
