"""Isolation matrix: every operation of the served OpenAPI document x every kind of caller.

Callers: no token, an unknown token, a revoked token, another account's Realtime Admin token, this
account's `Realtime` (read-only) token and its `Realtime Admin` token. Only the allowed cells get
through: the first three get 401, another account 403, the read-only token 403 on every write;
allowed cells never answer 401 or 403 (nor 5xx). The operations come from the document, so a new
route is in the matrix by being documented (tests/unit/test_openapi_routes.py keeps them equal).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from recordkit.api import openapi
from tests.support.recording import Tenant
from tests.support.servers import RkServer, cli_json, run_cli

pytestmark = pytest.mark.usefixtures("store_kind")  # every test on both stores (tests/conftest.py)

PUBLIC = {"recordkit_download_file", "recordkit_openapi"}  # signed links and the document itself
CALLERS = ("none", "unknown", "revoked", "other account", "Realtime", "Realtime Admin")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bodies(world: World) -> dict[str, Any]:
    hook = {"name": "matrix", "url": "https://example.com/hook", "events": ["recording.statusUpdate"]}
    return {
        "create_app": {"name": "matrix app"},
        "create_meeting": {"title": "matrix meeting"},
        "start_recording": {"meeting_id": world.meeting, "allow_multiple_recordings": True},
        "startTrackRecordingForAMeeting": {
            "meeting_id": world.meeting,
            "layers": {"default": {"file_name_prefix": "t"}},
        },
        "pause_resume_stop_recording": {"action": "pause"},
        "addWebhook": hook,
        "replaceWebhook": hook,
        "editWebhook": {"name": "matrix edited"},
        "deleteWebhook": None,
    }


@dataclass
class World:
    server: RkServer
    tenant: Tenant
    other: Tenant
    revoked: str
    meeting: str
    recording: str
    webhook: str

    def token(self, caller: str) -> str | None:
        return {
            "none": None,
            "unknown": "rk_" + secrets.token_urlsafe(30),
            "revoked": self.revoked,
            "other account": self.other.token,
            "Realtime": self.tenant.ro_token,
            "Realtime Admin": self.tenant.token,
        }[caller]

    def path(self, template: str) -> str:
        values = {
            "account_id": self.tenant.account,
            "app_id": self.tenant.app,
            "meeting_id": self.meeting,
            "recording_id": self.recording,
            "webhook_id": self.webhook,
        }
        return openapi.PREFIX + template.format(**values)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[World]:
    server = RkServer(tmp_path_factory.mktemp("isolation"), env={**databases(), "RECORDKIT_RUN_JOBS": "0"})
    server.start()
    try:
        tenant, other = Tenant.create(server), Tenant.create(server)
        d = str(server.data_dir)
        revoked = cli_json("token", "create", "--data-dir", d, "--account", tenant.account)["token"]
        run_cli("token", "revoke", revoked, "--data-dir", d)
        with tenant.http() as http:
            meeting = http.post(f"{tenant.kit}/meetings", json={"title": "m"}).json()["data"]["id"]
            recording = http.post(f"{tenant.kit}/recordings", json={"meeting_id": meeting}).json()["data"]["id"]
            hook = {"name": "h", "url": "https://example.com/h", "events": ["recording.statusUpdate"]}
            created = http.post(f"{tenant.kit}/webhooks", json=hook)
            assert created.status_code in (200, 201), created.text
            webhook = created.json()["data"]["id"]
        yield World(server, tenant, other, revoked, meeting, recording, webhook)
    finally:
        server.stop()


def _operations() -> list[tuple[str, str, str]]:
    ops = []
    for path, methods in openapi.document()["paths"].items():
        for method, op in methods.items():
            if method in ("get", "post", "put", "patch", "delete") and op.get("operationId") not in PUBLIC:
                ops.append((method.upper(), path, op.get("operationId", f"{method} {path}")))
    # deletions last, so that every other cell still finds what it names
    return sorted(ops, key=lambda o: o[0] == "DELETE")


def expected(caller: str, method: str) -> set[int] | None:
    """The statuses a refused cell must get; None: the cell is allowed."""
    if caller in ("none", "unknown", "revoked"):
        return {401}
    if caller == "other account":
        return {403}
    if caller == "Realtime" and method in WRITE_METHODS:
        return {403}
    return None


@pytest.mark.parametrize(("method", "path", "operation"), _operations(), ids=[o[2] for o in _operations()])
def test_only_allowed_callers_get_through(world: World, method: str, path: str, operation: str) -> None:
    body = bodies(world).get(operation)
    if method in ("POST", "PUT", "PATCH") and body is None:
        pytest.fail(f"no request body for {operation}: add one to bodies()")
    results: dict[str, httpx.Response] = {}
    for caller in CALLERS:  # the admin last: its writes (a delete) must not hide the others' answers
        token = world.token(caller)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        results[caller] = httpx.request(
            method, world.server.origin + world.path(path), json=body, headers=headers, timeout=30
        )
    for caller, resp in results.items():
        refused = expected(caller, method)
        if refused is None:
            assert resp.status_code not in (401, 403) and resp.status_code < 500, (caller, resp.status_code, resp.text)
        else:
            assert resp.status_code in refused, (caller, resp.status_code, resp.text)
            assert resp.json()["success"] is False
