"""``PostgresRecordingStore``: the ``RecordingStore`` port on PostgreSQL (psycopg 3 + psycopg_pool).

The same schema concepts as the SQLite store (``recordkit.store.sqlite``): the app's compact key
(``apps.seq``), recordings kept as their wire rendering + detail + encrypted secrets, the exact
counters of ``recording_counts`` changed in the same transaction as every write
(``recordkit.domain.counting``), the ``lapsed`` flag for ``expired=true``, the per-app list
``version`` bumped by triggers, and a trigram index for meeting titles. Rows are encoded by the
SQLite store's own conversions (``SqliteRecordingStore.meeting_row`` / ``recording_row`` ...),
borrowed, so both stores hold the same bytes and encrypt secrets the same way.

Many processes may share one database: every write is one transaction (run again on a deadlock),
counter rows are changed in one global order, a recording is changed under its row lock, and the
unfinished recordings are claimed with ``FOR UPDATE SKIP LOCKED`` (``recordings.PgRecordings``).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from recordkit.domain import render
from recordkit.domain.counting import HOUR_MS, add_grouped, counter_keys, lapse_cut, plan_range
from recordkit.domain.ids import new_account_id, new_uuid
from recordkit.domain.models import RECORDING_STATUSES, Account, App, Meeting, Principal, Recording
from recordkit.domain.opsview import OpsQueries
from recordkit.domain.query import Page, RecordingQuery
from recordkit.domain.timefmt import MAX_MS, MIN_MS, now_ms
from recordkit.errors import InvalidRequest, NotFound
from recordkit.security.cipher import SecretCipher
from recordkit.security.tokens import hash_token, new_token
from recordkit.settings import DEFAULT_DATABASE_POOL_SIZE
from recordkit.store.postgres.connection import PgPool
from recordkit.store.postgres.meetings import PgMeetings, pg_meeting
from recordkit.store.postgres.ops import PgOps
from recordkit.store.postgres.recordings import PgRecordings
from recordkit.store.postgres.webhooks import PgWebhooks
from recordkit.store.sqlite import staging
from recordkit.store.sqlite.store import SqliteRecordingStore

Conn = psycopg.Connection[Any]
Filters = list[tuple[str, str, list[Any]]]

_RECORDING_COLUMNS = staging.RECORDING_COLUMNS
_RECORDING_TYPES = ["text", "int8", "text", "text", "int8", "int8", "bytea", "bytea", "bytea", "int8"]
_RECORDING_UPDATE = ", ".join(
    f"{c} = EXCLUDED.{c}"
    for c in ("meeting_id", "status", "invoked_ms", "expiry_ms", "wire", "detail", "secrets", "updated_ms", "lapsed")
)
# The hour bucket of a column (floor division, also for times before 1970), in SQLite and PostgreSQL.
_HOUR_SQL = f"({{c}} - ({{c}} < 0) * {HOUR_MS - 1}) / {HOUR_MS}"

# Above this many rows to skip, a per-status merge costs more than one walk of the time index.
_UNION_LIMIT = 5000
# Up to this many matches, fetching them and sorting beats walking an index in order.
_SORT_LIMIT = 5000
_CHUNK = 10_000
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _row_codec(cipher: SecretCipher) -> SqliteRecordingStore:
    """The SQLite store's row conversions (they use nothing but the cipher), without a database."""
    codec = SqliteRecordingStore.__new__(SqliteRecordingStore)
    codec.cipher = cipher
    return codec


def _join(filters: Filters) -> tuple[str, list[Any]]:
    where = "".join(" AND " + sql for _, sql, _ in filters)
    params = [p for _, _, ps in filters for p in ps]
    return where, params


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE, its wildcards and the escape character escaped."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def index_text(folded: str) -> str:
    """The folded title as the trigram index holds it (text cannot hold NUL)."""
    return folded.replace("\x00", "\ufffd")


