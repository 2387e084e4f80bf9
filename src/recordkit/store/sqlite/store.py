"""``SqliteRecordingStore``: the ``RecordingStore`` port on the stdlib ``sqlite3`` driver.

Reads run on the calling thread's own connection (WAL: readers never wait for the writer). Every
write runs in one ``BEGIN IMMEDIATE`` transaction that also keeps ``recording_counts`` in step,
so ``total_count`` is exact without scanning (see ``recordkit.domain.counting``).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.counting import HOUR_MS, add_grouped, counter_keys, lapse_cut, plan_range
from recordkit.domain.ids import new_account_id, new_uuid
from recordkit.domain.models import (
    DETAIL_DEFAULTS,
    DETAIL_FIELDS,
    RECORDING_STATUSES,
    Account,
    App,
    Meeting,
    Principal,
    Recording,
    split_storage_config,
)
from recordkit.domain.opsview import OpsQueries
from recordkit.domain.query import Page, RecordingQuery
from recordkit.domain.timefmt import MAX_MS, MIN_MS, now_ms, parse_iso_ms
from recordkit.errors import InvalidRequest, NotFound
from recordkit.security.cipher import SecretCipher
from recordkit.security.tokens import hash_token, new_token
from recordkit.store.sqlite import staging
from recordkit.store.sqlite.connection import ConnectionPool
from recordkit.store.sqlite.meetings import SqliteMeetings
from recordkit.store.sqlite.ops import SqliteOps
from recordkit.store.sqlite.recordings import SqliteRecordings
from recordkit.store.sqlite.webhooks import SqliteWebhooks

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode

MEETING_COLUMNS = (
    "id, app_id, created_ms, updated_ms, title, status, record_on_start, live_stream_on_start, "
    "persist_chat, summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, "
    "recording_config, ai_config"
)
_RECORDING_UPDATE = ", ".join(
    f"{c}=excluded.{c}"
    for c in ("meeting_id", "status", "invoked_ms", "expiry_ms", "wire", "detail", "secrets", "updated_ms", "lapsed")
)
_MEETING_UPDATE = ", ".join(
    f"{c}=excluded.{c}" for c in (x.strip() for x in staging.MEETING_COLUMNS.split(",")) if c not in ("id", "app_id")
)
# The hour bucket of a column in SQL (floor division, also for times before 1970).
_HOUR_SQL = f"({{c}} - ({{c}} < 0) * {HOUR_MS - 1}) / {HOUR_MS}"

# Above this many rows to skip, a per-status merge costs more than one scan of the time index.
_UNION_LIMIT = 5000
# Up to this many matches, fetching them and sorting beats walking an index in order.
_SORT_LIMIT = 5000
# Up to this offset a page is read during the index walk; deeper, the walk collects row ids first.
_DIRECT_OFFSET = 200
_CHUNK = 500


def _j(value: Any) -> bytes | None:
    return None if value is None else _json_encode(value)


def _dj(value: bytes | str | None) -> Any:
    return None if value is None else _json_decode(value)


def _opt_ms(value: str | None) -> int | None:
    return None if value is None else parse_iso_ms(value, "time")


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class SqliteRecordingStore(SqliteRecordings, SqliteMeetings, SqliteWebhooks):
    """The default metadata store: one SQLite file under the data dir."""

    def __init__(self, path: Path, cipher: SecretCipher) -> None:
        self.pool = ConnectionPool(path)
        self.cipher = cipher
        self._app_seqs: dict[str, int] = {}

    def app_seq(self, app_id: str) -> int:
        """The app's compact key in the recordings tables (ids never change, so it is cached)."""
        seq = self._app_seqs.get(app_id)
        if seq is None:
            row = self.pool.get().execute("SELECT seq FROM apps WHERE id = ?", (app_id,)).fetchone()
            if row is None:
                raise NotFound(f"app {app_id} not found")
            seq = self._app_seqs[app_id] = int(row[0])
        return seq

    def close(self) -> None:
        self.pool.close()

    def ops_queries(self) -> OpsQueries:
        """Readiness and the metrics' numbers, read through this store's pool."""
        return SqliteOps(self)

    def reset_connections(self) -> None:
        """In a forked child: drop inherited connections (unsafe across fork) and open fresh ones."""
        self.pool = ConnectionPool(self.pool.path)

    # -- accounts, apps, tokens -------------------------------------------------------------

    def create_account(self, account_id: str | None = None) -> Account:
        account = Account(id=account_id or new_account_id(), created_ms=now_ms())
        with self.pool.write() as conn:
            conn.execute("INSERT INTO accounts (id, created_ms) VALUES (?, ?)", (account.id, account.created_ms))
        return account

    def has_accounts(self) -> bool:
        return self.pool.get().execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def get_account(self, account_id: str) -> Account | None:
        row = self.pool.get().execute("SELECT id, created_ms FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return Account(*row) if row else None

    def create_app(self, account_id: str, name: str, app_id: str | None = None) -> App:
        app = App(id=app_id or new_uuid(), account_id=account_id, name=name, created_ms=now_ms())
        with self.pool.write() as conn:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO apps (id, account_id, name, created_ms) VALUES (?, ?, ?, ?)",
                (app.id, app.account_id, app.name, app.created_ms),
            )
        return app

    def set_app_recording_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """The app's default recording config (meetings and start bodies override it)."""
        with self.pool.write() as conn:
            cur = conn.execute("UPDATE apps SET recording_config = ? WHERE id = ?", (self._seal(config), app_id))
            if cur.rowcount == 0:
                raise NotFound(f"app {app_id} not found")

    def get_app(self, app_id: str) -> App | None:
        row = (
            self.pool.get()
            .execute("SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE id = ?", (app_id,))
            .fetchone()
        )
        return App(row[0], row[1], row[2], row[3], self._unseal(row[4])) if row else None

    def app_version(self, app_id: str) -> tuple[str, int] | None:
        row = self.pool.get().execute("SELECT account_id, version FROM apps WHERE id = ?", (app_id,)).fetchone()
        return (row[0], row[1]) if row else None

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
        return [App(r[0], r[1], r[2], r[3], self._unseal(r[4])) for r in rows], total

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

    @staticmethod
    def _recording(rec_id: str, app_id: str, meeting_id: str, wire: bytes, detail: bytes | None) -> Recording:
        """A recording from its stored rendering and detail (secrets stay encrypted, unread)."""
        w = _json_decode(wire)
        d = _json_decode(detail) if detail else {}
        return Recording(
            id=rec_id,
            app_id=app_id,
            meeting_id=meeting_id,
            status=w["status"],
            invoked_ms=parse_iso_ms(w["invoked_time"], "invoked_time"),
            session_id=w["session_id"],
            started_ms=_opt_ms(w["started_time"]),
            stopped_ms=_opt_ms(w["stopped_time"]),
            download_url=w["download_url"],
            audio_download_url=w["audio_download_url"],
            download_url_expiry_ms=_opt_ms(w["download_url_expiry"]),
            file_size=w["file_size"],
            output_file_name=w["output_file_name"],
            recording_duration=w["recording_duration"],
            storage_config=w["storage_config"],
            **{k: d[k] for k in DETAIL_FIELDS if k in d},
        )

    def _seal(self, config: dict[str, Any] | None) -> bytes | None:
        """A recording config for storage: its storage secrets encrypted (under ``$secrets``)."""
        if config is None:
            return None
        storage = config.get("storage_config")
        if not isinstance(storage, dict):
            return _j(config)
        public, secrets = split_storage_config(storage)
        if secrets:
            public = {**(public or {}), "$secrets": self.cipher.encrypt_json(secrets).decode()}
        return _j({**config, "storage_config": public})

    def _unseal(self, stored: bytes | str | None) -> dict[str, Any] | None:
        config = _dj(stored)
        storage = config.get("storage_config") if isinstance(config, dict) else None
        if isinstance(storage, dict) and "$secrets" in storage:
            storage = dict(storage)
            sealed = storage.pop("$secrets")
            opened = self.cipher.decrypt_json(sealed.encode())
            config["storage_config"] = {**storage, **(opened if isinstance(opened, dict) else {})}
        return config  # type: ignore[no-any-return]

    def _meeting(self, row: Sequence[Any]) -> Meeting:
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
            recording_config=self._unseal(row[12]),
            ai_config=_dj(row[13]),
        )

    def meeting_row(self, m: Meeting) -> tuple[Any, ...]:
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
            self._seal(m.recording_config),
            _j(m.ai_config),
            m.created_ms,
            m.updated_ms,
            render.meeting_json(m),
        )

    def recording_row(self, r: Recording, updated: int, app: int, wire: bytes | None = None) -> tuple[Any, ...]:
        """The stored row of a recording (columns as ``staging.RECORDING_COLUMNS``)."""
        secrets = self.cipher.encrypt_json(r.storage_secrets) if r.storage_secrets else None
        detail = {k: v for k in DETAIL_FIELDS if (v := getattr(r, k)) is not None and v != DETAIL_DEFAULTS.get(k, ...)}
        return (
            r.id,
            app,
            r.meeting_id,
            r.status,
            r.invoked_ms,
            r.download_url_expiry_ms,
            wire if wire is not None else render.recording_item_json(r),
            _json_encode(detail) if detail else None,
            secrets,
            updated,
        )

    # -- import -------------------------------------------------------------------------------

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]:
        """Ids among these that already belong to another app (an import must not move them)."""
        return self._conflicts_in(self.pool.get(), app_id, list(recording_ids), list(meeting_ids))

    def import_recordings(self, app_id: str, items: Iterable[tuple[Recording, Meeting]]) -> int:
        """Insert or update recordings and their meetings; the last of an id wins. Returns rows written."""
        app = self.app_seq(app_id)
        stamp = now_ms()
        recordings: dict[str, tuple[Any, ...]] = {}
        meetings: dict[str, tuple[Any, ...]] = {}
        for rec, meeting in items:
            recordings.pop(rec.id, None)
            recordings[rec.id] = self.recording_row(rec, stamp, app)
            meetings[meeting.id] = self.meeting_row(meeting)
        if not recordings:
            return 0
        clash = self.conflicting_ids(app_id, list(recordings), list(meetings))
        if clash:
            raise InvalidRequest(f"id {sorted(clash)[0]} belongs to another app")
        with tempfile.TemporaryDirectory(prefix="recordkit-import-") as scratch:
            stage = staging.Staging(Path(scratch) / "staging.sqlite3")
            try:
                stage.add(list(recordings.values()), list(meetings.values()))
            finally:
                stage.finish()
            return self.import_staged(app_id, [stage.path])

    def import_staged(
        self,
        app_id: str,
        parts: Sequence[Path],
        batch: int = 100_000,
        progress: Callable[[int], None] | None = None,
        disjoint: bool = False,
    ) -> int:
        """Move an import's staged rows (``recordkit.store.sqlite.staging`` files, in file order) in,
        a batch per transaction; a later part's row of an id wins over an earlier part's.

        Per part: meetings first (all of them, changed ones only, so the title index is not churned),
        then recordings in ``invoked_time`` order; counters follow in the same transaction as the
        rows. The WAL is copied into the database once, at the end. ``disjoint``: no recording id is
        in two parts (then into an empty app, no batch replaces a row unless someone else wrote).
        """
        app = self.app_seq(app_id)
        conn = self.pool.get()
        # Batches touch the same index pages again and again: copy them into the database file once,
        # at the end, rather than after every batch (the WAL grows meanwhile; readers are unaffected).
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA cache_size=-1048576")
        written = 0
        try:
            before = self._sum(conn, app, "T", RECORDING_STATUSES, None)
            for part in parts:
                if not disjoint:
                    before = self._sum(conn, app, "T", RECORDING_STATUSES, None)
                conn.execute("ATTACH DATABASE ? AS staging", (str(part),))
                try:
                    written += self._import_part(conn, app, batch, progress, before, written if disjoint else 0)
                finally:
                    conn.execute("DETACH DATABASE staging")
            return written
        finally:
            conn.execute("PRAGMA wal_autocheckpoint=1000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _import_part(
        self,
        conn: sqlite3.Connection,
        app: int,
        batch: int,
        progress: Callable[[int], None] | None,
        before: int,
        prior: int,
    ) -> int:
        """One staging file's rows. ``before``: the app's rows before the import (or this part);
        ``prior``: rows this import wrote before this part that are counted in the app's total."""
        meeting_columns, recording_columns = staging.MEETING_COLUMNS, staging.RECORDING_COLUMNS
        by_time = f"INDEXED BY {staging.BY_TIME}"
        with self.pool.write():
            conn.execute(
                f"INSERT INTO meetings ({meeting_columns}) SELECT {meeting_columns} FROM staging.meet "
                "WHERE rowid IN (SELECT MAX(rowid) FROM staging.meet GROUP BY id) "
                "ON CONFLICT(id) DO UPDATE SET " + _MEETING_UPDATE + " WHERE meetings.wire IS NOT excluded.wire"
            )
        # Batches are runs of invoked_time across the whole part, so the time-ordered indexes grow at
        # their ends instead of being touched everywhere by every batch.
        edges: list[int] = []
        for index, (invoked,) in enumerate(
            conn.execute(f"SELECT invoked_ms FROM staging.rec {by_time} ORDER BY invoked_ms")
        ):
            if index % batch == 0 and (not edges or invoked > edges[-1]):
                edges.append(invoked)
        written = 0
        ends = [*edges[1:], MAX_MS + 1] if edges else []  # no edges: nothing was staged
        for window in zip(edges, ends, strict=True):
            with self.pool.write():
                deltas: Counter[tuple[str, str, int]] = Counter()
                # Rows replaced by this batch leave their counters. When the app holds nothing but
                # this import's earlier batches (checked inside this transaction), none can be.
                if before or self._sum(conn, app, "T", RECORDING_STATUSES, None) != prior + written:
                    for status, invoked, expiry in conn.execute(
                        f"SELECT r.status, r.invoked_ms, r.expiry_ms FROM staging.rec s {by_time} JOIN recordings r "
                        "ON s.id = r.id WHERE s.invoked_ms >= ? AND s.invoked_ms < ? AND s.dup = 0",
                        window,
                    ):
                        for key in counter_keys(status, invoked, expiry):
                            deltas[key] -= 1
                # The batch's own counters from one grouped walk of the staging index: (status,
                # invoked hour, expiry hour).
                rows = 0
                for status, ih, eh, n in conn.execute(
                    f"SELECT status, {_HOUR_SQL.format(c='invoked_ms')}, {_HOUR_SQL.format(c='expiry_ms')}, "
                    f"COUNT(*) FROM staging.rec {by_time} WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 "
                    "GROUP BY 1, 2, 3",
                    window,
                ):
                    rows += n
                    add_grouped(deltas, status, ih, eh, n)
                cur = conn.execute(
                    f"INSERT INTO recordings ({recording_columns}, lapsed) SELECT {recording_columns}, "
                    f"expiry_ms IS NOT NULL AND expiry_ms < ? FROM staging.rec {by_time} "
                    "WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 ORDER BY invoked_ms "
                    "ON CONFLICT(id) DO UPDATE SET " + _RECORDING_UPDATE,
                    (lapse_cut(now_ms()), *window),
                )
                written += cur.rowcount
                self._apply_deltas(conn, app, deltas)
                # New unmanaged rows fire no version trigger (one bump per batch, not per row).
                conn.execute("UPDATE apps SET version = version + 1 WHERE seq = ?", (app,))
            if progress is not None:
                progress(rows)
        return written

    def _conflicts_in(
        self, conn: sqlite3.Connection, app_id: str, recording_ids: list[str], meeting_ids: list[str]
    ) -> set[str]:
        found: set[str] = set()
        app = self._app_seqs.get(app_id) or self.app_seq(app_id)
        for table, column, owner, ids in (
            ("recordings", "app", app, recording_ids),
            ("meetings", "app_id", app_id, meeting_ids),
        ):
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT id FROM {table} WHERE id IN ({marks}) AND {column} != ?", [*chunk, owner]
                    )
                )
        return found

    @staticmethod
    def _apply_deltas(conn: sqlite3.Connection, app: int, deltas: Counter[tuple[str, str, int]]) -> None:
        rows = [(app, dim, status, bucket, n) for (dim, status, bucket), n in deltas.items() if n]
        if rows:
            conn.executemany(
                "INSERT INTO recording_counts (app, dim, status, bucket, n) VALUES (?,?,?,?,?) "
                "ON CONFLICT(app, dim, status, bucket) DO UPDATE SET n = n + excluded.n",
                rows,
            )

    # -- list ---------------------------------------------------------------------------------

    def list_recordings(self, app_id: str, query: RecordingQuery, now_ms: int) -> tuple[list[bytes], int]:
        """One page of list items as ready JSON (each with its meeting), and the exact total."""
        conn = self.pool.get()
        app = self.app_seq(app_id)
        filters = self._filters(conn, app_id, app, query, now_ms)
        if filters is None:
            return [], 0
        total = self._count(conn, app, query, now_ms, filters)
        page = query.page
        if total == 0 or page.offset >= total:
            return [], total
        limit = min(page.per_page, total - page.offset)
        order = "ASC" if query.ascending else "DESC"
        inner, inner_params = self._page_seqs(conn, app, query, filters, order, limit, page.offset, total)
        walk = "SELECT r.seq FROM recordings r INDEXED BY "
        if inner.startswith(walk) and page.offset <= _DIRECT_OFFSET:
            # A shallow page of an ordered index walk: read the rows on the way, no second pass.
            index, _, rest = inner[len(walk) :].partition(" ")
            sql = (
                f"SELECT r.wire, m.wire FROM recordings r INDEXED BY {index} "
                f"LEFT JOIN meetings m ON m.id = r.meeting_id {rest}"
            )
        else:
            sql = (
                "SELECT r.wire, m.wire FROM recordings r LEFT JOIN meetings m ON m.id = r.meeting_id "
                f"WHERE r.seq IN ({inner}) ORDER BY r.invoked_ms {order}, r.id {order}"
            )
        splice = render.splice_meeting
        return [splice(rec_wire, meeting_wire) for rec_wire, meeting_wire in conn.execute(sql, inner_params)], total

    def _filters(
        self, conn: sqlite3.Connection, app_id: str, app: int, q: RecordingQuery, now: int
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
            meeting_ids = self._search_meetings(conn, app_id, q.search.folded, q.search.id_candidate)
            rec_id = q.search.id_candidate
            if not meeting_ids and rec_id is None:
                return None
            ids_json = _json_encode(meeting_ids).decode()
            if rec_id is not None:
                sql = "(r.meeting_id IN (SELECT value FROM json_each(?)) OR r.id = ?)"
                out.append(("search", sql, [ids_json, rec_id]))
            else:
                out.append(("search", "r.meeting_id IN (SELECT value FROM json_each(?))", [ids_json]))
        return out

    @staticmethod
    def _search_meetings(conn: sqlite3.Connection, app_id: str, folded: str, id_candidate: str | None) -> list[str]:
        # FTS5's query parser stops at a NUL ("unterminated string"): such searches take the scan below.
        if len(folded) >= 3 and "\x00" not in folded:
            phrase = '"' + folded.replace('"', '""') + '"'
            # CROSS JOIN keeps this order: from the few title matches to their rows, never the other way.
            rows = conn.execute(
                "SELECT m.id FROM meetings_fts f CROSS JOIN meetings m ON m.seq = f.rowid "
                "WHERE meetings_fts MATCH ? AND m.app_id = ? AND instr(m.title_folded, ?) > 0",
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
        app: int,
        q: RecordingQuery,
        now: int,
        filters: list[tuple[str, str, list[Any]]],
    ) -> int:
        statuses = q.statuses or RECORDING_STATUSES
        if q.meeting_id is None and q.search is None:
            if q.expired is None:
                if not q.has_time_range:
                    return self._sum(conn, app, "T", statuses, None)
                start = MIN_MS if q.start_ms is None else q.start_ms
                end = MAX_MS if q.end_ms is None else q.end_ms
                return self._count_range(conn, app, "i", statuses, start, end)
            if not q.has_time_range:
                expired = self._count_range(conn, app, "e", statuses, MIN_MS, now)
                return expired if q.expired else self._sum(conn, app, "T", statuses, None) - expired
        if q.search is not None:
            return self._count_search(conn, app, filters)
        # One meeting: few rows, counted exactly from its index.
        where, params = _join(filters)
        sql = "SELECT COUNT(*) FROM recordings r INDEXED BY recordings_by_meeting WHERE r.app = ?" + where
        return int(conn.execute(sql, [app, *params]).fetchone()[0])

    @staticmethod
    def _count_search(conn: sqlite3.Connection, app: int, filters: list[tuple[str, str, list[Any]]]) -> int:
        """Matches of the named meetings (from the meeting index), plus the recording named by id."""
        search = next(f for f in filters if f[0] == "search")
        others = [f for f in filters if f[0] != "search"]
        where, params = _join(others)
        ids_json = search[2][0]
        total = conn.execute(
            "SELECT COUNT(*) FROM recordings r INDEXED BY recordings_by_meeting WHERE r.app = ? "
            f"AND r.meeting_id IN (SELECT value FROM json_each(?)){where}",
            [app, ids_json, *params],
        ).fetchone()[0]
        if len(search[2]) > 1:  # also the recording whose id is the search string, unless counted already
            total += conn.execute(
                "SELECT COUNT(*) FROM recordings r WHERE r.id = ? AND r.app = ? "
                f"AND r.meeting_id NOT IN (SELECT value FROM json_each(?)){where}",
                [search[2][1], app, ids_json, *params],
            ).fetchone()[0]
        return int(total)

    @staticmethod
    def _sum(
        conn: sqlite3.Connection,
        app: int,
        dim: str,
        statuses: Sequence[str],
        buckets: tuple[int, int] | None,
    ) -> int:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT COALESCE(SUM(n), 0) FROM recording_counts WHERE app = ? AND dim = ? AND status IN ({marks})"
        params: list[Any] = [app, dim, *statuses]
        if buckets is not None:
            sql += " AND bucket >= ? AND bucket < ?"
            params.extend(buckets)
        return int(conn.execute(sql, params).fetchone()[0])

    def _count_range(
        self, conn: sqlite3.Connection, app: int, kind: str, statuses: Sequence[str], start: int, end: int
    ) -> int:
        """Recordings whose invoked time (kind "i") or expiry (kind "e") lies in [start, end]."""
        plan = plan_range(start, end)
        total = 0
        for span in plan.days:
            total += self._sum(conn, app, kind + "D", statuses, span)
        for span in plan.hours:
            total += self._sum(conn, app, kind + "H", statuses, span)
        status_sql = ""
        if len(statuses) < len(RECORDING_STATUSES):
            status_sql = f" AND status IN ({','.join('?' * len(statuses))})"
        if kind == "i":
            column, scope = "invoked_ms", "INDEXED BY recordings_by_time WHERE app = ?"
        else:
            column, scope = "expiry_ms", "WHERE app = ?"
        for lo, hi in plan.exact:
            if kind == "e" and lo >= lapse_cut(now_ms()):
                # Lapsed rows expire before the cut: rows expiring after it are all in this index.
                scope = "INDEXED BY recordings_lapsing WHERE app = ? AND lapsed = 0 AND expiry_ms IS NOT NULL"
            total += conn.execute(
                f"SELECT COUNT(*) FROM recordings {scope} AND {column} >= ? AND {column} < ?{status_sql}",
                [app, lo, hi, *(statuses if status_sql else ())],
            ).fetchone()[0]
        return total

    # -- choosing how to walk to the page -----------------------------------------------------

    def _page_seqs(
        self,
        conn: sqlite3.Connection,
        app: int,
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
        if q.search is not None and total <= _SORT_LIMIT:
            # Few matches: fetch them by row id (the search named them) and sort them.
            search = next(f for f in filters if f[0] == "search")
            by_meeting = (
                "SELECT seq FROM recordings INDEXED BY recordings_by_meeting "
                "WHERE app = ? AND meeting_id IN (SELECT value FROM json_each(?))"
            )
            named: list[Any] = [app, search[2][0]]
            if len(search[2]) > 1:
                by_meeting += " UNION SELECT seq FROM recordings WHERE id = ? AND app = ?"
                named += [search[2][1], app]
            others = [f for f in filters if f[0] != "search"]
            where, params = _join(others)
            return (
                f"SELECT r.seq FROM recordings r WHERE +r.app = ? AND r.seq IN ({by_meeting}){where} {tail}",
                [app, *named, *params, limit, offset],
            )
        elif q.search is not None:
            pass  # many matches: walk by time and filter, like any dense filter
        elif q.meeting_id is not None:
            index = "INDEXED BY recordings_by_meeting"
        elif len(q.statuses) == 1 and offset + limit > _UNION_LIMIT:
            # A deep page of one status: its own index is in the right order already.
            others = [f if f[0] != "status" else ("status", "r.status = ?", list(q.statuses)) for f in filters]
            where, params = _join(others)
            index = "INDEXED BY recordings_by_status"
        elif q.statuses and len(q.statuses) < len(RECORDING_STATUSES) and offset + limit <= _UNION_LIMIT:
            # One ordered walk of the status index per status, merged: each reads offset+limit rows at most.
            parts: list[str] = []
            union_params: list[Any] = []
            for status in q.statuses:
                per_status = [f if f[0] != "status" else ("status", "r.status = ?", [status]) for f in filters]
                branch_where, branch_params = _join(per_status)
                parts.append(
                    "SELECT * FROM (SELECT r.seq, r.invoked_ms, r.id FROM recordings r INDEXED BY "
                    f"recordings_by_status WHERE r.app = ?{branch_where} "
                    f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ?)"
                )
                union_params.extend([app, *branch_params, offset + limit])
            return (
                f"SELECT seq FROM ({' UNION ALL '.join(parts)}) ORDER BY invoked_ms {order}, id {order} "
                "LIMIT ? OFFSET ?",
                [*union_params, limit, offset],
            )
        elif q.expired is True:
            # Expired = lapsed rows (their own index, in time order) + the few unlapsed rows whose
            # expiry has passed since the last sweep (the lapsing index, sorted): two walks merged.
            others = [f for f in filters if f[0] != "expired"]
            expiry = next(f for f in filters if f[0] == "expired")
            other_where, other_params = _join(others)
            cut = offset + limit
            return (
                "SELECT seq FROM ("
                "SELECT * FROM (SELECT r.seq, r.invoked_ms, r.id FROM recordings r INDEXED BY recordings_lapsed "
                f"WHERE r.app = ? AND r.lapsed = 1{other_where} ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ?) "
                "UNION ALL "
                "SELECT * FROM (SELECT r.seq, r.invoked_ms, r.id FROM recordings r INDEXED BY recordings_lapsing "
                f"WHERE r.app = ? AND r.lapsed = 0 AND r.expiry_ms IS NOT NULL AND {expiry[1]}{other_where} "
                f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ?)"
                f") ORDER BY invoked_ms {order}, id {order} LIMIT ? OFFSET ?",
                [app, *other_params, cut, app, *expiry[2], *other_params, cut, limit, offset],
            )
        return (
            f"SELECT r.seq FROM recordings r {index} WHERE r.app = ?{where} {tail}",
            [app, *params, limit, offset],
        )


def _join(filters: list[tuple[str, str, list[Any]]]) -> tuple[str, list[Any]]:
    where = "".join(" AND " + sql for _, sql, _ in filters)
    params = [p for _, _, ps in filters for p in ps]
    return where, params
