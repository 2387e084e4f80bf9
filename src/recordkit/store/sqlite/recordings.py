"""Recordings that RecordKit makes: insert, read, change through the lifecycle, lease to a worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec

from recordkit.domain.counting import counter_keys, is_lapsed, lapse_cut
from recordkit.domain.lifecycle import ACTIVE
from recordkit.domain.models import Recording
from recordkit.errors import Conflict, NotFound, Unavailable
from recordkit.leases import holder_is_dead
from recordkit.security.cipher import SecretCipher
from recordkit.store.sqlite.connection import ConnectionPool

_SELECT = "SELECT r.id, a.id, r.meeting_id, r.wire, r.detail FROM recordings r JOIN apps a ON a.seq = r.app "
_UNFINISHED = "('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING')"


class SqliteRecordings:
    """Mixed into ``SqliteRecordingStore``; every change is one transaction with its counters."""

    pool: ConnectionPool
    cipher: SecretCipher
    app_seq: Callable[[str], int]
    recording_row: Callable[..., tuple[Any, ...]]
    _recording: Callable[[str, str, str, bytes, bytes | None], Recording]
    _apply_deltas: Callable[..., None]

    def insert_recording(self, rec: Recording, *, exclusive: bool, now: int) -> None:
        """Add a new recording; with ``exclusive``, refuse while the meeting has an active one of its kind."""
        app = self.app_seq(rec.app_id)
        with self.pool.write() as conn:
            if exclusive:
                for (detail,) in conn.execute(
                    "SELECT detail FROM recordings WHERE app = ? AND meeting_id = ? AND status IN "
                    "('INVOKED', 'RECORDING', 'PAUSED')",
                    (app, rec.meeting_id),
                ):
                    kind = "track" if detail and b'"kind":"track"' in detail else "composite"
                    if kind == rec.kind:
                        raise Conflict("Recording already in progress")
            conn.execute(
                "INSERT INTO recordings (id, app, meeting_id, status, invoked_ms, expiry_ms, wire, detail, secrets, "
                "updated_ms, lapsed, managed) VALUES (?,?,?,?,?,?,?,?,?,?,?,1)",
                (*self.recording_row(rec, now, app), is_lapsed(rec.download_url_expiry_ms, now)),
            )
            self._apply_deltas(conn, app, Counter(counter_keys(rec.status, rec.invoked_ms, rec.download_url_expiry_ms)))

    def get_recording(self, app_id: str, recording_id: str) -> Recording | None:
        row = self.pool.get().execute(_SELECT + "WHERE r.id = ? AND a.id = ?", (recording_id, app_id)).fetchone()
        return self._recording(*row) if row else None

    def recording_by_id(self, recording_id: str) -> Recording | None:
        row = self.pool.get().execute(_SELECT + "WHERE r.id = ?", (recording_id,)).fetchone()
        return self._recording(*row) if row else None

    def active_recordings(self, app_id: str, meeting_id: str) -> list[Recording]:
        """The meeting's active recordings (INVOKED, RECORDING, PAUSED), newest first."""
        app = self.app_seq(app_id)
        marks = ",".join("?" * len(ACTIVE))
        rows = (
            self.pool.get()
            .execute(
                _SELECT + f"WHERE r.app = ? AND r.meeting_id = ? AND r.status IN ({marks}) "
                "ORDER BY r.invoked_ms DESC, r.id DESC",
                (app, meeting_id, *sorted(ACTIVE)),
            )
            .fetchall()
        )
        return [self._recording(*row) for row in rows]

    def update_recording(self, recording_id: str, change: Callable[[Recording], Recording], now: int) -> Recording:
        """Read, change (a pure function; it may raise), write back, keep counters, in one transaction."""
        with self.pool.write() as conn:
            row = conn.execute(_SELECT + "WHERE r.id = ?", (recording_id,)).fetchone()
            if row is None:
                raise NotFound(f"recording {recording_id} not found")
            old = self._recording(*row)
            new = change(old)
            app = self.app_seq(old.app_id)
            values = self.recording_row(new, now, app)
            conn.execute(
                "UPDATE recordings SET status = ?, expiry_ms = ?, wire = ?, detail = ?, updated_ms = ?, lapsed = ? "
                "WHERE id = ?",
                (values[3], values[5], values[6], values[7], values[9], is_lapsed(values[5], now), recording_id),
            )
            deltas: Counter[tuple[str, str, int]] = Counter(
                counter_keys(new.status, new.invoked_ms, new.download_url_expiry_ms)
            )
            deltas.subtract(counter_keys(old.status, old.invoked_ms, old.download_url_expiry_ms))
            self._apply_deltas(conn, app, deltas)
            return new

    def recording_secrets(self, recording_id: str) -> dict[str, Any] | None:
        """The write-only part of a recording's storage_config, decrypted (for delivery only).

        Unavailable when the configured keys cannot decrypt it (a key was dropped too early)."""
        row = self.pool.get().execute("SELECT secrets FROM recordings WHERE id = ?", (recording_id,)).fetchone()
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
        with self.pool.write() as conn:
            conn.execute("UPDATE recordings SET owner = ?, lease_ms = ? WHERE id = ?", (owner, until_ms, recording_id))

    def lease_of(self, recording_id: str) -> tuple[str | None, int | None]:
        row = self.pool.get().execute("SELECT owner, lease_ms FROM recordings WHERE id = ?", (recording_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def claim_unfinished(self, owner: str, now: int, lease_ms: int) -> tuple[list[Recording], set[str]]:
        """Take (or keep) the recordings not yet finished whose lease is ours, free, lapsed or orphaned.

        Returns them and the ids just taken over from another owner (their recorder is gone).
        """
        until = now + lease_ms
        taken: set[str] = set()
        with self.pool.write() as conn:
            rows = conn.execute(
                f"SELECT id, owner, lease_ms FROM recordings WHERE managed = 1 AND status IN {_UNFINISHED}"
            ).fetchall()
            mine: list[str] = []
            for rec_id, holder, lease in rows:
                if holder == owner:
                    mine.append(rec_id)
                elif holder is None or (lease or 0) < now or holder_is_dead(holder):
                    mine.append(rec_id)
                    if holder is not None:
                        taken.add(rec_id)
            for rec_id in mine:
                conn.execute("UPDATE recordings SET owner = ?, lease_ms = ? WHERE id = ?", (owner, until, rec_id))
        recordings = [r for r in (self.recording_by_id(i) for i in mine) if r is not None]
        return recordings, taken

    def expired_files(self, now: int, limit: int = 500) -> list[Recording]:
        """Stored recordings past ``download_url_expiry`` whose bucket copy is still there."""
        rows = (
            self.pool.get()
            .execute(
                _SELECT + "WHERE r.managed = 1 AND r.expiry_ms IS NOT NULL AND r.expiry_ms <= ? "
                "AND r.purged_ms IS NULL LIMIT ?",
                (now, limit),
            )
            .fetchall()
        )
        return [self._recording(*row) for row in rows]

    def flag_lapsed(self, now: int) -> int:
        """Flag the rows whose expiry has fallen behind ``lapse_cut(now)`` (keeps expired=true pages fast)."""
        cut = lapse_cut(now)
        flagged = 0
        for (app,) in self.pool.get().execute("SELECT seq FROM apps").fetchall():
            with self.pool.write() as conn:
                flagged += conn.execute(
                    "UPDATE recordings SET lapsed = 1 WHERE seq IN (SELECT seq FROM recordings INDEXED BY "
                    "recordings_lapsing WHERE app = ? AND lapsed = 0 AND expiry_ms IS NOT NULL AND expiry_ms < ?)",
                    (app, cut),
                ).rowcount
        return flagged

    def claim_purge(self, recording_id: str, owner: str, now: int, lease_ms: int) -> bool:
        """Lease the purge of an expired recording's files to ``owner``: False once it is purged, or
        while another live process holds its lease (by the rules of ``claim_unfinished``). Of
        several processes sweeping at once, one deletes the files; if it dies first, the lease
        lapses and the next sweep does it."""
        with self.pool.write() as conn:
            row = conn.execute(
                "SELECT owner, lease_ms FROM recordings WHERE id = ? AND purged_ms IS NULL", (recording_id,)
            ).fetchone()
            if row is None:
                return False
            holder, lease = row
            if holder not in (None, owner) and (lease or 0) >= now and not holder_is_dead(holder):
                return False
            conn.execute(
                "UPDATE recordings SET owner = ?, lease_ms = ? WHERE id = ?", (owner, now + lease_ms, recording_id)
            )
        return True

    def mark_purged(self, recording_id: str, now: int) -> None:
        with self.pool.write() as conn:
            conn.execute("UPDATE recordings SET purged_ms = ? WHERE id = ?", (now, recording_id))

    # -- secrets key rotation -----------------------------------------------------------------

    def rotate_secrets(self, batch: int = 1000) -> dict[str, int]:
        """Re-encrypt recordings' ``secrets`` and the sealed ``$secrets`` of apps' and meetings'
        recording configs under the first key. One transaction per batch (read and write together,
        so a concurrent change is never overwritten); a server keeps running beside it.

        Returns counts per table, plus ``unreadable``: values no configured key opens, left as they
        were. Running it again is harmless."""
        counts = {"recordings": 0, "meetings": 0, "apps": 0, "unreadable": 0}
        last = 0
        while True:
            with self.pool.write() as conn:
                rows = conn.execute(
                    "SELECT seq, secrets FROM recordings WHERE secrets IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                changed = []
                for seq, blob in rows:
                    try:
                        changed.append((self.cipher.rotate(bytes(blob)), seq))
                    except Unavailable:
                        counts["unreadable"] += 1
                conn.executemany("UPDATE recordings SET secrets = ? WHERE seq = ?", changed)
            counts["recordings"] += len(changed)
        for table in ("meetings", "apps"):
            last = 0
            while True:
                with self.pool.write() as conn:
                    rows = conn.execute(
                        f"SELECT seq, recording_config FROM {table} "
                        "WHERE instr(CAST(recording_config AS TEXT), '$secrets') > 0 AND seq > ? ORDER BY seq LIMIT ?",
                        (last, batch),
                    ).fetchall()
                    if not rows:
                        break
                    last = rows[-1][0]
                    updates = []
                    for seq, stored in rows:
                        config = msgspec.json.decode(stored)
                        storage = config.get("storage_config") if isinstance(config, dict) else None
                        if not isinstance(storage, dict) or not isinstance(storage.get("$secrets"), str):
                            continue
                        sealed: str = storage["$secrets"]
                        try:
                            storage["$secrets"] = self.cipher.rotate(sealed.encode()).decode()
                        except Unavailable:
                            counts["unreadable"] += 1
                            continue
                        updates.append((msgspec.json.encode(config), seq))
                    conn.executemany(f"UPDATE {table} SET recording_config = ? WHERE seq = ?", updates)
                counts[table] += len(updates)
        return counts
