"""Webhooks in-process: the payload, the rules, the retry schedule, the outbox the triggers fill
(order, leases, attempts, redelivery) and the dispatcher against httpx's MockTransport."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from recordkit.domain.models import Meeting, Recording
from recordkit.domain.timefmt import now_ms
from recordkit.domain.webhooks import (
    EVENTS,
    Webhook,
    check_events,
    check_name,
    check_url,
    recording_status_payload,
)
from recordkit.errors import Conflict, InvalidRequest, NotFound
from recordkit.jobs.webhooks import WebhookDispatcher, WebhookPolicy, judge
from recordkit.security.netpolicy import AddressPolicy
from recordkit.security.webhook_keys import WebhookSigner, key_path
from recordkit.settings import Settings
from recordkit.store.factory import open_store

ME = f"{socket.gethostname()}:{os.getpid()}"
LIVE_OTHER = f"{socket.gethostname()}:{os.getppid()}"  # a process that exists
DEAD = f"{socket.gethostname()}:{2**22 + 12345}"  # beyond pid_max: never a live process

# -- the payload ---------------------------------------------------------------------------------

WIRE = {
    "id": "97cb480d-5840-4528-ace3-919b5e386c68",
    "audio_download_url": "https://files.example/a.m4a",
    "download_url": "https://files.example/v.mp4",
    "download_url_expiry": "2026-06-10T10:30:00.000Z",
    "file_size": 2044680,
    "invoked_time": "2026-06-03T09:59:58.000Z",
    "output_file_name": "weekly-sync.mp4",
    "session_id": None,
    "started_time": "2026-06-03T10:00:00.000Z",
    "status": "UPLOADED",
    "stopped_time": "2026-06-03T10:30:00.000Z",
    "recording_duration": 1800,
    "storage_config": None,
}
MEETING = {
    "id": "50c8940e-1b97-402a-97d6-2708b7feca41",
    "created_at": "2026-06-03T09:00:00.000Z",
    "updated_at": "2026-06-03T09:00:00.000Z",
    "status": "ACTIVE",
    "title": "Weekly sync",
}


def test_recording_status_payload_is_cloudflares_camel_case() -> None:
    out = recording_status_payload(WIRE, MEETING, meeting_id=None, app_id="app-1", app_name="Prod")
    assert list(out) == ["event", "recording", "meeting"]
    assert out["event"] == "recording.statusUpdate"
    assert out["recording"] == {
        "id": WIRE["id"],
        "recordingId": WIRE["id"],
        "status": "UPLOADED",
        "downloadUrl": "https://files.example/v.mp4",
        "audioDownloadUrl": "https://files.example/a.m4a",
        "downloadUrlExpiry": "2026-06-10T10:30:00.000Z",
        "startedTime": "2026-06-03T10:00:00.000Z",
        "stoppedTime": "2026-06-03T10:30:00.000Z",
        "invokedTime": "2026-06-03T09:59:58.000Z",
        "fileSize": "2044680",
        "outputFileName": "weekly-sync.mp4",
        "meetingId": MEETING["id"],
        "recordingDuration": 1800,
        "organizationId": "app-1",
        "roomUUID": None,
    }
    assert out["meeting"] == {
        "id": MEETING["id"],
        "sessionId": None,
        "title": "Weekly sync",
        "roomName": MEETING["id"],
        "status": "ACTIVE",
        "createdAt": "2026-06-03T09:00:00.000Z",
        "organizedBy": {"id": "app-1", "name": "Prod"},
    }


@pytest.mark.parametrize(("size", "text"), [(None, None), (0, "0"), (1234.5, "1234.5"), (10.0, "10")])
def test_file_size_is_a_string_as_cloudflare_sends_it(size: float | None, text: str | None) -> None:
    out = recording_status_payload({**WIRE, "file_size": size}, None, meeting_id="m", app_id="a", app_name="n")
    assert out["recording"]["fileSize"] == text
    assert out["recording"]["meetingId"] == "m" and out["meeting"]["id"] == "m"


# -- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://example.com/hook", "http://127.0.0.1:8080/x?y=1", "HTTPS://h.example", "http://[::1]:9/p"],
)
def test_good_urls(url: str) -> None:
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("", "must not be empty"),
        ("ftp://example.com/x", "absolute http or https"),
        ("example.com/hook", "absolute http or https"),
        ("http:///nohost", "absolute http or https"),
        ("http://exa mple.com", "spaces"),
        ("http://example.com:99999/", "absolute http or https"),
        ("https://example.com/" + "a" * 2100, "at most 2048"),
    ],
)
def test_bad_urls(url: str, needle: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_url(url)
    assert caught.value.message.startswith("url: ") and needle in caught.value.message


def test_events_rules() -> None:
    assert check_events(["recording.statusUpdate", "meeting.started", "recording.statusUpdate"]) == (
        "recording.statusUpdate",
        "meeting.started",
    )
    assert check_events(list(EVENTS)) == EVENTS
    with pytest.raises(InvalidRequest, match=r"events\[1\]: must be one of"):
        check_events(["meeting.started", "recording.done"])
    with pytest.raises(InvalidRequest, match="at least one"):
        check_events([])
    with pytest.raises(InvalidRequest, match="name: must not be empty"):
        check_name("   ")
    with pytest.raises(InvalidRequest, match="at most 255"):
        check_name("x" * 256)


# -- retry schedule ------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_with_jitter_and_caps_at_600_seconds() -> None:
    policy = WebhookPolicy(attempts=12, base_seconds=2.0)
    rng = random.Random(7)
    for failures in range(1, 12):
        step = 2.0 * 2 ** (failures - 1)
        for _ in range(50):
            wait = policy.delay(failures, rng)
            if step < 600:
                assert step <= wait <= min(600.0, step * 1.25)
            else:
                assert 480.0 <= wait <= 600.0
    assert policy.delay(1, random.Random(1)) >= 2.0  # the first retry: after the base at least


@pytest.mark.parametrize(
    ("code", "error", "before", "status"),
    [
        (200, None, 0, "delivered"),
        (204, None, 5, "delivered"),
        (400, None, 0, "failed"),
        (404, None, 3, "failed"),
        (429, None, 0, "failed"),
        (301, None, 0, "failed"),
        (500, None, 0, "pending"),
        (503, None, 10, "pending"),
        (None, "ConnectError", 0, "pending"),
        (502, None, 11, "dead"),
        (None, "timed out", 11, "dead"),
    ],
)
def test_judge(code: int | None, error: str | None, before: int, status: str) -> None:
    out = judge(code, error, before, WebhookPolicy(attempts=12, base_seconds=2.0), 1_000_000)
    assert out.status == status
    if status == "pending":
        step = 2000 * 2**before
        low, high = (step, step * 1.25) if step < 600_000 else (480_000, 600_000)
        assert 1_000_000 + low <= out.next_ms <= 1_000_000 + high
    if status in ("failed", "dead"):
        assert out.error


def test_judge_counts_a_redeliverys_budget_from_where_it_began() -> None:
    policy = WebhookPolicy(attempts=12, base_seconds=2.0)
    fresh = judge(503, None, 12, policy, 1_000_000, budget_from=12)  # attempt 13, the redelivery's first
    assert fresh.status == "pending" and 1_000_000 + 2000 <= fresh.next_ms <= 1_000_000 + 2500
    last = judge(503, None, 23, policy, 1_000_000, budget_from=12)  # attempt 24, the redelivery's 12th
    assert (last.status, last.error) == ("dead", "HTTP 503; gave up after 12 attempts since the redelivery (24 in all)")
    assert judge(503, None, 11, policy, 1_000_000).error == "HTTP 503; gave up after 12 attempts"


# -- the outbox ----------------------------------------------------------------------------------


class World:
    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.store: Any = open_store(Settings.from_env(env={}, data_dir=data_dir, database_url=database_url))
        account = self.store.create_account(now=now_ms())
        self.app = self.store.create_app(account.id, "demo", now=now_ms())
        now = now_ms()
        self.meeting = Meeting(id=_uuid(), app_id=self.app.id, created_ms=now, updated_ms=now, title="Sync")
        self.store.create_meeting(self.meeting)

    def hook(self, *events: str, enabled: bool = True, url: str = "http://127.0.0.1:9/hook") -> Webhook:
        now = now_ms()
        hook = Webhook(_uuid(), self.app.id, "h", url, events or ("recording.statusUpdate",), enabled, now, now)
        self.store.create_webhook(hook)
        return hook

    def recording(self) -> Recording:
        rec = Recording(
            id=_uuid(), app_id=self.app.id, meeting_id=self.meeting.id, status="INVOKED", invoked_ms=now_ms()
        )
        self.store.insert_recording(rec, exclusive=False, now=now_ms())
        return rec

    def move(self, rec: Recording, status: str) -> None:
        self.store.update_recording(rec.id, lambda r: msgspec.structs.replace(r, status=status), now_ms())

    def statuses(self, **filters: Any) -> list[tuple[str | None, str]]:
        rows = self.store.list_deliveries(limit=1000, **filters)
        return [(d.event_status, d.status) for d in reversed(rows)]


def _write(store: Any, sql: str, params: tuple[Any, ...]) -> None:
    """Raw SQL in a write transaction, on either store (``?`` placeholders)."""
    if type(store).__name__ == "PostgresRecordingStore":
        store.pool.write(lambda conn: conn.execute(sql.replace("?", "%s"), params))
        return
    with store.pool.write() as conn:
        conn.execute(sql, params)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The outbox on both stores (PostgreSQL: a fresh database, tests/support/postgres.py)."""
    w = World(tmp_path / "data", request.getfixturevalue("pg_url") if request.param == "postgres" else None)
    yield w
    w.store.close()


