"""Webhooks (SPEC §7) against live ``recordkit serve`` processes and a real receiver on loopback.

The receiver is a threaded ``http.server`` that verifies every ``rtk-signature`` with the public key
fetched from the server's ``/.well-known/webhooks.json`` and answers as each test scripts it
(a status code, or "hang": hold the request without answering). Servers retry fast here
(``RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS`` 0.1-0.2). Two servers record for real only where the
lifecycle needs it; the others run without an encoder (``RECORDKIT_FFMPEG=/nonexistent``), so a
recording goes INVOKED -> ERRORED at once: two events, no encoding.
"""

from __future__ import annotations

import base64
import contextlib
import json
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cloudflare
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.recording import Kit, Tenant
from tests.support.servers import RkServer, free_port, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

SMALL = {"width": 160, "height": 120}
EVENTS = [
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
]
FAST = {"RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS": "0.2", "RECORDKIT_WEBHOOK_TIMEOUT_SECONDS": "5"}


# -- the receiver ---------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answer: int | str

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def uuid(self) -> str:
        return self.headers["rtk-uuid"]

    @property
    def status(self) -> str:
        return str(self.payload["recording"]["status"])


@dataclass
class Receiver:
    """Records every POST; ``script(n, path)`` says how to answer the n-th one (0-based) of a path."""

    public_pem: str
    port: int = 0
    script: Callable[[int, str], int | str] = lambda n, path: 200
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        key = serialization.load_pem_public_key(self.public_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    signature = base64.b64decode(self.headers.get("rtk-signature") or "")
                    key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
                    verified = True
                except Exception:
                    verified = False
                with receiver._lock:
                    n = sum(1 for r in receiver.received if r.path == self.path)
                    answer = receiver.script(n, self.path)
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, verified, answer)
                    )
                if answer == "hang":
                    receiver._release.wait(60)
                    return
                assert isinstance(answer, int)
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


def wait_for(check: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {what()}")
        time.sleep(0.05)


def public_pem(server: RkServer) -> str:
    resp = httpx.get(f"{server.origin}/.well-known/webhooks.json", timeout=10)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["data"]["publicKey"])


def deliveries(server: RkServer, *args: str) -> list[dict[str, Any]]:
    out = run_cli("webhooks", "deliveries", "--data-dir", str(server.data_dir), "--limit", "1000", "--json", *args)
    rows: list[dict[str, Any]] = json.loads(out.stdout)["deliveries"]
    return rows


@contextlib.contextmanager
def webhook(tenant: Tenant, url: str, events: list[str] | None = None, **extra: Any) -> Iterator[Any]:
    with tenant.sdk() as client:
        hooks = client.realtime_kit.webhooks
        made = hooks.create_webhook(
            tenant.app,
            account_id=tenant.account,
            name="e2e receiver",
            url=url,
            events=events or ["recording.statusUpdate"],  # type: ignore[list-item]
            **extra,
        ).data
        try:
            yield made
        finally:
            hooks.delete_webhook(made.id, account_id=tenant.account, app_id=tenant.app)


def assert_envelope(resp: httpx.Response, status: int, *needles: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"success", "error"} and body["success"] is False, body
    assert body["error"]["code"] == status, body
    for needle in needles:
        assert needle in body["error"]["message"], body


# -- servers --------------------------------------------------------------------------------------


