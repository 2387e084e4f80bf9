"""Webhooks and their outbox on PostgreSQL (migration postgres/0004_webhooks.sql).

The same operations and meaning as ``recordkit.store.sqlite.webhooks``: events and deliveries are
written by triggers on ``recordings`` in the transaction of the status change itself; this mixin
keeps the registrations and serves the dispatcher. A delivery is leased with a conditional UPDATE
(its owner and lease as read): of two processes claiming it at once, PostgreSQL re-checks the
condition on the row the other one wrote, so exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import psycopg

from recordkit.domain.models import Webhook
from recordkit.domain.webhooks import ClaimedDelivery, DeliveryRecord
from recordkit.errors import Conflict, NotFound
from recordkit.leases import holder_is_dead
from recordkit.store.postgres.connection import PgPool

Conn = psycopg.Connection[Any]

_HOOK = "SELECT w.id, a.id, w.name, w.url, w.events, w.enabled, w.created_ms, w.updated_ms FROM webhooks w "
_HOOK_JOIN = "JOIN apps a ON a.seq = w.app "
_RECORD = (
    "SELECT d.id, d.webhook, e.event, e.status, d.subject, d.status, d.attempts, d.last_code, d.last_error, "
    "CASE WHEN d.status = 'pending' THEN d.next_ms END, d.created_ms, d.updated_ms, d.delivered_ms "
    "FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event "
)
_FINISHED = ("delivered", "failed", "dead", "cancelled")
_NOW_SQL = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row[0],
        app_id=row[1],
        name=bytes(row[2]).decode(),
        url=row[3],
        events=tuple(msgspec.json.decode(row[4])),
        enabled=bool(row[5]),
        created_ms=int(row[6]),
        updated_ms=int(row[7]),
    )


def _record(row: Any) -> DeliveryRecord:
    return DeliveryRecord(*row)


class PgWebhooks:
    """Mixed into ``PostgresRecordingStore``."""

    pool: PgPool
    app_seq: Callable[[str], int]

    # -- registrations (the WebhookStore port) ------------------------------------------------

    def create_webhook(self, hook: Webhook) -> None:
        app = self.app_seq(hook.app_id)
        self.pool.write(
            lambda conn: conn.execute(
                "INSERT INTO webhooks (id, app, name, url, events, enabled, created_ms, updated_ms) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    hook.id,
                    app,
                    hook.name.encode(),
                    hook.url,
                    msgspec.json.encode(list(hook.events)).decode(),
                    int(hook.enabled),
                    hook.created_ms,
                    hook.updated_ms,
                ),
            )
        )

    def list_webhooks(self, app_id: str) -> list[Webhook]:
        rows = self.pool.fetchall(_HOOK + _HOOK_JOIN + "WHERE a.id = %s ORDER BY w.created_ms, w.id", (app_id,))
        return [_webhook(r) for r in rows]

    def get_webhook(self, app_id: str, webhook_id: str) -> Webhook | None:
        row = self.pool.fetchone(_HOOK + _HOOK_JOIN + "WHERE w.id = %s AND a.id = %s", (webhook_id, app_id))
        return _webhook(row) if row else None

    def webhook_by_id(self, webhook_id: str) -> Webhook | None:
        row = self.pool.fetchone(_HOOK + _HOOK_JOIN + "WHERE w.id = %s", (webhook_id,))
        return _webhook(row) if row else None

    def save_webhook(self, hook: Webhook) -> bool:
        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE webhooks SET name = %s, url = %s, events = %s, enabled = %s, updated_ms = %s "
                "WHERE id = %s AND app = (SELECT seq FROM apps WHERE id = %s)",
                (
                    hook.name.encode(),
                    hook.url,
                    msgspec.json.encode(list(hook.events)).decode(),
                    int(hook.enabled),
                    hook.updated_ms,
                    hook.id,
                    hook.app_id,
                ),
            )
            return cur.rowcount > 0

        return self.pool.write(work)

    def delete_webhook(self, app_id: str, webhook_id: str) -> Webhook | None:
        def work(conn: Conn) -> Webhook | None:
            row = conn.execute(
                _HOOK + _HOOK_JOIN + "WHERE w.id = %s AND a.id = %s FOR UPDATE OF w", (webhook_id, app_id)
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM webhooks WHERE id = %s", (webhook_id,))
            conn.execute(
                "UPDATE webhook_deliveries SET status = 'cancelled', owner = NULL, lease_ms = NULL, "
                f"last_error = coalesce(last_error, 'webhook deleted'), updated_ms = {_NOW_SQL} "
                "WHERE webhook = %s AND status = 'pending'",
                (webhook_id,),
            )
            return _webhook(row)

        return self.pool.write(work)

    # -- the dispatcher's side ----------------------------------------------------------------

    def next_delivery_due(self) -> int | None:
        """When the earliest pending delivery is due (it may still wait for an earlier one)."""
        row = self.pool.fetchone("SELECT min(next_ms) FROM webhook_deliveries WHERE status = 'pending'")
        return None if row is None or row[0] is None else int(row[0])

    def claim_deliveries(
        self,
        owner: str,
        now: int,
        lease_ms: int,
        limit: int,
        *,
        per_webhook: int = 4,
        room: Mapping[str, int] | None = None,
        skip: frozenset[int] = frozenset(),
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries to ``owner`` until ``now + lease_ms``.

        Only the first unfinished delivery of each (webhook, recording) is a candidate, so a
        recording's events reach a webhook in order, one at a time. A delivery leased to another
        process that is gone (or whose lease lapsed) is taken over: it is sent again, with the same
        id; ``skip`` names what the caller is sending right now.
        At most ``room[webhook]`` (else ``per_webhook``) per webhook, so one slow receiver
        cannot take every sending slot. Deliveries of disabled webhooks wait."""
        if limit <= 0:
            return []
        with self.pool.connection() as conn:
            due = conn.execute(
                "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_ms <= %s LIMIT 1", (now,)
            ).fetchone()
            if due is None:
                return []
            candidates = conn.execute(
                "SELECT d.seq, d.owner, d.lease_ms, d.webhook FROM webhook_deliveries d "
                "JOIN webhooks w ON w.id = d.webhook AND w.enabled = 1 "
                "WHERE d.status = 'pending' AND d.next_ms <= %s "
                "AND (d.owner IS NULL OR d.owner <> %s OR d.lease_ms < %s) "
                "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.webhook = d.webhook "
                "AND p.subject = d.subject AND p.status = 'pending' AND p.seq < d.seq) "
                "ORDER BY d.next_ms, d.seq LIMIT %s",
                (now, owner, now, max(limit * 4, 64)),
            ).fetchall()
        room = dict(room or {})
        picked: list[tuple[int, str | None, int | None]] = []
        for seq, holder, lease, webhook in candidates:
            if len(picked) >= limit:
                break
            if seq in skip:
                continue  # being sent by the caller
            if holder is not None and holder != owner and (lease or 0) >= now and not holder_is_dead(holder):
                continue  # another live process is sending it
            left = room.get(webhook, per_webhook)
            if left <= 0:
                continue
            room[webhook] = left - 1
            picked.append((int(seq), holder, lease))
        if not picked:
            return []

        def work(conn: Conn) -> list[int]:
            taken: list[int] = []
            for seq, holder, lease in picked:
                cur = conn.execute(
                    "UPDATE webhook_deliveries SET owner = %s, lease_ms = %s WHERE seq = %s AND status = 'pending' "
                    "AND owner IS NOT DISTINCT FROM %s AND lease_ms IS NOT DISTINCT FROM %s",
                    (owner, now + lease_ms, seq, holder, lease),
                )
                if cur.rowcount:
                    taken.append(seq)
            return taken

        return self._claimed(self.pool.write(work))

    def _claimed(self, seqs: Iterable[int]) -> list[ClaimedDelivery]:
        seqs = list(seqs)
        if not seqs:
            return []
        rows = self.pool.fetchall(
            "SELECT d.seq, d.id, d.webhook, w.url, e.event, d.subject, d.attempts, e.wire, e.meeting, "
            "e.meeting_id, a.id, a.name, d.budget_from FROM webhook_deliveries d "
            "JOIN webhooks w ON w.id = d.webhook JOIN webhook_events e ON e.seq = d.event "
            "JOIN apps a ON a.seq = e.app WHERE d.seq = ANY(%s::int8[]) ORDER BY d.next_ms, d.seq",
            (seqs,),
        )
        return [
            ClaimedDelivery(
                seq=int(r[0]),
                id=r[1],
                webhook_id=r[2],
                url=r[3],
                event=r[4],
                subject=r[5],
                attempts=int(r[6]),
                wire=bytes(r[7]),
                meeting=None if r[8] is None else bytes(r[8]),
                meeting_id=r[9],
                app_id=r[10],
                app_name=bytes(r[11]).decode(),
                budget_from=int(r[12]),
            )
            for r in rows
        ]

    def record_attempt(
        self,
        seq: int,
        owner: str,
        *,
        status: str,
        next_ms: int,
        code: int | None,
        error: str | None,
        now: int,
    ) -> bool:
        """The outcome of one attempt by the lease holder: ``status`` pending (retry at
        ``next_ms``), delivered, failed or dead. False if the lease was lost meanwhile."""

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1, next_ms = %s, owner = NULL, "
                "lease_ms = NULL, last_code = %s, last_error = %s, updated_ms = %s, "
                "delivered_ms = CASE WHEN %s = 'delivered' THEN %s ELSE delivered_ms END "
                "WHERE seq = %s AND owner = %s AND status = 'pending'",
                (
                    status,
                    next_ms,
                    code,
                    None if error is None else error.replace("\x00", ""),
                    now,
                    status,
                    now,
                    seq,
                    owner,
                ),
            )
            return cur.rowcount > 0

        return self.pool.write(work)

    def release_deliveries(self, owner: str) -> int:
        """Give back what ``owner`` holds (a clean shutdown): another process may send it at once."""
        return self.pool.write(
            lambda conn: int(
                conn.execute(
                    "UPDATE webhook_deliveries SET owner = NULL, lease_ms = NULL "
                    "WHERE owner = %s AND status = 'pending'",
                    (owner,),
                ).rowcount
            )
        )

    def prune_deliveries(self, before_ms: int, batch: int = 5000) -> int:
        """Forget finished deliveries last changed before ``before_ms``, and events none refers to."""

        def work(conn: Conn) -> int:
            gone = conn.execute(
                "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries "
                "WHERE status IN ('delivered', 'failed', 'dead', 'cancelled') AND updated_ms < %s LIMIT %s)",
                (before_ms, batch),
            ).rowcount
            conn.execute(
                "DELETE FROM webhook_events WHERE created_ms < %s AND NOT EXISTS "
                "(SELECT 1 FROM webhook_deliveries d WHERE d.event = webhook_events.seq)",
                (before_ms,),
            )
            return int(gone)

        return self.pool.write(work)

    # -- the operator's side ------------------------------------------------------------------

    def list_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        statuses: Iterable[str] = (),
        recording_id: str | None = None,
        limit: int = 50,
    ) -> list[DeliveryRecord]:
        """The delivery log, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if webhook_id:
            where.append("d.webhook = %s")
            params.append(webhook_id)
        wanted = sorted(set(statuses))
        if wanted:
            where.append("d.status = ANY(%s::text[])")
            params.append(wanted)
        if recording_id:
            where.append("d.subject = %s")
            params.append(recording_id)
        sql = _RECORD + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY d.seq DESC LIMIT %s"
        return [_record(r) for r in self.pool.fetchall(sql, [*params, limit])]

    def delivery(self, delivery_id: str) -> DeliveryRecord | None:
        row = self.pool.fetchone(_RECORD + "WHERE d.id = %s", (delivery_id,))
        return _record(row) if row else None

    def redeliver(self, delivery_id: str, now: int) -> DeliveryRecord:
        """Queue a delivery again, with the same id (rtk-uuid): its next attempt is attempt N+1 (the
        count and the last answer are kept) with a fresh budget of attempts; a pending one is made
        due now. NotFound for an unknown id; Conflict if its webhook is gone."""

        def work(conn: Conn) -> None:
            row = conn.execute(
                "SELECT d.status, w.id FROM webhook_deliveries d LEFT JOIN webhooks w ON w.id = d.webhook "
                "WHERE d.id = %s FOR UPDATE OF d",
                (delivery_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"delivery {delivery_id} not found")
            status, webhook = row
            if webhook is None:
                raise Conflict(f"delivery {delivery_id}: its webhook was deleted")
            if status in _FINISHED:
                conn.execute(
                    "UPDATE webhook_deliveries SET status = 'pending', budget_from = attempts, next_ms = %s, "
                    "owner = NULL, lease_ms = NULL, updated_ms = %s WHERE id = %s",
                    (now, now, delivery_id),
                )
            else:
                conn.execute(
                    "UPDATE webhook_deliveries SET next_ms = LEAST(next_ms, %s), updated_ms = %s WHERE id = %s",
                    (now, now, delivery_id),
                )

        self.pool.write(work)
        found = self.delivery(delivery_id)
        assert found is not None
        return found