def test_every_status_change_of_a_managed_recording_is_queued_once_per_subscribed_webhook(world: World) -> None:
    world.recording()  # before any webhook: nothing queued
    assert world.store.list_deliveries() == []
    a = world.hook()
    b = world.hook("recording.statusUpdate", "meeting.started")
    world.hook("meeting.started")  # not subscribed
    world.hook(enabled=False)  # disabled
    rec = world.recording()
    world.move(rec, "RECORDING")
    world.move(rec, "RECORDING")  # no change, no event
    world.move(rec, "PAUSED")
    for hook in (a, b):
        assert world.statuses(webhook_id=hook.id) == [
            ("INVOKED", "pending"),
            ("RECORDING", "pending"),
            ("PAUSED", "pending"),
        ]
    assert len(world.store.list_deliveries(limit=100)) == 6
    ids = [d.id for d in world.store.list_deliveries(limit=100)]
    assert len(set(ids)) == 6 and all(len(i) == 36 and i[14] == "4" for i in ids)


def test_imported_recordings_never_emit(world: World) -> None:
    world.hook()
    rec = Recording(id=_uuid(), app_id=world.app.id, meeting_id=world.meeting.id, status="UPLOADED", invoked_ms=1)
    world.store.import_recordings(world.app.id, [(rec, world.meeting)], now=now_ms())
    world.store.import_recordings(
        world.app.id, [(msgspec.structs.replace(rec, status="ERRORED"), world.meeting)], now=now_ms()
    )
    assert world.store.list_deliveries() == []