class PostgresRecordingStore(PgRecordings, PgMeetings, PgWebhooks):
    """The metadata store for several processes: one PostgreSQL database (``--database-url``)."""

    def __init__(
        self, url: str, cipher: SecretCipher, *, migrate: bool = True, pool_size: int = DEFAULT_DATABASE_POOL_SIZE
    ) -> None:
        self.pool = PgPool(url, migrate=migrate, max_size=pool_size)
        self.cipher = cipher
        self._rows = _row_codec(cipher)
        self._app_seqs: dict[str, int] = {}

    def app_seq(self, app_id: str) -> int:
        """The app's compact key in the recordings tables (ids never change, so it is cached)."""
        seq = self._app_seqs.get(app_id)
        if seq is None:
            row = self.pool.fetchone("SELECT seq FROM apps WHERE id = %s", (app_id,))
            if row is None:
                raise NotFound(f"app {app_id} not found")
            seq = self._app_seqs[app_id] = int(row[0])
        return seq

    def close(self) -> None:
        self.pool.close()

    def ops_queries(self) -> OpsQueries:
        """Readiness and the metrics' numbers, read through this store's pool."""
        return PgOps(self)

    def reset_connections(self) -> None:
        """In a forked child: leave the parent's connections alone and open fresh ones."""
        self.pool.reset()

    # -- row conversions (the SQLite store's) -------------------------------------------------

    def meeting_row(self, m: Meeting) -> tuple[Any, ...]:
        """A meeting as ``staging.MEETING_COLUMNS`` (the importer stages these)."""
        return self._rows.meeting_row(m)

    def recording_row(self, r: Recording, updated: int, app: int, wire: bytes | None = None) -> tuple[Any, ...]:
        """A recording as ``staging.RECORDING_COLUMNS`` (the importer stages these)."""
        return self._rows.recording_row(r, updated, app, wire)

    def _recording(self, rec_id: str, app_id: str, meeting_id: str, wire: bytes, detail: bytes | None) -> Recording:
        return SqliteRecordingStore._recording(rec_id, app_id, meeting_id, bytes(wire), detail and bytes(detail))

    def _meeting(self, row: Sequence[Any]) -> Meeting:
        title = row[4]
        return self._rows._meeting((*row[:4], None if title is None else bytes(title).decode(), *row[5:]))

    def _seal(self, config: dict[str, Any] | None) -> bytes | None:
        return self._rows._seal(config)

    def _unseal(self, stored: bytes | None) -> dict[str, Any] | None:
        return self._rows._unseal(None if stored is None else bytes(stored))

    def _app(self, row: Sequence[Any]) -> App:
        return App(row[0], row[1], bytes(row[2]).decode(), row[3], self._unseal(row[4]))

    # -- accounts, apps, tokens -------------------------------------------------------------

    def create_account(self, account_id: str | None = None) -> Account:
        """A new account; with ``account_id``, that id (an archive keeps its source's ids)."""
        account = Account(id=account_id or new_account_id(), created_ms=now_ms())
        self.pool.write(
            lambda conn: conn.execute(
                "INSERT INTO accounts (id, created_ms) VALUES (%s, %s)", (account.id, account.created_ms)
            )
        )
        return account

    def has_accounts(self) -> bool:
        return self.pool.fetchone("SELECT 1 FROM accounts LIMIT 1") is not None

    def get_account(self, account_id: str) -> Account | None:
        row = self.pool.fetchone("SELECT id, created_ms FROM accounts WHERE id = %s", (account_id,))
        return Account(row[0], int(row[1])) if row else None

    def create_app(self, account_id: str, name: str, app_id: str | None = None) -> App:
        """A new app; with ``app_id``, that id (an archive keeps its source's ids)."""
        app = App(id=app_id or new_uuid(), account_id=account_id, name=name, created_ms=now_ms())

        def work(conn: Conn) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = %s", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO apps (id, account_id, name, created_ms) VALUES (%s, %s, %s, %s)",
                (app.id, app.account_id, app.name.encode(), app.created_ms),
            )

        self.pool.write(work)
        return app

    def set_app_recording_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """The app's default recording config (meetings and start bodies override it)."""
        sealed = self._seal(config)

        def work(conn: Conn) -> None:
            cur = conn.execute("UPDATE apps SET recording_config = %s WHERE id = %s", (sealed, app_id))
            if cur.rowcount == 0:
                raise NotFound(f"app {app_id} not found")

        self.pool.write(work)

    def get_app(self, app_id: str) -> App | None:
        row = self.pool.fetchone(
            "SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE id = %s", (app_id,)
        )
        return self._app(row) if row else None

    def app_version(self, app_id: str) -> tuple[str, int] | None:
        row = self.pool.fetchone("SELECT account_id, version FROM apps WHERE id = %s", (app_id,))
        return (row[0], int(row[1])) if row else None

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]:
        order = "ASC" if ascending else "DESC"
        columns = "id, account_id, name, created_ms, recording_config"
        if search:
            # SQLite's instr(lower(name), lower(search)): lower() there folds ASCII only. Apps per
            # account are few: filtered here, the same whatever the database's locale.
            wanted = search.lower()
            rows = self.pool.fetchall(
                f"SELECT {columns} FROM apps WHERE account_id = %s ORDER BY created_ms {order}, id {order}",
                (account_id,),
            )
            hits = [r for r in rows if wanted in bytes(r[2]).decode().translate(_ASCII_LOWER)]
            chosen = hits[page.offset : page.offset + page.per_page] if page.offset < len(hits) else []
            return [self._app(r) for r in chosen], len(hits)
        total = int(self.pool.fetchone("SELECT COUNT(*) FROM apps WHERE account_id = %s", (account_id,))[0])
        if page.offset >= total:
            return [], total
        rows = self.pool.fetchall(
            f"SELECT {columns} FROM apps WHERE account_id = %s ORDER BY created_ms {order}, id {order} "
            "LIMIT %s OFFSET %s",
            (account_id, page.per_page, page.offset),
        )
        return [self._app(r) for r in rows], total

    def create_token(self, account_id: str, permission: str) -> tuple[str, str]:
        """Make a token; returns ``(token_id, token)``. Only the hash is stored."""
        token = new_token()
        token_id = new_uuid()

        def work(conn: Conn) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = %s", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO tokens (id, account_id, permission, hash, created_ms) VALUES (%s, %s, %s, %s, %s)",
                (token_id, account_id, permission, hash_token(token), now_ms()),
            )

        self.pool.write(work)
        return token_id, token

    def revoke_token(self, token_or_id: str) -> bool:
        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE tokens SET revoked_ms = %s WHERE (id = %s OR hash = %s) AND revoked_ms IS NULL",
                (now_ms(), token_or_id, hash_token(token_or_id)),
            )
            return cur.rowcount > 0

        return self.pool.write(work)

    def authenticate(self, token: str) -> Principal | None:
        row = self.pool.fetchone(
            "SELECT id, account_id, permission FROM tokens WHERE hash = %s AND revoked_ms IS NULL",
            (hash_token(token),),
        )
        return Principal(row[0], row[1], row[2]) if row else None

    # -- import -------------------------------------------------------------------------------

    def conflicting_ids(self, app_id: str, recording_ids: Sequence[str], meeting_ids: Sequence[str]) -> set[str]:
        """Ids among these that already belong to another app (an import must not move them)."""
        app = self.app_seq(app_id)
        found: set[str] = set()
        with self.pool.connection() as conn:
            for sql, owner, ids in (
                ("SELECT id FROM recordings WHERE id = ANY(%s::text[]) AND app <> %s", app, list(recording_ids)),
                ("SELECT id FROM meetings WHERE id = ANY(%s::text[]) AND app_id <> %s", app_id, list(meeting_ids)),
            ):
                for i in range(0, len(ids), _CHUNK):
                    found.update(r[0] for r in conn.execute(sql, (ids[i : i + _CHUNK], owner)))
        return found

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
        ``disjoint``: no recording id is in two parts (then into an empty app, no batch replaces a
        row unless someone else wrote)."""
        written = 0
        before = self._sum(None, self.app_seq(app_id), "T", RECORDING_STATUSES, None)
        for part in parts:
            if not disjoint:
                before = self._sum(None, self.app_seq(app_id), "T", RECORDING_STATUSES, None)
            written += self._import_part(app_id, part, batch, progress, before, written if disjoint else 0)
        return written

    def _import_part(
        self,
        app_id: str,
        staging_path: Path,
        batch: int,
        progress: Callable[[int], None] | None,
        before: int,
        prior: int,
    ) -> int:
        """Move one staging file's rows in, a batch per transaction. ``before``: the app's rows before
        the import (or this part); ``prior``: rows this import wrote before this part.

        The staging file is read with SQLite; each batch is COPYed into a temporary table and moved
        with ``INSERT ... ON CONFLICT (id) DO UPDATE``. Meetings first (changed ones only), then
        recordings in runs of ``invoked_time``; counters follow in the same transaction as the rows.
        """
        app = self.app_seq(app_id)
        lock = f"recordkit-import:{app}"
        src = sqlite3.connect(staging_path, isolation_level=None)
        try:
            meeting_columns = staging.MEETING_COLUMNS

            def load_meetings(conn: Conn) -> None:
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                self._copy_meetings(
                    conn,
                    src.execute(
                        f"SELECT {meeting_columns} FROM meet "
                        "WHERE rowid IN (SELECT MAX(rowid) FROM meet GROUP BY id) ORDER BY id"
                    ),
                )

            self.pool.write(load_meetings)
            by_time = f"INDEXED BY {staging.BY_TIME}"
            edges: list[int] = []
            walk = src.execute(f"SELECT invoked_ms FROM rec {by_time} ORDER BY invoked_ms")
            for index, (invoked,) in enumerate(walk):
                if index % batch == 0 and (not edges or invoked > edges[-1]):
                    edges.append(invoked)
            written = 0
            ends = [*edges[1:], MAX_MS + 1] if edges else []  # no edges: nothing was staged
            for lo, hi in zip(edges, ends, strict=True):
                # The batch's own counters from one grouped scan: (status, invoked hour, expiry hour).
                added: Counter[tuple[str, str, int]] = Counter()
                rows = 0
                for status, ih, eh, n in src.execute(
                    f"SELECT status, {_HOUR_SQL.format(c='invoked_ms')}, {_HOUR_SQL.format(c='expiry_ms')}, "
                    f"COUNT(*) FROM rec {by_time} WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 "
                    "GROUP BY 1, 2, 3",
                    (lo, hi),
                ):
                    rows += n
                    add_grouped(added, status, ih, eh, n)

                def load_batch(
                    conn: Conn, lo: int = lo, hi: int = hi, added: Counter[Any] = added, written: int = written
                ) -> int:
                    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                    conn.execute(
                        f"CREATE TEMP TABLE stage_rec ON COMMIT DROP AS SELECT {_RECORDING_COLUMNS} "
                        "FROM recordings WITH NO DATA"
                    )
                    with (
                        conn.cursor() as cur,
                        cur.copy(f"COPY stage_rec ({_RECORDING_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
                    ):
                        copy.set_types(_RECORDING_TYPES)
                        for row in src.execute(
                            f"SELECT {_RECORDING_COLUMNS} FROM rec {by_time} "
                            "WHERE invoked_ms >= ? AND invoked_ms < ? AND dup = 0 ORDER BY invoked_ms",
                            (lo, hi),
                        ):
                            copy.write_row(row)
                    deltas: Counter[tuple[str, str, int]] = Counter(added)
                    # Rows replaced by this batch leave their counters. When the app holds nothing but
                    # this import's earlier batches (checked inside this transaction), none can be.
                    if before or self._sum(conn, app, "T", RECORDING_STATUSES, None) != prior + written:
                        for status, invoked, expiry in conn.execute(
                            "SELECT r.status, r.invoked_ms, r.expiry_ms FROM recordings r "
                            "JOIN stage_rec s ON s.id = r.id ORDER BY r.id FOR UPDATE OF r"
                        ):
                            for key in counter_keys(status, invoked, expiry):
                                deltas[key] -= 1
                    cur = conn.execute(
                        f"INSERT INTO recordings ({_RECORDING_COLUMNS}, lapsed) SELECT {_RECORDING_COLUMNS}, "
                        "expiry_ms IS NOT NULL AND expiry_ms < %s FROM stage_rec ORDER BY invoked_ms "
                        f"ON CONFLICT (id) DO UPDATE SET {_RECORDING_UPDATE}",
                        (lapse_cut(now_ms()),),
                    )
                    self._apply_deltas(conn, app, deltas)
                    # New unmanaged rows bump nothing by themselves (one bump per batch, not per row).
                    conn.execute("UPDATE apps SET version = version + 1 WHERE seq = %s", (app,))
                    return int(cur.rowcount)

                written += self.pool.write(load_batch)
                if progress is not None:
                    progress(rows)
            return written
        finally:
            src.close()

    @staticmethod
    def _copy_meetings(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
        """Upsert staged meeting rows (``staging.MEETING_COLUMNS``); unchanged ones are left alone."""
        from recordkit.store.postgres.meetings import PG_MEETING_COLUMNS, PG_MEETING_TYPES, PG_MEETING_UPDATE

        conn.execute(
            f"CREATE TEMP TABLE stage_meet ON COMMIT DROP AS SELECT {PG_MEETING_COLUMNS} FROM meetings WITH NO DATA"
        )
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY stage_meet ({PG_MEETING_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(PG_MEETING_TYPES)
            for row in rows:
                copy.write_row(pg_meeting(row))
        conn.execute(
            f"INSERT INTO meetings ({PG_MEETING_COLUMNS}) SELECT {PG_MEETING_COLUMNS} FROM stage_meet ORDER BY id "
            f"ON CONFLICT (id) DO UPDATE SET {PG_MEETING_UPDATE} WHERE meetings.wire IS DISTINCT FROM EXCLUDED.wire"
        )
        conn.execute("DROP TABLE stage_meet")

    @staticmethod
    def _apply_deltas(conn: Conn, app: int, deltas: Counter[tuple[str, str, int]]) -> None:
        """Add to the counter rows, in one global order (two writers never wait on each other in a circle)."""
        rows = sorted((dim, status, bucket, n) for (dim, status, bucket), n in deltas.items() if n)
        if not rows:
            return
        conn.execute(
            "INSERT INTO recording_counts (app, dim, status, bucket, n) "
            "SELECT %s, d, s, b, n FROM unnest(%s::text[], %s::text[], %s::int8[], %s::int8[]) "
            "WITH ORDINALITY AS t(d, s, b, n, o) ORDER BY o "
            "ON CONFLICT (app, dim, status, bucket) DO UPDATE SET n = recording_counts.n + EXCLUDED.n",
            (app, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
        )

    # -- list ---------------------------------------------------------------------------------

    def list_recordings(self, app_id: str, query: RecordingQuery, now_ms: int) -> tuple[list[bytes], int]:
        """One page of list items as ready JSON (each with its meeting), and the exact total."""
        app = self.app_seq(app_id)
        with self.pool.connection() as conn:
            filters = self._filters(conn, app_id, query, now_ms)
            if filters is None:
                return [], 0
            total = self._count(conn, app, query, now_ms, filters)
            page = query.page
            if total == 0 or page.offset >= total:
                return [], total
            limit = min(page.per_page, total - page.offset)
            order = "ASC" if query.ascending else "DESC"
            inner, params = self._page_ids(app, query, filters, order, limit, page.offset, total)
            sql = (
                f"SELECT r.wire, m.wire FROM ({inner}) p JOIN recordings r ON r.id = p.id "
                f"LEFT JOIN meetings m ON m.id = r.meeting_id ORDER BY r.invoked_ms {order}, r.id {order}"
            )
            splice = render.splice_meeting
            rows = conn.execute(sql, params).fetchall()
        return [splice(bytes(rec), None if meeting is None else bytes(meeting)) for rec, meeting in rows], total

    def _filters(self, conn: Conn, app_id: str, q: RecordingQuery, now: int) -> Filters | None:
        """The conditions over ``recordings r`` (beside the app) as (kind, sql, params); None: no match."""
        out: Filters = []
        if q.meeting_id is not None:
            out.append(("meeting", "r.meeting_id = %s", [q.meeting_id]))
        if q.statuses and len(q.statuses) < len(RECORDING_STATUSES):
            out.append(("status", "r.status = ANY(%s::text[])", [list(q.statuses)]))
        if q.start_ms is not None:
            out.append(("time", "r.invoked_ms >= %s", [q.start_ms]))
        if q.end_ms is not None:
            out.append(("time", "r.invoked_ms <= %s", [q.end_ms]))
        if q.expired is True:
            out.append(("expired", "r.expiry_ms <= %s", [now]))
        elif q.expired is False:
            out.append(("expired", "(r.expiry_ms IS NULL OR r.expiry_ms > %s)", [now]))
        if q.search is not None:
            meeting_ids = self._search_meetings(conn, app_id, q.search.folded, q.search.id_candidate)
            rec_id = q.search.id_candidate
            if not meeting_ids and rec_id is None:
                return None
            if rec_id is not None:
                out.append(("search", "(r.meeting_id = ANY(%s::text[]) OR r.id = %s)", [meeting_ids, rec_id]))
            else:
                out.append(("search", "r.meeting_id = ANY(%s::text[])", [meeting_ids]))
        return out

    @staticmethod
    def _search_meetings(conn: Conn, app_id: str, folded: str, id_candidate: str | None) -> list[str]:
        """Meetings of the app whose folded title holds ``folded`` (exactly, byte-wise), and the
        meeting named by the search string."""
        needle = folded.encode()
        if len(folded) >= 3:
            # The trigram index names the candidates; title_folded keeps the exact substring semantics.
            rows = conn.execute(
                "SELECT id FROM meetings WHERE app_id = %s AND title_index LIKE %s "
                "AND position(%s::bytea IN title_folded) > 0",
                (app_id, like_pattern(index_text(folded)), needle),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id FROM meetings WHERE app_id = %s AND position(%s::bytea IN title_folded) > 0",
                (app_id, needle),
            ).fetchall()
        ids = [r[0] for r in rows]
        if id_candidate is not None and id_candidate not in ids:
            row = conn.execute(
                "SELECT id FROM meetings WHERE id = %s AND app_id = %s", (id_candidate, app_id)
            ).fetchone()
            if row:
                ids.append(row[0])
        return ids

    # -- counting -----------------------------------------------------------------------------

    def _count(self, conn: Conn, app: int, q: RecordingQuery, now: int, filters: Filters) -> int:
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
        # One meeting (or a combination the counters cannot answer): counted exactly from an index.
        where, params = _join(filters)
        row = conn.execute("SELECT COUNT(*) FROM recordings r WHERE r.app = %s" + where, [app, *params]).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _count_search(conn: Conn, app: int, filters: Filters) -> int:
        """Matches of the named meetings (from the meeting index), plus the recording named by id."""
        search = next(f for f in filters if f[0] == "search")
        others = [f for f in filters if f[0] != "search"]
        where, params = _join(others)
        meeting_ids = search[2][0]
        row = conn.execute(
            f"SELECT COUNT(*) FROM recordings r WHERE r.app = %s AND r.meeting_id = ANY(%s::text[]){where}",
            [app, meeting_ids, *params],
        ).fetchone()
        total = int(row[0]) if row else 0
        if len(search[2]) > 1:  # also the recording whose id is the search string, unless counted already
            row = conn.execute(
                "SELECT COUNT(*) FROM recordings r WHERE r.id = %s AND r.app = %s "
                f"AND NOT (r.meeting_id = ANY(%s::text[])){where}",
                [search[2][1], app, meeting_ids, *params],
            ).fetchone()
            total += int(row[0]) if row else 0
        return total

    def _sum(
        self, conn: Conn | None, app: int, dim: str, statuses: Sequence[str], buckets: tuple[int, int] | None
    ) -> int:
        sql = (
            "SELECT COALESCE(SUM(n), 0) FROM recording_counts WHERE app = %s AND dim = %s AND status = ANY(%s::text[])"
        )
        params: list[Any] = [app, dim, list(statuses)]
        if buckets is not None:
            sql += " AND bucket >= %s AND bucket < %s"
            params.extend(buckets)
        if conn is None:
            return int(self.pool.fetchone(sql, params)[0])
        return int(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]

    def _count_range(self, conn: Conn, app: int, kind: str, statuses: Sequence[str], start: int, end: int) -> int:
        """Recordings whose invoked time (kind "i") or expiry (kind "e") lies in [start, end]."""
        plan = plan_range(start, end)
        total = 0
        for span in plan.days:
            total += self._sum(conn, app, kind + "D", statuses, span)
        for span in plan.hours:
            total += self._sum(conn, app, kind + "H", statuses, span)
        status_sql = ""
        if len(statuses) < len(RECORDING_STATUSES):
            status_sql = " AND status = ANY(%s::text[])"
        column = "invoked_ms" if kind == "i" else "expiry_ms"
        for lo, hi in plan.exact:
            scope = "WHERE app = %s"
            if kind == "e" and lo >= lapse_cut(now_ms()):
                # Lapsed rows expire before the cut: rows expiring after it are all in this index.
                scope = "WHERE app = %s AND NOT lapsed AND expiry_ms IS NOT NULL"
            row = conn.execute(
                f"SELECT COUNT(*) FROM recordings {scope} AND {column} >= %s AND {column} < %s{status_sql}",
                [app, lo, hi, *([list(statuses)] if status_sql else [])],
            ).fetchone()
            total += int(row[0]) if row else 0
        return total

    # -- choosing how to walk to the page -----------------------------------------------------

    def _page_ids(
        self, app: int, q: RecordingQuery, filters: Filters, order: str, limit: int, offset: int, total: int
    ) -> tuple[str, list[Any]]:
        """A subquery yielding the page's recording ids, shaped so that an ordered index walk suits it."""
        tail = f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT %s OFFSET %s"
        where, params = _join(filters)
        if q.search is not None and total <= _SORT_LIMIT:
            # Few matches: fetch them by meeting (the search named them) and sort them.
            search = next(f for f in filters if f[0] == "search")
            named = "SELECT id FROM recordings WHERE app = %s AND meeting_id = ANY(%s::text[])"
            named_params: list[Any] = [app, search[2][0]]
            if len(search[2]) > 1:
                named += " UNION SELECT id FROM recordings WHERE id = %s AND app = %s"
                named_params += [search[2][1], app]
            others = [f for f in filters if f[0] != "search"]
            where, params = _join(others)
            return (
                f"SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s AND r.id IN ({named}){where} {tail}",
                [app, *named_params, *params, limit, offset],
            )
        if (
            q.search is None
            and q.meeting_id is None
            and q.statuses
            and 1 < len(q.statuses) < len(RECORDING_STATUSES)
            and offset + limit <= _UNION_LIMIT
        ):
            # One ordered walk of the status index per status, merged: each reads offset+limit rows at most.
            parts: list[str] = []
            union_params: list[Any] = []
            for status in q.statuses:
                per_status = [f if f[0] != "status" else ("status", "r.status = %s", [status]) for f in filters]
                branch_where, branch_params = _join(per_status)
                parts.append(
                    f"(SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s{branch_where} "
                    f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT %s)"
                )
                union_params.extend([app, *branch_params, offset + limit])
            return (
                f"SELECT u.id, u.invoked_ms FROM ({' UNION ALL '.join(parts)}) u "
                f"ORDER BY u.invoked_ms {order}, u.id {order} LIMIT %s OFFSET %s",
                [*union_params, limit, offset],
            )
        if q.search is None and q.meeting_id is None and q.expired is True:
            # Expired = lapsed rows (their own index, in time order) + the few unlapsed rows whose
            # expiry has passed since the last sweep (the lapsing index, sorted): two walks merged.
            # The second is fenced (OFFSET 0) so that it is planned without the order and the limit:
            # the planner overestimates its matches a thousandfold and would otherwise walk the time
            # index past the app's whole unexpired week (migration 0005 makes the index covering).
            others = [f for f in filters if f[0] != "expired"]
            expiry = next(f for f in filters if f[0] == "expired")
            other_where, other_params = _join(others)
            cut = offset + limit
            return (
                "SELECT u.id, u.invoked_ms FROM ("
                f"(SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s AND r.lapsed{other_where} "
                f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT %s) "
                "UNION ALL "
                "(SELECT x.id, x.invoked_ms FROM (SELECT r.id, r.invoked_ms FROM recordings r "
                f"WHERE r.app = %s AND NOT r.lapsed AND r.expiry_ms IS NOT NULL AND {expiry[1]}{other_where} "
                f"OFFSET 0) x ORDER BY x.invoked_ms {order}, x.id {order} LIMIT %s)"
                f") u ORDER BY u.invoked_ms {order}, u.id {order} LIMIT %s OFFSET %s",
                [app, *other_params, cut, app, *expiry[2], *other_params, cut, limit, offset],
            )
        if len(q.statuses) == 1 and q.search is None and q.meeting_id is None:
            where, params = _join(
                [f if f[0] != "status" else ("status", "r.status = %s", list(q.statuses)) for f in filters]
            )
        return f"SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s{where} {tail}", [
            app,
            *params,
            limit,
            offset,
        ]
