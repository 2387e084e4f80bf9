"""The address policy (issue 8, docs/security.md) against live servers: a recording's ``url``, an
SFTP destination's ``host`` and webhook URLs must be public unless the operator allows private
networks; checked when given (400 naming the field, nothing changed) and again before each webhook
delivery (failed, not retried, the log says why).

Every other test server runs with ``RECORDKIT_ALLOW_PRIVATE_NETWORK=true`` (``clean_env``); the
servers here switch it off, as production runs. Public addresses are IP literals (no DNS here).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_e2e_webhooks import Receiver, deliveries, public_pem, wait_for
from tests.support.recording import Tenant
from tests.support.servers import RkServer, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

STRICT = {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "false", "RECORDKIT_RUN_JOBS": "0"}
ALLOWED = {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "true", "RECORDKIT_RUN_JOBS": "0"}
PUBLIC_URL = "https://93.184.215.14/hook"  # an IP literal: no DNS lookup needed
PRIVATE_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.10/x",
    "http://[::1]/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f000001/",
    "http://0.0.0.0/",
]


def sftp(host: str) -> dict[str, Any]:
    return {"type": "sftp", "host": host, "username": "rec", "password": "sftp-policy-secret-1", "path": "up"}


def hook_body(url: str) -> dict[str, Any]:
    return {"name": "policy", "url": url, "events": ["recording.statusUpdate"]}


def assert_400(resp: httpx.Response, field: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == 400, body
    assert body["error"]["message"].startswith(f"{field}: "), body
    assert "sftp-policy-secret-1" not in resp.text


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv = RkServer(tmp_path_factory.mktemp("policy-strict"), env={**databases(), **STRICT}).start()  # an empty store
    try:
        yield Tenant.create(srv)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv = RkServer(tmp_path_factory.mktemp("policy-allowed"), env={**databases(), **ALLOWED}).start()
    try:
        yield Tenant.create(srv)
    finally:
        srv.stop()


def meeting(http: httpx.Client, tenant: Tenant, **body: Any) -> str:
    made = http.post(f"{tenant.kit}/meetings", json={"title": "policy", **body})
    assert made.status_code == 201, made.text
    return str(made.json()["data"]["id"])


def set_app_config(tenant: Tenant, config: dict[str, Any]) -> None:
    run_cli(*tenant.app_config_args(json.dumps(config)), "--json")


def count(http: httpx.Client, tenant: Tenant, what: str) -> int:
    listed = http.get(f"{tenant.kit}/{what}")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    return int(body["paging"]["total_count"]) if "paging" in body else len(body["data"])


def test_first_serve_says_how_to_allow_private_networks(strict: Tenant, allowed: Tenant) -> None:
    assert "recordkit serve --allow-private-network" in strict.server.log()
    assert "Private networks are allowed (--allow-private-network)" in allowed.server.log()


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_webhook_to_a_private_address_is_400_and_nothing_is_made(strict: Tenant, url: str) -> None:
    with strict.http() as http:
        before = count(http, strict, "webhooks")
        assert_400(http.post(f"{strict.kit}/webhooks", json=hook_body(url)), "url")
        assert count(http, strict, "webhooks") == before


def test_a_webhook_cannot_be_moved_onto_a_private_address(strict: Tenant) -> None:
    with strict.http() as http:
        made = http.post(f"{strict.kit}/webhooks", json=hook_body(PUBLIC_URL))
        assert made.status_code == 201, made.text
        hook = made.json()["data"]
        path = f"{strict.kit}/webhooks/{hook['id']}"
        assert_400(http.put(path, json=hook_body("http://169.254.169.254/")), "url")
        assert_400(http.patch(path, json={"url": "http://127.0.0.1:9/"}), "url")
        assert_400(http.patch(path, json={"url": "http://user:pw@93.184.215.14/"}), "url")
        assert http.get(path).json()["data"] == hook  # unchanged


def test_a_recording_of_a_private_url_is_400(strict: Tenant) -> None:
    with strict.http() as http:
        mid = meeting(http, strict)
        before = count(http, strict, "recordings")
        for url in ("http://10.0.0.1/", "http://127.0.0.1:3000/meeting", "http://169.254.169.254/", "file:///etc/x"):
            assert_400(http.post(f"{strict.kit}/recordings", json={"meeting_id": mid, "url": url}), "url")
        assert count(http, strict, "recordings") == before
        assert http.get(f"{strict.kit}/recordings/active-recording/{mid}").status_code == 404
        ok = http.post(f"{strict.kit}/recordings", json={"meeting_id": mid, "url": "https://93.184.215.14/room"})
        assert ok.status_code == 200, ok.text


def test_an_sftp_host_on_a_private_network_is_400_wherever_it_comes_from(strict: Tenant) -> None:
    with strict.http() as http:
        mid = meeting(http, strict)
        before = count(http, strict, "recordings")
        for host in ("127.0.0.1", "localhost", "10.0.0.5", "169.254.169.254", "::1"):
            body = {"meeting_id": mid, "storage_config": sftp(host)}
            assert_400(http.post(f"{strict.kit}/recordings", json=body), "storage_config.host")
        # in a meeting's recording_config: refused when the meeting is created, and nothing is made
        meetings = count(http, strict, "meetings")
        made = http.post(
            f"{strict.kit}/meetings", json={"title": "p", "recording_config": {"storage_config": sftp("192.168.0.7")}}
        )
        assert_400(made, "recording_config.storage_config.host")
        assert count(http, strict, "meetings") == meetings
        # from the app's recording_config (the operator's, set with the CLI): refused at the start of a
        # recording and of a track recording
        set_app_config(strict, {"storage_config": sftp("192.168.0.7")})
        try:
            assert_400(http.post(f"{strict.kit}/recordings", json={"meeting_id": mid}), "storage_config.host")
            track = {"meeting_id": mid, "layers": {"default": {"file_name_prefix": "t"}}}
            assert_400(http.post(f"{strict.kit}/recordings/track", json=track), "storage_config.host")
        finally:
            set_app_config(strict, {})
        assert count(http, strict, "recordings") == before
        public = http.post(f"{strict.kit}/recordings", json={"meeting_id": mid, "storage_config": sftp("8.8.8.8")})
        assert public.status_code == 200, public.text


def test_everything_passes_with_private_networks_allowed(allowed: Tenant) -> None:
    with allowed.http() as http:
        for url in PRIVATE_URLS:
            made = http.post(f"{allowed.kit}/webhooks", json=hook_body(url))
            assert made.status_code == 201, (url, made.text)
        mid = meeting(http, allowed)
        body = {"meeting_id": mid, "url": "http://10.0.0.1/", "allow_multiple_recordings": True}
        assert http.post(f"{allowed.kit}/recordings", json=body).status_code == 200
        body = {"meeting_id": mid, "storage_config": sftp("127.0.0.1"), "allow_multiple_recordings": True}
        assert http.post(f"{allowed.kit}/recordings", json=body).status_code == 200


def test_a_delivery_to_an_address_that_is_no_longer_allowed_fails_without_retry(
    tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> None:
    """A webhook on 127.0.0.1 made while private networks were allowed; the operator turns them off
    and restarts: its deliveries fail at once (one attempt, not retried), the receiver gets nothing,
    and the log and the delivery log say why."""
    srv = RkServer(
        tmp_path_factory.mktemp("policy-delivery"),
        env={
            **databases(),
            **ALLOWED,
            "RECORDKIT_FFMPEG": "/nonexistent",
            "RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
        },
    )
    tenant = Tenant.create(srv)
    srv.start()
    receiver = Receiver(public_pem(srv)).start()
    try:
        with tenant.http() as http:
            made = http.post(f"{tenant.kit}/webhooks", json=hook_body(receiver.url("/moved")))
            assert made.status_code == 201, made.text
            hook = made.json()["data"]["id"]
            started = http.post(f"{tenant.kit}/recordings", json={"meeting_id": meeting(http, tenant)})
            assert started.status_code == 200, started.text
        srv.stop()
        srv.env.update({"RECORDKIT_ALLOW_PRIVATE_NETWORK": "false", "RECORDKIT_RUN_JOBS": "1"})
        srv.start()  # jobs on: the INVOKED event is due, and the recording errors at once (no encoder)
        wait_for(
            lambda: (rows := deliveries(srv, "--webhook", hook)) != [] and {d["status"] for d in rows} == {"failed"},
            20,
            lambda: f"{deliveries(srv, '--webhook', hook)}",
        )
        time.sleep(0.5)  # several retry steps of 0.1 s: none comes
        rows = deliveries(srv, "--webhook", hook)
        assert len(rows) == 2 and all(d["attempts"] == 1 and d["status"] == "failed" for d in rows), rows
        assert all("address policy" in (d["last_error"] or "") and "127.0.0.1" in d["last_error"] for d in rows)
        assert receiver.at("/moved") == []
        assert "address policy: the host resolves to 127.0.0.1" in srv.log()
        table = run_cli("webhooks", "deliveries", "--data-dir", str(srv.data_dir)).stdout
        assert "failed" in table
    finally:
        receiver.stop()
        srv.stop()