def test_a_recordings_events_go_one_at_a_time_in_order(world: World) -> None:
    world.hook()
    one, two = world.recording(), world.recording()
    world.move(one, "RECORDING")
    world.move(two, "RECORDING")
    store = world.store
    first = store.claim_deliveries(ME, now_ms(), 30_000, 10)
    assert sorted((c.subject, msgspec.json.decode(c.wire)["status"]) for c in first) == sorted(
        [(one.id, "INVOKED"), (two.id, "INVOKED")]
    )
    assert store.claim_deliveries(ME, now_ms(), 30_000, 10, skip=frozenset(c.seq for c in first)) == []
    # A retry scheduled later holds the recording's next event back.
    held = next(c for c in first if c.subject == one.id)
    assert store.record_attempt(
        held.seq, ME, status="pending", next_ms=now_ms() + 60_000, code=500, error="HTTP 500", now=now_ms()
    )
    done = next(c for c in first if c.subject == two.id)
    assert store.record_attempt(done.seq, ME, status="delivered", next_ms=now_ms(), code=200, error=None, now=now_ms())
    nxt = store.claim_deliveries(ME, now_ms(), 30_000, 10)
    assert [(c.subject, msgspec.json.decode(c.wire)["status"]) for c in nxt] == [(two.id, "RECORDING")]
    # A failed (4xx) or dead delivery no longer holds the next one back.
    store.record_attempt(nxt[0].seq, ME, status="delivered", next_ms=now_ms(), code=200, error=None, now=now_ms())
    redo = store.redeliver(held.id, now_ms())  # due now, same id
    assert redo.id == held.id and redo.status == "pending"
    again = store.claim_deliveries(ME, now_ms(), 30_000, 10)
    assert [c.id for c in again] == [held.id] and again[0].attempts == 1
    store.record_attempt(again[0].seq, ME, status="failed", next_ms=now_ms(), code=400, error="HTTP 400", now=now_ms())
    last = store.claim_deliveries(ME, now_ms(), 30_000, 10)
    assert [(c.subject, msgspec.json.decode(c.wire)["status"]) for c in last] == [(one.id, "RECORDING")]


