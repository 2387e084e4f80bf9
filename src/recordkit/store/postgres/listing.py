"""``PgListing``: the recordings list of the PostgreSQL store, in PostgreSQL's SQL.

What to count and which walk to take are decided by ``recordkit.store.common.planner``; this part
writes them so that PostgreSQL's planner finds the ordered index walk (no hints here): each
branch of a merge is its own ordered, limited subquery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from recordkit.domain import render
from recordkit.domain.models import RECORDING_STATUSES
from recordkit.domain.query import RecordingQuery
from recordkit.store.common.planner import POSTGRES, Counting, Filters, Walk, choose_walk, join, replaced, take
from recordkit.store.postgres.connection import PgPool

Conn = psycopg.Connection[Any]


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE, its wildcards and the escape character escaped."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def index_text(folded: str) -> str:
    """The folded title as the trigram index holds it (text cannot hold NUL)."""
    return folded.replace("\x00", "\ufffd")


class PgListing(Counting[Conn]):
    """Mixed into ``PostgresRecordingStore``."""

    pool: PgPool
    app_seq: Callable[[str], int]

    def list_recordings(self, app_id: str, query: RecordingQuery, now: int) -> tuple[list[bytes], int]:
        """One page of list items as ready JSON (each with its meeting), and the exact total."""
        app = self.app_seq(app_id)
        with self.pool.connection() as conn:
            filters = self._filters(conn, app_id, query, now)
            if filters is None:
                return [], 0
            total = self._count(conn, app, query, now, filters)
            page = query.page
            if total == 0 or page.offset >= total:
                return [], total
            limit = min(page.per_page, total - page.offset)
            order = "ASC" if query.ascending else "DESC"
            walk = choose_walk(query, total, page.offset, limit, POSTGRES)
            inner, params = self._page_ids(app, walk, query, filters, order, limit, page.offset)
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

    # -- counting: the planner's hooks ----------------------------------------------------------

    def _count_rows(self, conn: Conn, app: int, filters: Filters) -> int:
        # One meeting (or a combination the counters cannot answer): counted exactly from an index.
        where, params = join(filters)
        row = conn.execute("SELECT COUNT(*) FROM recordings r WHERE r.app = %s" + where, [app, *params]).fetchone()
        return int(row[0]) if row else 0

    def _count_search(self, conn: Conn, app: int, filters: Filters) -> int:
        """Matches of the named meetings (from the meeting index), plus the recording named by id."""
        search, others = take(filters, "search")
        where, params = join(others)
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

    def _count_exact(
        self, conn: Conn, app: int, kind: str, statuses: Sequence[str], lo: int, hi: int, lapsing: bool
    ) -> int:
        status_sql = ""
        if len(statuses) < len(RECORDING_STATUSES):
            status_sql = " AND status = ANY(%s::text[])"
        column = "invoked_ms" if kind == "i" else "expiry_ms"
        scope = "WHERE app = %s"
        if kind == "e" and lapsing:
            scope = "WHERE app = %s AND NOT lapsed AND expiry_ms IS NOT NULL"
        row = conn.execute(
            f"SELECT COUNT(*) FROM recordings {scope} AND {column} >= %s AND {column} < %s{status_sql}",
            [app, lo, hi, *([list(statuses)] if status_sql else [])],
        ).fetchone()
        return int(row[0]) if row else 0

    # -- the walk to the page, in SQL -----------------------------------------------------------

    def _page_ids(
        self, app: int, walk: Walk, q: RecordingQuery, filters: Filters, order: str, limit: int, offset: int
    ) -> tuple[str, list[Any]]:
        """A subquery yielding the page's recording ids, shaped so that an ordered index walk suits it."""
        tail = f"ORDER BY r.invoked_ms {order}, r.id {order} LIMIT %s OFFSET %s"
        where, params = join(filters)
        if walk is Walk.SORTED:
            # Few matches: fetch them by meeting (the search named them) and sort them.
            search, others = take(filters, "search")
            named = "SELECT id FROM recordings WHERE app = %s AND meeting_id = ANY(%s::text[])"
            named_params: list[Any] = [app, search[2][0]]
            if len(search[2]) > 1:
                named += " UNION SELECT id FROM recordings WHERE id = %s AND app = %s"
                named_params += [search[2][1], app]
            where, params = join(others)
            return (
                f"SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s AND r.id IN ({named}){where} {tail}",
                [app, *named_params, *params, limit, offset],
            )
        if walk is Walk.MERGE:
            # One ordered walk of the status index per status, merged: each reads offset+limit rows at most.
            parts: list[str] = []
            union_params: list[Any] = []
            for status in q.statuses:
                per_status = replaced(filters, "status", "r.status = %s", [status])
                branch_where, branch_params = join(per_status)
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
        if walk is Walk.EXPIRED:
            # Expired = lapsed rows (their own index, in time order) + the few unlapsed rows whose
            # expiry has passed since the last sweep (the lapsing index, sorted): two walks merged.
            # The second is fenced (OFFSET 0) so that it is planned without the order and the limit:
            # the planner overestimates its matches a thousandfold and would otherwise walk the time
            # index past the app's whole unexpired week (migration 0005 makes the index covering).
            expiry, others = take(filters, "expired")
            other_where, other_params = join(others)
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
        if walk is Walk.ONE_STATUS:
            where, params = join(replaced(filters, "status", "r.status = %s", list(q.statuses)))
        return f"SELECT r.id, r.invoked_ms FROM recordings r WHERE r.app = %s{where} {tail}", [
            app,
            *params,
            limit,
            offset,
        ]