def _server(
    tmp_path_factory: pytest.TempPathFactory, name: str, databases: Callable[[], dict[str, str]], **env: str
) -> tuple[RkServer, Tenant]:
    """A server of its own, on the module's store (``databases``, tests/conftest.py: on
    PostgreSQL a database of its own)."""
    srv = RkServer(tmp_path_factory.mktemp(name), env={**databases(), **FAST, **env})
    tenant = Tenant.create(srv)
    srv.start()
    return srv, tenant


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv, tenant = _server(tmp_path_factory, "hooks-main", databases)
    try:
        yield tenant
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def noenc(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv, tenant = _server(tmp_path_factory, "hooks-noenc", databases, RECORDKIT_FFMPEG="/nonexistent")
    try:
        yield tenant
    finally:
        srv.stop()


# -- the API --------------------------------------------------------------------------------------


def test_webhooks_crud_through_the_official_sdk(main: Tenant) -> None:
    t = main
    with t.sdk(max_retries=0) as client:
        hooks = client.realtime_kit.webhooks
        made = hooks.create_webhook(
            t.app,
            account_id=t.account,
            name="All recording events",
            url="https://example.com/hooks/rk",
            events=["recording.statusUpdate", "meeting.started"],
        )
        assert made.success is True
        hook = made.data
        assert hook.name == "All recording events" and hook.url == "https://example.com/hooks/rk"
        assert hook.events == ["recording.statusUpdate", "meeting.started"]
        assert hook.enabled is True
        assert hook.created_at == hook.updated_at and hook.created_at.tzinfo is not None

        listed = hooks.get_webhooks(t.app, account_id=t.account)
        assert listed.success and hook.id in [h.id for h in listed.data]
        got = hooks.get_webhook_by_id(hook.id, account_id=t.account, app_id=t.app).data
        assert got.model_dump() == hook.model_dump()

        edited = hooks.edit_webhook(hook.id, account_id=t.account, app_id=t.app, enabled=False, name="renamed").data
        assert (edited.enabled, edited.name, edited.url, edited.events) == (False, "renamed", hook.url, hook.events)
        assert edited.updated_at >= hook.updated_at and edited.created_at == hook.created_at

        replaced = hooks.replace_webhook(
            hook.id,
            account_id=t.account,
            app_id=t.app,
            name="replaced",
            url="http://127.0.0.1:1/x",
            events=["meeting.ended"],
        ).data
        assert (replaced.name, replaced.url, replaced.events, replaced.enabled) == (
            "replaced",
            "http://127.0.0.1:1/x",
            ["meeting.ended"],
            True,
        )

        deleted = hooks.delete_webhook(hook.id, account_id=t.account, app_id=t.app)
        assert deleted.success and deleted.data.id == hook.id
        with pytest.raises(cloudflare.NotFoundError):
            hooks.get_webhook_by_id(hook.id, account_id=t.account, app_id=t.app)
        assert hook.id not in [h.id for h in hooks.get_webhooks(t.app, account_id=t.account).data]

    with t.http() as http:
        created = http.post(f"{t.kit}/webhooks", json={"name": "n", "url": "https://e.x/h", "events": EVENTS})
        assert created.status_code == 201, created.text
        assert set(created.json()) == {"success", "data"}
        assert set(created.json()["data"]) == {"id", "name", "url", "events", "enabled", "created_at", "updated_at"}
        everything = http.get(f"{t.kit}/webhooks/all")
        assert everything.status_code == 200 and everything.json() == {"success": True, "data": EVENTS}
        assert http.delete(f"{t.kit}/webhooks/{created.json()['data']['id']}").status_code == 200


def test_bad_input_and_other_callers_get_the_envelope(main: Tenant) -> None:
    t = main
    base = f"{t.kit}/webhooks"
    good = {"name": "n", "url": "https://example.com/h", "events": ["recording.statusUpdate"]}
    with t.http() as http:
        for body, needle in (
            ({"name": "n", "events": ["recording.statusUpdate"]}, "url"),
            ({**good, "url": "ftp://example.com/h"}, "url: must be an absolute http or https URL"),
            ({**good, "events": ["recording.done"]}, "events[0]: must be one of"),
            ({**good, "events": []}, "events: must name at least one event"),
            ({**good, "events": "recording.statusUpdate"}, "events"),
            ({**good, "name": "  "}, "name: must not be empty"),
            ({**good, "enabled": "yes"}, "enabled"),
        ):
            assert_envelope(http.post(base, json=body), 400, needle)
        assert_envelope(http.post(base, content=b"{not json", headers={"content-type": "application/json"}), 400)
        assert_envelope(http.get(f"{base}/not-a-uuid"), 400, "webhook_id")
        unknown = "0b0b0b0b-0000-4000-8000-000000000000"
        assert_envelope(http.get(f"{base}/{unknown}"), 404, unknown)
        assert_envelope(http.patch(f"{base}/{unknown}", json={"name": "x"}), 404)
        assert_envelope(http.delete(base), 405)
        made = http.post(base, json=good).json()["data"]
        try:
            assert_envelope(http.patch(f"{base}/{made['id']}", json={"enabled": None}), 400, "enabled")
            assert_envelope(http.put(f"{base}/{made['id']}", json={"name": "only a name"}), 400, "url")
            assert http.get(f"{base}/{made['id']}").json()["data"] == made  # nothing changed

            ro = httpx.Client(base_url=t.server.origin, headers={"Authorization": f"Bearer {t.ro_token}"})
            with ro:
                assert ro.get(base).status_code == 200
                assert ro.get(f"{base}/{made['id']}").status_code == 200
                assert_envelope(ro.post(base, json=good), 403)
                assert_envelope(ro.patch(f"{base}/{made['id']}", json={"name": "x"}), 403)
                assert_envelope(ro.delete(f"{base}/{made['id']}"), 403)

            other = Tenant.create(t.server)  # another account on the same server
            with other.http() as b:
                assert_envelope(b.get(base), 403)
                assert_envelope(b.post(base, json=good), 403)
                assert_envelope(b.delete(f"{base}/{made['id']}"), 403)
                assert_envelope(b.get(f"{other.kit}/webhooks/{made['id']}"), 404)  # not in its own app
                assert b.get(f"{other.kit}/webhooks").json() == {"success": True, "data": []}
            anon = httpx.get(f"{t.server.origin}{base}")
            assert anon.status_code == 401 and anon.json()["errors"][0]["code"] == 10000
        finally:
            http.delete(f"{base}/{made['id']}")


def test_the_public_key_is_served_as_realtimekit_serves_it(main: Tenant) -> None:
    resp = httpx.get(f"{main.server.origin}/.well-known/webhooks.json", timeout=10)  # no credentials
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"success", "data", "message"} and body["success"] is True and body["message"] == ""
    pem = body["data"]["publicKey"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.rstrip().endswith("-----END PUBLIC KEY-----")
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    key_file = main.server.data_dir / "webhooks.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cli = run_cli("webhooks", "public-key", "--data-dir", str(main.server.data_dir)).stdout
    assert cli == pem


# -- delivery -------------------------------------------------------------------------------------


def test_a_recordings_every_status_reaches_the_receiver_in_order(main: Tenant) -> None:
    receiver = Receiver(public_pem(main.server)).start()
    try:
        with (
            webhook(main, receiver.url("/hooks")) as hook,
            webhook(main, receiver.url("/meetings-only"), ["meeting.started", "meeting.ended"]),
            webhook(main, receiver.url("/disabled"), enabled=False),
            main.sdk() as client,
        ):
            kit = Kit(main, client)
            meeting = kit.meeting("webhooks: lifecycle")
            rec = kit.start(meeting, video_config=SMALL)
            kit.wait(rec.id, {"RECORDING"}, 30)
            time.sleep(1.5)
            kit.act(rec.id, "pause")
            time.sleep(0.5)
            kit.act(rec.id, "resume")
            time.sleep(1.5)
            kit.act(rec.id, "stop")
            final = kit.wait(rec.id, {"UPLOADED", "ERRORED"}, 45)
            assert final.status == "UPLOADED", final
            expected = ["INVOKED", "RECORDING", "PAUSED", "RECORDING", "UPLOADING", "UPLOADED"]
            wait_for(
                lambda: len(receiver.at("/hooks")) >= len(expected),
                15,
                lambda: f"received {[r.status for r in receiver.at('/hooks')]}",
            )
            got = receiver.at("/hooks")
            assert [r.status for r in got] == expected
            assert all(r.verified for r in got), "a signature did not verify"
            assert len({r.uuid for r in got}) == len(expected)
            for r in got:
                assert r.headers["rtk-webhook-id"] == hook.id
                assert r.headers["content-type"] == "application/json"
                assert r.payload["event"] == "recording.statusUpdate"
                assert r.payload["recording"]["id"] == r.payload["recording"]["recordingId"] == rec.id
                assert r.payload["recording"]["meetingId"] == r.payload["meeting"]["id"] == meeting
                assert r.payload["meeting"]["title"] == "webhooks: lifecycle"
                assert r.payload["meeting"]["organizedBy"]["id"] == main.app
            last = got[-1].payload["recording"]
            assert last["downloadUrl"] == final.download_url and last["downloadUrl"]
            assert last["audioDownloadUrl"] == final.audio_download_url
            assert last["fileSize"] == str(int(final.file_size))
            assert last["recordingDuration"] == final.recording_duration
            assert last["outputFileName"] == final.output_file_name
            for key, value in (("startedTime", final.started_time), ("stoppedTime", final.stopped_time)):
                assert value is not None and abs(value.timestamp() - _ts(last[key])) < 0.002
            assert got[0].payload["recording"]["startedTime"] is None
            wait_for(  # the last attempt is recorded just after the receiver answered
                lambda: {d["status"] for d in deliveries(main.server, "--webhook", hook.id)} == {"delivered"},
                10,
                lambda: f"{deliveries(main.server, '--webhook', hook.id)}",
            )
            log = deliveries(main.server, "--webhook", hook.id)
            assert [(d["event_status"], d["status"], d["attempts"]) for d in reversed(log)] == [
                (s, "delivered", 1) for s in expected
            ]
            time.sleep(0.3)
            assert receiver.at("/meetings-only") == [] and receiver.at("/disabled") == []
    finally:
        receiver.stop()


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_500_twice_then_200_is_one_rtk_uuid_three_times(noenc: Tenant) -> None:
    receiver = Receiver(public_pem(noenc.server), script=lambda n, path: 500 if n < 2 else 200).start()
    try:
        with webhook(noenc, receiver.url("/flaky")) as hook, noenc.sdk() as client:
            kit = Kit(noenc, client)
            rec = kit.start(kit.meeting("webhooks: flaky receiver"))
            wait_for(
                lambda: [d["status"] for d in deliveries(noenc.server, "--webhook", hook.id)] == ["delivered"] * 2,
                20,
                lambda: f"deliveries {deliveries(noenc.server, '--webhook', hook.id)}",
            )
            time.sleep(0.5)  # nothing more comes
            got = receiver.at("/flaky")
            assert [(r.answer, r.status) for r in got] == [
                (500, "INVOKED"),
                (500, "INVOKED"),
                (200, "INVOKED"),
                (200, "ERRORED"),
            ]
            assert len({r.uuid for r in got[:3]}) == 1 and got[3].uuid != got[0].uuid
            assert len({r.body for r in got[:3]}) == 1  # the same signed bytes every time
            assert all(r.verified for r in got)
            assert all(r.payload["recording"]["id"] == rec.id for r in got)
            log = {d["id"]: d for d in deliveries(noenc.server, "--webhook", hook.id)}
            assert (log[got[0].uuid]["attempts"], log[got[0].uuid]["last_code"]) == (3, 200)
            assert log[got[3].uuid]["attempts"] == 1
    finally:
        receiver.stop()


def test_400_is_not_retried_and_redeliver_sends_it_again(noenc: Tenant) -> None:
    receiver = Receiver(public_pem(noenc.server), script=lambda n, path: 400 if n == 0 else 200).start()
    try:
        with webhook(noenc, receiver.url("/strict")) as hook, noenc.sdk() as client:
            kit = Kit(noenc, client)
            kit.start(kit.meeting("webhooks: strict receiver"))
            wait_for(lambda: len(receiver.at("/strict")) >= 2, 20, lambda: f"{receiver.at('/strict')}")
            time.sleep(1.0)  # five retry steps at 0.2 s: none comes
            got = receiver.at("/strict")
            assert [(r.answer, r.status) for r in got] == [(400, "INVOKED"), (200, "ERRORED")]
            log = {d["id"]: d for d in deliveries(noenc.server, "--webhook", hook.id)}
            refused = log[got[0].uuid]
            assert (refused["status"], refused["attempts"], refused["last_code"]) == ("failed", 1, 400)
            assert deliveries(noenc.server, "--webhook", hook.id, "--status", "failed") == [refused]

            again = json.loads(
                run_cli("webhooks", "redeliver", got[0].uuid, "--data-dir", str(noenc.server.data_dir), "--json").stdout
            )
            assert again["id"] == got[0].uuid and again["status"] == "pending"
            assert (again["attempts"], again["last_code"]) == (1, 400)  # the history stays until attempt 2
            wait_for(lambda: len(receiver.at("/strict")) >= 3, 10, lambda: f"{receiver.at('/strict')}")
            third = receiver.at("/strict")[2]
            assert (third.uuid, third.status, third.answer, third.body) == (got[0].uuid, "INVOKED", 200, got[0].body)
            wait_for(
                lambda: (
                    {d["id"]: d for d in deliveries(noenc.server, "--webhook", hook.id)}[got[0].uuid]["status"]
                    == "delivered"
                ),
                10,
                lambda: "redelivery not recorded",
            )
            redelivered = {d["id"]: d for d in deliveries(noenc.server, "--webhook", hook.id)}[got[0].uuid]
            assert (redelivered["attempts"], redelivered["last_code"]) == (2, 200)  # attempt N+1, not a new count
            table = run_cli("webhooks", "deliveries", "--data-dir", str(noenc.server.data_dir)).stdout
            assert got[0].uuid in table and "delivered" in table and "recording.statusUpdate" in table
    finally:
        receiver.stop()


def test_kill_9_with_deliveries_pending_and_mid_send_then_every_event_arrives(
    tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> None:
    srv, tenant = _server(
        tmp_path_factory,
        "hooks-crash",
        databases,
        RECORDKIT_FFMPEG="/nonexistent",
        RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS="0.1",
    )
    port = free_port()  # the receiver is down at first
    pem = public_pem(srv)
    receiver = Receiver(pem, port=port)
    try:
        with tenant.sdk() as client:
            hooks = client.realtime_kit.webhooks
            hook = hooks.create_webhook(
                tenant.app,
                account_id=tenant.account,
                name="down, then up",
                url=f"http://127.0.0.1:{port}/crash",
                events=["recording.statusUpdate"],
            ).data
            kit = Kit(tenant, client)
            recs = [kit.start(kit.meeting(f"webhooks: crash {i}")).id for i in range(3)]
            for rec_id in recs:
                assert kit.wait(rec_id, {"ERRORED"}, 20).status == "ERRORED"
        wait_for(
            lambda: sum(d["attempts"] for d in deliveries(srv, "--webhook", hook.id)) >= 6,
            20,
            lambda: f"{deliveries(srv, '--webhook', hook.id)}",
        )
        srv.kill9()
        before = deliveries(srv, "--webhook", hook.id)
        assert len(before) == 6 and {d["status"] for d in before} == {"pending"}
        receiver.start()
        srv.start()
        assert public_pem(srv) == pem  # the same key after a restart
        wait_for(
            lambda: len({r.uuid for r in receiver.at("/crash")}) >= 6,
            30,
            lambda: f"received {[(r.status, r.uuid) for r in receiver.at('/crash')]}",
        )
        got = receiver.at("/crash")
        assert all(r.verified for r in got)
        assert {r.uuid for r in got} == {d["id"] for d in before}
        for rec_id in recs:
            assert [r.status for r in got if r.payload["recording"]["id"] == rec_id] == ["INVOKED", "ERRORED"]

        # A crash in the middle of a send: the receiver holds the request, the server dies, and
        # after the restart the same delivery (same rtk-uuid) is sent again.
        receiver.script = lambda n, path: "hang" if n == len(got) else 200
        with tenant.sdk() as client:
            kit = Kit(tenant, client)
            rec_id = kit.start(kit.meeting("webhooks: crash mid-send")).id
        wait_for(lambda: len(receiver.at("/crash")) > len(got), 20, lambda: "the held request never came")
        held = receiver.at("/crash")[len(got)]
        assert held.answer == "hang" and held.status == "INVOKED"
        srv.kill9()
        srv.start()
        wait_for(
            lambda: [r.status for r in receiver.at("/crash")[len(got) :]] == ["INVOKED", "INVOKED", "ERRORED"],
            30,
            lambda: f"after the restart: {[(r.status, r.uuid) for r in receiver.at('/crash')[len(got) :]]}",
        )
        again = receiver.at("/crash")[len(got) + 1]
        assert again.uuid == held.uuid and again.body == held.body and again.verified
        assert all(r.payload["recording"]["id"] == rec_id for r in receiver.at("/crash")[len(got) :])
        wait_for(
            lambda: {d["status"] for d in deliveries(srv, "--webhook", hook.id)} == {"delivered"},
            10,
            lambda: f"{deliveries(srv, '--webhook', hook.id)}",
        )
    finally:
        receiver.stop()
        srv.stop()