def test_leases_one_sender_at_a_time_and_a_dead_holders_work_is_taken_over(world: World) -> None:
    world.hook()
    world.recording()
    store = world.store
    now = now_ms()
    mine = store.claim_deliveries(LIVE_OTHER, now, 30_000, 10)
    assert len(mine) == 1
    assert store.claim_deliveries(ME, now, 30_000, 10) == []  # held by a live process
    assert not store.record_attempt(mine[0].seq, ME, status="delivered", next_ms=now, code=200, error=None, now=now)
    # Its lease lapses: taken over, same delivery id.
    later = store.claim_deliveries(ME, now + 31_000, 30_000, 10)
    assert [c.id for c in later] == [mine[0].id]
    # A holder whose process is gone is taken over at once.
    store.release_deliveries(ME)
    _write(store, "UPDATE webhook_deliveries SET owner = ?, lease_ms = ?", (DEAD, now + 60_000))
    assert [c.id for c in store.claim_deliveries(ME, now, 30_000, 10)] == [mine[0].id]


def test_deleting_a_webhook_cancels_its_pending_deliveries_and_disabled_ones_wait(world: World) -> None:
    keep, gone = world.hook(), world.hook()
    rec = world.recording()
    store = world.store
    store.save_webhook(msgspec.structs.replace(keep, enabled=False))
    assert store.claim_deliveries(ME, now_ms(), 30_000, 10)[0].webhook_id == gone.id
    store.release_deliveries(ME)
    assert store.delete_webhook(world.app.id, gone.id) is not None
    assert world.statuses(webhook_id=gone.id) == [("INVOKED", "cancelled")]
    with pytest.raises(Conflict):
        store.redeliver(store.list_deliveries(webhook_id=gone.id)[0].id, now_ms())
    with pytest.raises(NotFound):
        store.redeliver("00000000-0000-4000-8000-000000000000", now_ms())
    assert store.claim_deliveries(ME, now_ms(), 30_000, 10) == []  # keep is disabled: its delivery waits
    world.move(rec, "RECORDING")  # while disabled: not queued for it
    store.save_webhook(keep)
    assert [msgspec.json.decode(c.wire)["status"] for c in store.claim_deliveries(ME, now_ms(), 30_000, 10)] == [
        "INVOKED"
    ]
    assert world.statuses(webhook_id=keep.id) == [("INVOKED", "pending")]


# -- the dispatcher ------------------------------------------------------------------------------


def _verify(public_pem: str, body: bytes, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def _run_until(dispatcher: WebhookDispatcher, done: Any, timeout: float = 10.0) -> None:
    """Run the dispatcher until ``done()`` (at most ``timeout`` s), then stop it as the server does.
    No asyncio.timeout / cancellation here: on Python 3.11.2 they could swallow each other and hang."""

    async def main() -> None:
        task = asyncio.create_task(dispatcher.run())
        deadline = time.monotonic() + timeout
        try:
            while not done() and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.02)
        finally:
            await dispatcher.stop_and_wait(task)
        assert task.done(), "the dispatcher did not stop"

    asyncio.run(main())


