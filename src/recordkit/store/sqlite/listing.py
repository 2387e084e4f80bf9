"""``SqliteListing``: the recordings list of the SQLite store, in SQLite's SQL.

What to count and which walk to take are decided by ``recordkit.store.common.planner``; this part
writes them with SQLite's index hints (``INDEXED BY``), and reads a shallow page of an index walk
in the walk itself (``_DIRECT_OFFSET``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.models import RECORDING_STATUSES
from recordkit.domain.query import RecordingQuery
from recordkit.store.common.planner import SQLITE, Counting, Filters, Walk, choose_walk, join, replaced, take
from recordkit.store.sqlite.connection import ConnectionPool

# Up to this offset a page is read during the index walk; deeper, the walk collects row ids first.
_DIRECT_OFFSET = 200
_WALK = "SELECT r.seq FROM recordings r INDEXED BY "
_json_encode = msgspec.json.encode


class SqliteListing(Counting[sqlite3.Connection]):
    """Mixed into ``SqliteRecordingStore``."""

    pool: ConnectionPool
    app_seq: Callable[[str], int]

    def list_recordings(self, app_id: str, query: RecordingQuery, now: int) -> tuple[list[bytes], int]:
        """One page of list items as ready JSON (each with its meeting), and the exact total."""
        conn = self.pool.get()
        app = self.app_seq(app_id)
        filters = self._filters(conn, app_id, query, now)
        if filters is None:
            return [], 0
        total = self._count(conn, app, query, now, filters)
        page = query.page
        if total == 0 or page.offset >= total:
            return [], total
        limit = min(page.per_page, total - page.offset)
        order = "ASC" if query.ascending else "DESC"
        walk = choose_walk(query, total, page.offset, limit, SQLITE)
        inner, inner_params = self._page_seqs(app, walk, query, filters, order, limit, page.offset)
        if inner.startswith(_WALK) and page.offset <= _DIRECT_OFFSET:
            # A shallow page of an ordered index walk: read the rows on the way, no second pass.
            index, _, rest = inner[len(_WALK) :].partition(" ")
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

    def _filters(self, conn: sqlite3.Connection, app_id: str, q: RecordingQuery, now: int) -> Filters | None:
        """The conditions over ``recordings r`` (beside the app) as (kind, sql, params); None: no match."""
        out: Filters = []
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

    # -- counting: the planner's hooks ----------------------------------------------------------

    def _count_rows(self, conn: sqlite3.Connection, app: int, filters: Filters) -> int:
        # One meeting: few rows, counted exactly from its index.
        where, params = join(filters)
        sql = "SELECT COUNT(*) FROM recordings r INDEXED BY recordings_by_meeting WHERE r.app = ?" + where
        return int(conn.execute(sql, [app, *params]).fetchone()[0])

    def _count_search(self, conn: sqlite3.Connection, app: int, filters: Filters) -> int:
        """Matches of the named meetings (from the meeting index), plus the recording named by id."""
        search, others = take(filters, "search")
        where, params = join(others)
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

    def _sum(
        self, conn: sqlite3.Connection, app: int, dim: str, statuses: Sequence[str], buckets: tuple[int, int] | None
    ) -> int:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT COALESCE(SUM(n), 0) FROM recording_counts WHERE app = ? AND dim = ? AND status IN ({marks})"
        params: list[Any] = [app, dim, *statuses]
        if buckets is not None:
            sql += " AND bucket >= ? AND bucket < ?"
            params.extend(buckets)
        return int(conn.execute(sql, params).fetchone()[0])

    def _count_exact(
        self, conn: sqlite3.Connection, app: int, kind: str, statuses: Sequence[str], lo: int, hi: int, lapsing: bool
    ) -> int:
        status_sql = ""
        if len(statuses) < len(RECORDING_STATUSES):
            status_sql = f" AND status IN ({','.join('?' * len(statuses))})"
        if kind == "i":
            column, scope = "invoked_ms", "INDEXED BY recordings_by_time WHERE app = ?"
        elif lapsing:
            column = "expiry_ms"
            scope = "INDEXED BY recordings_lapsing WHERE app = ? AND lapsed = 0 AND expiry_ms IS NOT NULL"
        else:
            column, scope = "expiry_ms", "WHERE app = ?"
        return int(
            conn.execute(
                f"SELECT COUNT(*) FROM recordings {scope} AND {column} >= ? AND {column} < ?{status_sql}",
                [app, lo, hi, *(statuses if status_sql else ())],
            ).fetchone()[0]
        )

    # -- the walk to the page, in SQL -----------------------------------------------------------

    def _page_seqs(
        self, app: int, walk: Walk, q: RecordingQuery, filters: Filters, order: str, limit: int, offset: int
    ) -> tuple[str, list[Any]]:
        """A subquery yielding the page's row ids, walking the index that suits the filter at hand."""
        tail = f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT ? OFFSET ?"
        where, params = join(filters)
        index = "INDEXED BY recordings_by_time"
        if walk is Walk.SORTED:
            # Few matches: fetch them by row id (the search named them) and sort them.
            search, others = take(filters, "search")
            by_meeting = (
                "SELECT seq FROM recordings INDEXED BY recordings_by_meeting "
                "WHERE app = ? AND meeting_id IN (SELECT value FROM json_each(?))"
            )
            named: list[Any] = [app, search[2][0]]
            if len(search[2]) > 1:
                by_meeting += " UNION SELECT seq FROM recordings WHERE id = ? AND app = ?"
                named += [search[2][1], app]
            where, params = join(others)
            return (
                f"SELECT r.seq FROM recordings r WHERE +r.app = ? AND r.seq IN ({by_meeting}){where} {tail}",
                [app, *named, *params, limit, offset],
            )
        if walk is Walk.MEETING:
            index = "INDEXED BY recordings_by_meeting"
        elif walk is Walk.ONE_STATUS:
            # A deep page of one status: its own index is in the right order already.
            others = replaced(filters, "status", "r.status = ?", list(q.statuses))
            where, params = join(others)
            index = "INDEXED BY recordings_by_status"
        elif walk is Walk.MERGE:
            # One ordered walk of the status index per status, merged: each reads offset+limit rows at most.
            parts: list[str] = []
            union_params: list[Any] = []
            for status in q.statuses:
                per_status = replaced(filters, "status", "r.status = ?", [status])
                branch_where, branch_params = join(per_status)
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
        elif walk is Walk.EXPIRED:
            # Expired = lapsed rows (their own index, in time order) + the few unlapsed rows whose
            # expiry has passed since the last sweep (the lapsing index, sorted): two walks merged.
            expiry, others = take(filters, "expired")
            other_where, other_params = join(others)
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
