"""Recordings that RecordKit makes, on PostgreSQL: insert, read, change through the lifecycle, lease.

The same operations and meaning as ``recordkit.store.sqlite.recordings``, for many processes at once:

- a change reads its row ``FOR UPDATE``, so two processes never overwrite each other's change;
- an exclusive start takes a transaction-scoped advisory lock on its (app, meeting), so two
  processes cannot both start "the" recording of a meeting;
- ``claim_unfinished`` renews the leases it holds and locks only the rows it may take over (free,
  lapsed, or held by a dead process of this host) with ``FOR UPDATE SKIP LOCKED``, judging each
  again once locked: a row another process is taking right now is skipped, and a live holder's
  rows are never locked, so its own claim always finds them.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg

from recordkit.domain.counting import counter_keys, is_lapsed, lapse_cut
from recordkit.domain.lifecycle import ACTIVE
from recordkit.domain.models import Recording
from recordkit.errors import Conflict, NotFound, Unavailable
from recordkit.leases import holder_is_dead
from recordkit.security.cipher import SecretCipher
from recordkit.store.postgres.connection import PgPool

Conn = psycopg.Connection[Any]

_SELECT = "SELECT r.id, a.id, r.meeting_id, r.wire, r.detail FROM recordings r JOIN apps a ON a.seq = r.app "
_UNFINISHED = "('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING')"


class PgRecordings:
    """Mixed into ``PostgresRecordingStore``; every change is one transaction with its counters."""

    pool: PgPool
    cipher: SecretCipher
    app_seq: Callable[[str], int]
    recording_row: Callable[..., tuple[Any, ...]]
    _recording: Callable[[str, str, str, bytes, bytes | None], Recording]
    _apply_deltas: Callable[..., None]

    def insert_recording(self, rec: Recording, *, exclusive: bool, now: int) -> None:
        """Add a new recording; with ``exclusive``, refuse while the meeting has an active one of its kind."""
        app = self.app_seq(rec.app_id)
        values = self.recording_row(rec, now, app)

        def work(conn: Conn) -> None:
            if exclusive:
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"recordkit-start:{app}:{rec.meeting_id}",),
                )
                for (detail,) in conn.execute(
                    "SELECT detail FROM recordings WHERE app = %s AND meeting_id = %s AND status IN "
                    "('INVOKED', 'RECORDING', 'PAUSED')",
                    (app, rec.meeting_id),
                ):
                    kind = "track" if detail and b'"kind":"track"' in bytes(detail) else "composite"
                    if kind == rec.kind:
                        raise Conflict("Recording already in progress")
            conn.execute(
                "INSERT INTO recordings (id, app, meeting_id, status, invoked_ms, expiry_ms, wire, detail, secrets, "
                "updated_ms, lapsed, managed) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,true)",
                (*values, is_lapsed(rec.download_url_expiry_ms, now)),
            )
            self._apply_deltas(conn, app, Counter(counter_keys(rec.status, rec.invoked_ms, rec.download_url_expiry_ms)))

        self.pool.write(work)

    def _one(self, sql: str, params: tuple[Any, ...]) -> Recording | None:
        row = self.pool.fetchone(sql, params)
        return self._recording(*row) if row else None

    def get_recording(self, app_id: str, recording_id: str) -> Recording | None:
        return self._one(_SELECT + "WHERE r.id = %s AND a.id = %s", (recording_id, app_id))

    def recording_by_id(self, recording_id: str) -> Recording | None:
        return self._one(_SELECT + "WHERE r.id = %s", (recording_id,))

    def active_recordings(self, app_id: str, meeting_id: str) -> list[Recording]:
        """The meeting's active recordings (INVOKED, RECORDING, PAUSED), newest first."""
        app = self.app_seq(app_id)
        rows = self.pool.fetchall(
            _SELECT + "WHERE r.app = %s AND r.meeting_id = %s AND r.status = ANY(%s::text[]) "
            "ORDER BY r.invoked_ms DESC, r.id DESC",
            (app, meeting_id, sorted(ACTIVE)),
        )
        return [self._recording(*row) for row in rows]

    def update_recording(self, recording_id: str, change: Callable[[Recording], Recording], now: int) -> Recording:
        """Read (locking the row), change (a pure function; it may raise), write back, keep counters."""

        def work(conn: Conn) -> Recording:
            row = conn.execute(_SELECT + "WHERE r.id = %s FOR UPDATE OF r", (recording_id,)).fetchone()
            if row is None:
                raise NotFound(f"recording {recording_id} not found")
            old = self._recording(*row)
            new = change(old)
            app = self.app_seq(old.app_id)
            values = self.recording_row(new, now, app)
            conn.execute(
                "UPDATE recordings SET status = %s, expiry_ms = %s, wire = %s, detail = %s, updated_ms = %s, "
                "lapsed = %s WHERE id = %s",
                (values[3], values[5], values[6], values[7], values[9], is_lapsed(values[5], now), recording_id),
            )
            deltas: Counter[tuple[str, str, int]] = Counter(
                counter_keys(new.status, new.invoked_ms, new.download_url_expiry_ms)
            )
            deltas.subtract(counter_keys(old.status, old.invoked_ms, old.download_url_expiry_ms))
            self._apply_deltas(conn, app, deltas)
            return new

        return self.pool.write(work)

    def recording_secrets(self, recording_id: str) -> dict[str, Any] | None:
        """The write-only part of a recording's storage_config, decrypted (for delivery only).

        Unavailable when the configured keys cannot decrypt it (a key was dropped too early)."""
        row = self.pool.fetchone("SELECT secrets FROM recordings WHERE id = %s", (recording_id,))
        if row is None:
            raise NotFound(f"recording {recording_id} not found")
        if row[0] is None:
            return None
        opened = self.cipher.decrypt_json(bytes(row[0]))
        return opened if isinstance(opened, dict) else None

    # -- leases: which worker process runs which recording ----------------------------------

    def hold_lease(self, recording_id: str, owner: str, until_ms: int) -> None:
        """Lease one recording to ``owner`` (an operator's command); the supervisors leave it alone
        while ``owner`` lives and the lease lasts. Renew by calling again."""
        self.pool.write(
            lambda conn: conn.execute(
                "UPDATE recordings SET owner = %s, lease_ms = %s WHERE id = %s", (owner, until_ms, recording_id)
            )
        )

    def lease_of(self, recording_id: str) -> tuple[str | None, int | None]:
        row = self.pool.fetchone("SELECT owner, lease_ms FROM recordings WHERE id = %s", (recording_id,))
        return (row[0], None if row[1] is None else int(row[1])) if row else (None, None)

    def claim_unfinished(self, owner: str, now: int, lease_ms: int) -> tuple[list[Recording], set[str]]:
        """Take (or keep) the recordings not yet finished whose lease is ours, free, lapsed or orphaned.

        Returns them and the ids just taken over from another owner (their recorder is gone).

        Only rows to be taken over are locked, ``FOR UPDATE SKIP LOCKED``, and judged again once
        locked (another process may have taken one since the first read): of two processes
        claiming at once, one takes a row and the other skips it. Rows already ours are renewed
        only while still ours (``owner = us``), so a row taken from us after our lease lapsed is
        not taken back, and never reported ours. Rows held by a live process are never locked,
        so its own claim always finds them.
        """
        until = now + lease_ms

        def free(holder: str | None, lease: int | None) -> bool:
            return holder is None or (lease or 0) < now or holder_is_dead(holder)

        def work(conn: Conn) -> tuple[list[Recording], set[str]]:
            rows = conn.execute(
                f"SELECT id, owner, lease_ms FROM recordings WHERE managed AND status IN {_UNFINISHED} ORDER BY seq"
            ).fetchall()
            ours = [rec_id for rec_id, holder, _ in rows if holder == owner]
            wanted = [rec_id for rec_id, holder, lease in rows if holder != owner and free(holder, lease)]
            held: list[str] = []
            if ours:
                held += [
                    r[0]
                    for r in conn.execute(
                        "UPDATE recordings SET lease_ms = %s WHERE id = ANY(%s::text[]) AND owner = %s "
                        f"AND managed AND status IN {_UNFINISHED} RETURNING id",
                        (until, ours, owner),
                    )
                ]
            taken: set[str] = set()
            if wanted:
                locked = conn.execute(
                    f"SELECT id, owner, lease_ms FROM recordings WHERE id = ANY(%s::text[]) AND managed "
                    f"AND status IN {_UNFINISHED} ORDER BY seq FOR UPDATE SKIP LOCKED",
                    (wanted,),
                ).fetchall()
                takeover = [rec_id for rec_id, holder, lease in locked if holder == owner or free(holder, lease)]
                taken = {
                    rec_id for rec_id, holder, lease in locked if rec_id in takeover and holder not in (None, owner)
                }
                if takeover:
                    conn.execute(
                        "UPDATE recordings SET owner = %s, lease_ms = %s WHERE id = ANY(%s::text[])",
                        (owner, until, takeover),
                    )
                    held += takeover
            if not held:
                return [], set()
            found = conn.execute(_SELECT + "WHERE r.id = ANY(%s::text[]) ORDER BY r.seq", (held,)).fetchall()
            return [self._recording(*row) for row in found], taken

        return self.pool.write(work)

    def expired_files(self, now: int, limit: int = 500) -> list[Recording]:
        """Stored recordings past ``download_url_expiry`` whose bucket copy is still there."""
        rows = self.pool.fetchall(
            _SELECT + "WHERE r.managed AND r.expiry_ms IS NOT NULL AND r.expiry_ms <= %s "
            "AND r.purged_ms IS NULL LIMIT %s",
            (now, limit),
        )
        return [self._recording(*row) for row in rows]

    def flag_lapsed(self, now: int) -> int:
        """Flag the rows whose expiry has fallen behind ``lapse_cut(now)`` (keeps expired=true pages fast)."""
        cut = lapse_cut(now)
        flagged = 0

        def flag(conn: Conn, app: int) -> int:
            return int(
                conn.execute(
                    "UPDATE recordings SET lapsed = true WHERE app = %s AND NOT lapsed "
                    "AND expiry_ms IS NOT NULL AND expiry_ms < %s",
                    (app, cut),
                ).rowcount
            )

        for (app,) in self.pool.fetchall("SELECT seq FROM apps ORDER BY seq"):
            flagged += self.pool.write(functools.partial(flag, app=int(app)))
        return flagged

    def claim_purge(self, recording_id: str, owner: str, now: int, lease_ms: int) -> bool:
        """Lease the purge of an expired recording's files to ``owner``: False once it is purged, or
        while another live process holds its lease (by the rules of ``claim_unfinished``). The
        update is conditional on the owner and lease as read: of several processes sweeping at
        once, exactly one wins and deletes the files; if it dies first, the lease lapses and the
        next sweep does it."""
        row = self.pool.fetchone(
            "SELECT owner, lease_ms FROM recordings WHERE id = %s AND purged_ms IS NULL", (recording_id,)
        )
        if row is None:
            return False
        holder, lease = row
        if holder not in (None, owner) and (lease or 0) >= now and not holder_is_dead(holder):
            return False

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE recordings SET owner = %s, lease_ms = %s WHERE id = %s AND purged_ms IS NULL "
                "AND owner IS NOT DISTINCT FROM %s AND lease_ms IS NOT DISTINCT FROM %s",
                (owner, now + lease_ms, recording_id, holder, lease),
            )
            return cur.rowcount > 0

        return self.pool.write(work)

    def mark_purged(self, recording_id: str, now: int) -> None:
        self.pool.write(
            lambda conn: conn.execute("UPDATE recordings SET purged_ms = %s WHERE id = %s", (now, recording_id))
        )

    # -- secrets key rotation -----------------------------------------------------------------

    def rotate_secrets(self, batch: int = 1000) -> dict[str, int]:
        """Re-encrypt recordings' ``secrets`` and the sealed ``$secrets`` of apps' and meetings'
        recording configs under the first key. One transaction per batch, its rows locked while
        they are rewritten (a concurrent change is never overwritten); a server keeps running.

        Returns counts per table, plus ``unreadable``: values no configured key opens, left as they
        were. Running it again is harmless."""
        counts = {"recordings": 0, "meetings": 0, "apps": 0, "unreadable": 0}
        last = 0

        def recordings_batch(conn: Conn, after: int) -> tuple[int, int, int, int]:
            rows = conn.execute(
                "SELECT seq, secrets FROM recordings WHERE secrets IS NOT NULL AND seq > %s ORDER BY seq LIMIT %s "
                "FOR UPDATE",
                (after, batch),
            ).fetchall()
            if not rows:
                return 0, after, 0, 0
            changed, unreadable = [], 0
            for seq, blob in rows:
                try:
                    changed.append((self.cipher.rotate(bytes(blob)), seq))
                except Unavailable:
                    unreadable += 1
            with conn.cursor() as cur:
                cur.executemany("UPDATE recordings SET secrets = %s WHERE seq = %s", changed)
            return len(rows), int(rows[-1][0]), len(changed), unreadable

        while True:
            seen, last, done, unreadable = self.pool.write(functools.partial(recordings_batch, after=last))
            if not seen:
                break
            counts["recordings"] += done
            counts["unreadable"] += unreadable
        for table in ("meetings", "apps"):
            last = 0

            def config_batch(conn: Conn, table: str, after: int) -> tuple[int, int, int, int]:
                rows = conn.execute(
                    f"SELECT seq, recording_config FROM {table} "
                    "WHERE position('$secrets'::bytea IN recording_config) > 0 AND seq > %s ORDER BY seq LIMIT %s "
                    "FOR UPDATE",
                    (after, batch),
                ).fetchall()
                if not rows:
                    return 0, after, 0, 0
                updates, unreadable = [], 0
                for seq, stored in rows:
                    config = msgspec.json.decode(bytes(stored))
                    storage = config.get("storage_config") if isinstance(config, dict) else None
                    if not isinstance(storage, dict) or not isinstance(storage.get("$secrets"), str):
                        continue
                    sealed: str = storage["$secrets"]
                    try:
                        storage["$secrets"] = self.cipher.rotate(sealed.encode()).decode()
                    except Unavailable:
                        unreadable += 1
                        continue
                    updates.append((msgspec.json.encode(config), seq))
                with conn.cursor() as cur:
                    cur.executemany(f"UPDATE {table} SET recording_config = %s WHERE seq = %s", updates)
                return len(rows), int(rows[-1][0]), len(updates), unreadable

            while True:
                seen, last, done, unreadable = self.pool.write(functools.partial(config_batch, table=table, after=last))
                if not seen:
                    break
                counts[table] += done
                counts["unreadable"] += unreadable
        return counts