def test_dispatcher_retries_5xx_with_one_rtk_uuid_and_never_retries_4xx(world: World, tmp_path: Path) -> None:
    retried = world.hook(url="http://receiver.test/retried")
    refused = world.hook(url="http://receiver.test/refused")
    answers = {"/retried": [500, 503, 200], "/refused": [400]}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        queue = answers[request.url.path]
        return httpx.Response(queue.pop(0) if queue else 200)

    signer = WebhookSigner(key_path(tmp_path / "keys"))
    dispatcher = WebhookDispatcher(
        world.store,
        signer,
        WebhookPolicy(attempts=12, base_seconds=0.05, timeout_seconds=2),
        transport=httpx.MockTransport(handler),
        poll_seconds=0.02,
    )
    world.recording()

    def finished() -> bool:
        return {d.status for d in world.store.list_deliveries()} <= {"delivered", "failed"}

    _run_until(dispatcher, finished)
    retried_calls = [r for r in seen if r.url.path == "/retried"]
    assert len(retried_calls) == 3
    assert {r.headers["rtk-uuid"] for r in retried_calls} == {world.store.list_deliveries(webhook_id=retried.id)[0].id}
    assert {r.content for r in retried_calls} == {retried_calls[0].content}  # the same bytes every time
    assert [r.url.path for r in seen].count("/refused") == 1
    for request in seen:
        assert _verify(signer.public_pem(), request.content, request.headers["rtk-signature"])
        assert request.headers["content-type"] == "application/json"
        assert request.headers["rtk-webhook-id"] in (retried.id, refused.id)
    (ok,) = world.store.list_deliveries(webhook_id=retried.id)
    assert (ok.status, ok.attempts, ok.last_code) == ("delivered", 3, 200)
    (no,) = world.store.list_deliveries(webhook_id=refused.id)
    assert (no.status, no.attempts, no.last_code) == ("failed", 1, 400)
    assert "not retried" in (no.last_error or "")


def _three_attempts(world: World, tmp_path: Path, handler: Any) -> WebhookDispatcher:
    """A dispatcher with a budget of 3 attempts and short waits, sending through ``handler``."""
    return WebhookDispatcher(
        world.store,
        WebhookSigner(key_path(tmp_path / "keys")),
        WebhookPolicy(attempts=3, base_seconds=0.02, timeout_seconds=1),
        transport=httpx.MockTransport(handler),
        poll_seconds=0.02,
    )


def test_dispatcher_gives_up_after_max_attempts(world: World, tmp_path: Path) -> None:
    world.hook(url="http://receiver.test/down")
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["rtk-uuid"])
        raise httpx.ConnectError("connection refused", request=request)

    dispatcher = _three_attempts(world, tmp_path, handler)
    world.recording()
    _run_until(dispatcher, lambda: world.store.list_deliveries()[0].status != "pending")
    (dead,) = world.store.list_deliveries()
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert "ConnectError" in (dead.last_error or "") and "3 attempts" in (dead.last_error or "")
    assert calls == [dead.id] * 3


def test_a_redelivery_is_the_next_attempt_with_a_fresh_budget(world: World, tmp_path: Path) -> None:
    world.hook(url="http://receiver.test/down")
    calls: list[str] = []
    up = False

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["rtk-uuid"])
        if up:
            return httpx.Response(200)
        raise httpx.ConnectError("connection refused", request=request)

    dispatcher = _three_attempts(world, tmp_path, handler)
    world.recording()
    _run_until(dispatcher, lambda: world.store.list_deliveries()[0].status != "pending")
    (dead,) = world.store.list_deliveries()
    assert (dead.status, dead.attempts) == ("dead", 3)

    queued = world.store.redeliver(dead.id, now_ms())  # the history stays: 3 attempts, the last error
    assert (queued.status, queued.attempts, queued.last_error) == ("pending", 3, dead.last_error)
    _run_until(dispatcher, lambda: world.store.list_deliveries()[0].status != "pending")
    (again,) = world.store.list_deliveries()
    assert (again.status, again.attempts) == ("dead", 6)  # attempts 4, 5 and 6: a whole budget of 3
    assert "gave up after 3 attempts since the redelivery (6 in all)" in (again.last_error or "")

    up = True
    world.store.redeliver(dead.id, now_ms())
    _run_until(dispatcher, lambda: world.store.list_deliveries()[0].status != "pending")
    (done,) = world.store.list_deliveries()
    assert (done.status, done.attempts, done.last_code, done.last_error) == ("delivered", 7, 200, None)
    assert calls == [dead.id] * 7


