"""The live server itself (readiness, logs) and the apps endpoints through the official SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cloudflare import Cloudflare
from cloudflare.types.realtime_kit.app_get_response import AppGetResponse
from cloudflare.types.realtime_kit.app_post_response import AppPostResponse

from tests.support.world import SECRETS, World

pytestmark = pytest.mark.e2e


def test_ready_quickly(world: World) -> None:
    seconds = world.server.startup_seconds
    print(f"\nrecordkit serve answered /healthz 200 after {seconds:.3f} s")
    assert 0 < seconds < 5


def test_healthz(anon: httpx.Client) -> None:
    resp = anon.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_apps_get(client: Cloudflare, world: World) -> None:
    resp = client.realtime_kit.apps.get(account_id=world.account)
    assert isinstance(resp, AppGetResponse)
    assert resp.success is True
    assert resp.data is not None and resp.paging is not None
    ids = {a.id for a in resp.data}
    assert {world.app, world.other_app} <= ids
    assert world.app_b not in ids
    assert resp.paging.total_count == len(resp.data) >= 2
    assert (resp.paging.start_offset, resp.paging.end_offset) == (1, len(resp.data))
    for a in resp.data:
        assert isinstance(a.created_at, datetime)
        assert a.created_at.tzinfo is not None
        assert abs(datetime.now(UTC) - a.created_at) < timedelta(hours=1)
        assert a.name
    names = {a.id: a.name for a in resp.data}
    assert names[world.other_app] == "second"


def test_apps_post_then_get(client: Cloudflare, world: World) -> None:
    name = f"e2e app {uuid.uuid4().hex[:8]}"
    made = client.realtime_kit.apps.post(account_id=world.account, name=name)
    assert isinstance(made, AppPostResponse)
    assert made.success is True
    assert made.data is not None and made.data.app is not None
    app = made.data.app
    assert app.name == name
    assert app.id is not None and str(uuid.UUID(app.id)) == app.id
    assert isinstance(app.created_at, datetime)
    listed = client.realtime_kit.apps.get(account_id=world.account, per_page=100)
    assert listed.data is not None
    assert app.id in {a.id for a in listed.data}
    found = client.realtime_kit.apps.get(account_id=world.account, search=name.upper())
    assert found.data is not None and [a.id for a in found.data] == [app.id]
    # Newest first by default; ASC puts it last.
    desc = client.realtime_kit.apps.get(account_id=world.account, per_page=100, sort_order="DESC").data
    asc = client.realtime_kit.apps.get(account_id=world.account, per_page=100, sort_order="ASC").data
    assert desc is not None and asc is not None
    assert desc[0].id == app.id and asc[-1].id == app.id
    assert [a.id for a in desc] == [a.id for a in reversed(asc)]
    # The other account does not see it.
    with world.client(world.token_b) as b:
        theirs = b.realtime_kit.apps.get(account_id=world.account_b)
        assert theirs.data is not None
        assert [a.id for a in theirs.data] == [world.app_b]


def test_apps_paging(client: Cloudflare, world: World) -> None:
    all_apps = client.realtime_kit.apps.get(account_id=world.account, per_page=100)
    assert all_apps.data is not None and all_apps.paging is not None
    total = int(all_apps.paging.total_count or 0)
    page = client.realtime_kit.apps.get(account_id=world.account, per_page=1, page_no=2)
    assert page.data is not None and page.paging is not None
    assert len(page.data) == 1
    assert page.data[0].id == all_apps.data[1].id
    assert (page.paging.total_count, page.paging.start_offset, page.paging.end_offset) == (total, 2, 2)


def test_get_one_app(http: httpx.Client, world: World) -> None:
    resp = http.get(f"/client/v4/accounts/{world.account}/realtime/kit/apps/{world.app}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is True
    assert body["data"]["id"] == world.app
    assert set(body["data"]) >= {"id", "name", "created_at"}


def test_secrets_never_reach_the_server_log(http: httpx.Client, world: World) -> None:
    for params in ({"per_page": 100}, {"search": SECRETS[1]}, {"page_no": "x"}):
        http.get(world.list_path(), params=params)
    log = world.server.log()
    for secret in SECRETS:
        assert secret not in log
    assert world.token not in log and world.ro_token not in log  # requests' tokens are never logged
    assert "Traceback" not in log
