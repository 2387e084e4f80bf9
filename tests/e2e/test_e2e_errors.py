"""Every error the live server gives: exact envelopes over raw HTTP, typed errors through the SDK."""

from __future__ import annotations

from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from tests.support.servers import cli_json, run_cli
from tests.support.world import World

pytestmark = pytest.mark.e2e

AUTH_ERROR = {
    "success": False,
    "errors": [{"code": 10000, "message": "Authentication error"}],
    "messages": [],
    "result": None,
}
UNKNOWN_APP = "7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a10"


def assert_error(resp: httpx.Response, status: int, *needles: str) -> str:
    """The RealtimeKit error envelope, exactly; returns the message."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in resp.text
    return message


def assert_auth_error(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == AUTH_ERROR


# -- 400: every parameter's bad values ------------------------------------------------------------

BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"page_no": "1.5"}, "page_no"),
    ({"page_no": "-1"}, "page_no"),
    ({"page_no": "abc"}, "page_no"),
    ({"page_no": "NaN"}, "page_no"),
    ({"page_no": "Infinity"}, "page_no"),
    ({"per_page": "-1"}, "per_page"),
    ({"per_page": "abc"}, "per_page"),
    ({"per_page": "2.5"}, "per_page"),
    ({"per_page": "1e"}, "per_page"),
    ({"status": "BOGUS"}, "status"),
    ({"status": "uploaded"}, "status"),
    ({"status": "UPLOADED,BOGUS"}, "status"),
    ({"status[]": "BOGUS"}, "status"),
    ({"status": ["UPLOADED", "NOPE"]}, "status"),
    ({"expired": "maybe"}, "expired"),
    ({"expired": "yes"}, "expired"),
    ({"expired": "2"}, "expired"),
    ({"sort_by": "foo"}, "sort_by"),
    ({"sort_by": "invoked_time"}, "sort_by"),
    ({"sort_by": "createdAt"}, "sort_by"),
    ({"sort_order": "UP"}, "sort_order"),
    ({"sort_order": "ascending"}, "sort_order"),
    ({"meeting_id": "not-a-uuid"}, "meeting_id"),
    ({"meeting_id": "7d0c4b5e0f4e4a529d375f2c8f1b9a10"}, "meeting_id"),
    ({"meeting_id": "7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a1"}, "meeting_id"),
    ({"start_time": "garbage"}, "start_time"),
    ({"start_time": "2024-13-01T00:00:00Z"}, "start_time"),
    ({"end_time": "garbage"}, "end_time"),
    ({"end_time": "2024-05-10T25:00:00Z"}, "end_time"),
    ({"start_time": "2024-05-12T00:00:00Z", "end_time": "2024-05-11T00:00:00Z"}, "start_time"),
    ({"start_time": "2024-05-12T00:00:00.001Z", "end_time": "2024-05-12T00:00:00.000Z"}, "start_time"),
    ({"search": "x" * 256}, "search"),
    ({"search": "é" * 300}, "search"),
]


@pytest.mark.parametrize(("params", "field"), BAD_VALUES, ids=[f"{f}={str(p)[:40]}" for p, f in BAD_VALUES])
def test_bad_parameter_is_400_naming_it(http: httpx.Client, world: World, params: dict[str, Any], field: str) -> None:
    message = assert_error(http.get(world.list_path(), params=params), 400)
    assert message.startswith(f"{field}:"), message


def test_bad_value_in_a_good_combination_is_still_400(http: httpx.Client, world: World) -> None:
    params = {"status": "UPLOADED", "expired": "true", "search": "standup", "per_page": "abc"}
    assert assert_error(http.get(world.list_path(), params=params), 400).startswith("per_page:")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page_no": 1.5}, "page_no"),
        ({"per_page": -1}, "per_page"),
        ({"meeting_id": "not-a-uuid"}, "meeting_id"),
        ({"search": "y" * 300}, "search"),
        ({"start_time": "2024-05-12T00:00:00Z", "end_time": "2024-05-01T00:00:00Z"}, "start_time"),
        ({"status": ["BOGUS"]}, "status"),
        ({"sort_order": "UP"}, "sort_order"),
    ],
)
def test_sdk_raises_bad_request(client: Cloudflare, world: World, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(cloudflare.BadRequestError) as info:
        client.realtime_kit.recordings.get_recordings(world.app, account_id=world.account, **kwargs)
    assert info.value.status_code == 400
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["code"] == 400
    assert info.value.body["error"]["message"].startswith(f"{field}:")


def test_account_id_longer_than_32_is_400(http: httpx.Client, world: World) -> None:
    long_account = world.account + "0"
    assert_error(http.get(world.list_path(account=long_account)), 400, "account_id")
    assert_error(http.get(f"/client/v4/accounts/{long_account}/realtime/kit/apps"), 400, "account_id")


def test_app_id_neither_uuid_nor_short_is_400(http: httpx.Client, world: World) -> None:
    assert_error(http.get(world.list_path(app="a" * 33)), 400, "app_id")


# -- 401 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer unknown-token-0123456789abcdefghijklmnopq"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"X-Auth-Email": "someone@example.com", "X-Auth-Key": "0123456789abcdef"},
    ],
    ids=["none", "unknown", "empty", "basic", "huge", "legacy-key-not-configured"],
)
def test_unauthenticated_is_401_platform_envelope(anon: httpx.Client, world: World, headers: dict[str, str]) -> None:
    assert_auth_error(anon.get(world.list_path(), headers=headers))
    assert_auth_error(anon.get(f"/client/v4/accounts/{world.account}/realtime/kit/apps", headers=headers))
    assert_auth_error(anon.post(f"/client/v4/accounts/{world.account}/realtime/kit/apps", headers=headers))


def test_401_comes_before_404_and_501(anon: httpx.Client, world: World) -> None:
    assert_auth_error(anon.get(world.list_path(app=UNKNOWN_APP)))
    assert_auth_error(anon.get(f"/client/v4/accounts/{world.account}/realtime/kit/{world.app}/presets"))


def test_revoked_token_is_401(anon: httpx.Client, world: World) -> None:
    d = str(world.server.data_dir)
    made = cli_json("token", "create", "--data-dir", d, "--account", world.account, "--permission", "Realtime")
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert anon.get(world.list_path(), headers=headers).status_code == 200
    run_cli("token", "revoke", made["token"], "--data-dir", d)
    assert_auth_error(anon.get(world.list_path(), headers=headers))
    with world.client(made["token"]) as c, pytest.raises(cloudflare.AuthenticationError) as info:
        c.realtime_kit.recordings.get_recordings(world.app, account_id=world.account)
    assert info.value.status_code == 401
    # The other tokens of the account keep working.
    assert anon.get(world.list_path(), headers={"Authorization": f"Bearer {world.ro_token}"}).status_code == 200


def test_sdk_raises_authentication_error(world: World) -> None:
    with world.client("no-such-token-abcdefghijklmnopqrstuvwxyz") as c:
        with pytest.raises(cloudflare.AuthenticationError) as info:
            c.realtime_kit.recordings.get_recordings(world.app, account_id=world.account)
        assert info.value.status_code == 401
        assert info.value.body == AUTH_ERROR
        with pytest.raises(cloudflare.AuthenticationError):
            c.realtime_kit.apps.get(account_id=world.account)


# -- 403 -------------------------------------------------------------------------------------------


def test_other_accounts_token_is_403(anon: httpx.Client, world: World) -> None:
    b = {"Authorization": f"Bearer {world.token_b}"}
    assert_error(anon.get(world.list_path(), headers=b), 403)
    assert_error(anon.get(f"/client/v4/accounts/{world.account}/realtime/kit/apps", headers=b), 403)
    assert_error(
        anon.post(f"/client/v4/accounts/{world.account}/realtime/kit/apps", headers=b, json={"name": "x"}), 403
    )
    assert_error(anon.get(f"/client/v4/accounts/{world.account}/realtime/kit/apps/{world.app}", headers=b), 403)
    # Even naming its own app under the other account's path.
    assert_error(anon.get(world.list_path(app=world.app_b), headers=b), 403)
    a = {"Authorization": f"Bearer {world.token}"}
    assert_error(anon.get(world.list_path(account=world.account_b, app=world.app_b), headers=a), 403)


def test_sdk_raises_permission_denied_for_other_account(world: World) -> None:
    with world.client(world.token_b) as c:
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            c.realtime_kit.recordings.get_recordings(world.app, account_id=world.account)
        assert info.value.status_code == 403
        with pytest.raises(cloudflare.PermissionDeniedError):
            c.realtime_kit.apps.get(account_id=world.account)


def test_read_only_token_reads_but_cannot_create_apps(anon: httpx.Client, world: World) -> None:
    with world.client(world.ro_token) as c:
        resp = c.realtime_kit.recordings.get_recordings(world.app, account_id=world.account, per_page=5)
        assert resp.paging.total_count == len(world.ref.recordings)
        apps = c.realtime_kit.apps.get(account_id=world.account)
        assert apps.data and world.app in {a.id for a in apps.data}
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            c.realtime_kit.apps.post(account_id=world.account, name="not allowed")
        assert info.value.status_code == 403
    ro = {"Authorization": f"Bearer {world.ro_token}"}
    url = f"/client/v4/accounts/{world.account}/realtime/kit/apps"
    assert_error(anon.post(url, headers=ro, json={"name": "nope"}), 403, "Realtime")
    names = [a["name"] for a in anon.get(url, headers=ro, params={"per_page": 100}).json()["data"]]
    assert "not allowed" not in names and "nope" not in names


# -- 404, 405, 501 ---------------------------------------------------------------------------------


def test_unknown_app_is_404(http: httpx.Client, client: Cloudflare, world: World) -> None:
    assert_error(http.get(world.list_path(app=UNKNOWN_APP)), 404, UNKNOWN_APP)
    assert_error(http.get(world.list_path(app="short-app-id")), 404)
    # Another account's app, under this account's path: not found, not forbidden.
    assert_error(http.get(world.list_path(app=world.app_b)), 404)
    assert_error(http.get(f"/client/v4/accounts/{world.account}/realtime/kit/apps/{UNKNOWN_APP}"), 404)
    with pytest.raises(cloudflare.NotFoundError) as info:
        client.realtime_kit.recordings.get_recordings(UNKNOWN_APP, account_id=world.account)
    assert info.value.status_code == 404
    assert info.value.body["error"]["code"] == 404  # type: ignore[index]


@pytest.mark.parametrize(
    "path",
    ["/", "/nope", "/client/v4", "/client/v4/nothing/here", "/client/v4/accounts/x/other/thing", "/healthz/extra"],
)
def test_unknown_route_is_404(http: httpx.Client, path: str) -> None:
    assert_error(http.get(path), 404)


def test_unknown_route_under_realtime_kit_is_404(http: httpx.Client, world: World) -> None:
    assert_error(http.get(f"/client/v4/accounts/{world.account}/realtime/kit/"), 404)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("DELETE", "/{app}/recordings"),
        ("PATCH", "/{app}/recordings"),
        ("PUT", "/{app}/recordings"),
        ("DELETE", "/apps"),
        ("PUT", "/apps"),
        ("POST", "/apps/{app}"),
        ("DELETE", "/apps/{app}"),
    ],
)
def test_wrong_method_on_known_route_is_405(http: httpx.Client, world: World, method: str, suffix: str) -> None:
    path = f"/client/v4/accounts/{world.account}/realtime/kit" + suffix.format(app=world.app)
    assert_error(http.request(method, path), 405, method)


def test_wrong_method_on_healthz_is_405(anon: httpx.Client) -> None:
    assert_error(anon.post("/healthz"), 405)


@pytest.mark.parametrize(
    ("method", "rest", "resource"),
    [
        ("GET", "{app}/presets", "presets"),
        ("POST", "{app}/presets", "presets"),
        ("GET", "{app}/sessions", "sessions"),
        ("GET", "{app}/sessions/7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a10/participants", "sessions"),
        ("GET", "{app}/livestreams", "livestreams"),
        ("GET", "{app}/analytics/daywise", "analytics"),
        ("GET", "{app}/meetings/7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a10/active-session", "meetings"),
    ],
)
def test_unimplemented_realtimekit_path_is_501_naming_it(
    http: httpx.Client, world: World, method: str, rest: str, resource: str
) -> None:
    path = f"/client/v4/accounts/{world.account}/realtime/kit/" + rest.format(app=world.app)
    assert_error(http.request(method, path), 501, resource)


def test_sdk_raises_typed_error_for_501(client: Cloudflare, world: World) -> None:
    with pytest.raises(cloudflare.InternalServerError) as info:
        client.get(
            f"/accounts/{world.account}/realtime/kit/{world.app}/presets",
            cast_to=object,
        )
    assert info.value.status_code == 501


# -- bodies ------------------------------------------------------------------------------------------


def test_create_app_bad_bodies_are_400(http: httpx.Client, world: World) -> None:
    url = f"/client/v4/accounts/{world.account}/realtime/kit/apps"
    headers = {"content-type": "application/json"}
    assert_error(http.post(url, content=b"{not json", headers=headers), 400, "body")
    assert_error(http.post(url, content=b"", headers=headers), 400, "body")
    assert_error(http.post(url, json={"name": 5}), 400, "name")
    assert_error(http.post(url, json={}), 400, "name")
    assert_error(http.post(url, json={"name": "   "}), 400, "name")
    assert_error(http.post(url, json={"name": "n" * 256}), 400, "name")
    assert_error(http.post(url, json=["name"]), 400, "body")