def test_a_send_connects_to_the_address_the_policy_checked(world: World, tmp_path: Path) -> None:
    """With the address policy on, one lookup decides: the send connects to the checked address (as
    the named host, TLS checked against the name), so DNS that changes after the check (rebinding)
    cannot move it onto a private address; a host that stops resolving is retried, never sent by name.
    The receivers are httpx's MockTransport: public addresses cannot be served on this machine."""
    answers = {
        "hooks.example.com": [["93.184.216.34", "2606:2800:220:1::1"]],
        "rebind.example": [["93.184.216.35"], ["10.0.0.7"]],  # public when checked, private after
        "gone.example": [[]],
    }
    lookups: list[str] = []

    def resolver(host: str) -> list[str]:
        lookups.append(host)
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    tls = world.hook(url="https://hooks.example.com:8443/a?x=1")
    rebind = world.hook(url="http://rebind.example/b")
    gone = world.hook(url="http://gone.example/c")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    dispatcher = WebhookDispatcher(
        world.store,
        WebhookSigner(key_path(tmp_path / "keys")),
        WebhookPolicy(attempts=12, base_seconds=30, timeout_seconds=2, allow_private_network=False),
        transport=httpx.MockTransport(handler),
        poll_seconds=0.02,
        addresses=AddressPolicy(allow_private=False, resolver=resolver),
    )
    world.recording()

    def settled() -> bool:
        by_hook = {h.id: world.store.list_deliveries(webhook_id=h.id) for h in (tls, rebind, gone)}
        return all(d and d[0].attempts >= 1 for d in by_hook.values())

    _run_until(dispatcher, settled)
    assert lookups.count("hooks.example.com") == 1 and lookups.count("rebind.example") == 1
    by_path = {r.url.path: r for r in seen}
    assert set(by_path) == {"/a", "/b"}  # nothing was sent to the host that does not resolve
    a = by_path["/a"]
    assert (a.url.scheme, a.url.host, a.url.port, a.url.query) == ("https", "93.184.216.34", 8443, b"x=1")
    assert a.headers["host"] == "hooks.example.com:8443"
    assert a.extensions["sni_hostname"] == "hooks.example.com"
    b = by_path["/b"]
    assert (b.url.host, b.headers["host"]) == ("93.184.216.35", "rebind.example")
    assert "sni_hostname" not in b.extensions
    assert world.store.list_deliveries(webhook_id=tls.id)[0].status == "delivered"
    assert world.store.list_deliveries(webhook_id=rebind.id)[0].status == "delivered"
    (waiting,) = world.store.list_deliveries(webhook_id=gone.id)
    assert waiting.status == "pending" and "does not resolve" in (waiting.last_error or "")
    # The next event: rebind.example now resolves to a private address, and is refused.
    world.recording()
    _run_until(dispatcher, lambda: world.store.list_deliveries(webhook_id=rebind.id)[0].status != "pending")
    refused = world.store.list_deliveries(webhook_id=rebind.id)[0]
    assert refused.status == "failed" and "10.0.0.7" in (refused.last_error or "")
    assert [r.url.path for r in seen].count("/b") == 1


def test_the_signing_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = key_path(tmp_path / "d")
    first = WebhookSigner(path).public_pem()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert WebhookSigner(path).public_pem() == first
    assert first.startswith("-----BEGIN PUBLIC KEY-----")
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temporary file left
