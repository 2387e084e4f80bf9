"""Operations against a live ``recordkit serve``: liveness, readiness, Prometheus metrics, JSON logs
and request ids (docs/deployment.md)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.recording import Tenant
from tests.support.servers import RkServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

LIST_TEMPLATE = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv = RkServer(tmp_path_factory.mktemp("ops"), env={**databases(), "RECORDKIT_LOG_JSON": "1"})
    made = Tenant.create(srv)
    srv.start()
    try:
        yield made
    finally:
        srv.stop()


def scrape(origin: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(f"{origin}/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def list_count(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], status: str = "200") -> float:
    key = ("recordkit_http_requests_total", (("method", "GET"), ("route", LIST_TEMPLATE), ("status", status)))
    return samples.get(key, 0.0)


def json_lines(server: RkServer) -> list[dict[str, Any]]:
    lines = []
    for raw in server.log().splitlines():
        if not raw.strip() or raw.startswith("--- start on port"):
            continue  # the marker RkServer writes between starts
        value = json.loads(raw)  # every line the server wrote is one JSON object
        assert isinstance(value, dict), raw
        lines.append(value)
    return lines


def test_liveness_and_readiness(tenant: Tenant) -> None:
    origin = tenant.server.origin
    for path in ("/healthz", "/livez"):
        resp = httpx.get(f"{origin}{path}", timeout=10)
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    ready = httpx.get(f"{origin}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert ready.json()["status"] == "ready"
    assert set(checks) == {"database", "migrations", "bucket", "recorder", "data_dir"}
    assert "ffmpeg" in checks["recorder"] and checks["data_dir"].endswith(" MiB free"), checks


@contextlib.contextmanager
def database_gone(server: RkServer) -> Iterator[None]:
    """SQLite: the database file moved away; PostgreSQL: a table the readiness query reads renamed."""
    url = server.env.get("RECORDKIT_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE accounts RENAME TO accounts_aside")
            try:
                yield
            finally:
                conn.execute("ALTER TABLE accounts_aside RENAME TO accounts")
        return
    db = server.data_dir / "recordkit.sqlite3"
    aside = db.with_name("aside.sqlite3")
    db.rename(aside)
    try:
        yield
    finally:
        aside.rename(db)


def test_readyz_is_503_while_the_database_is_gone(tenant: Tenant) -> None:
    origin = tenant.server.origin
    with database_gone(tenant.server):
        resp = httpx.get(f"{origin}/readyz", timeout=10)
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["success"] is False and body["error"]["code"] == 503
        assert body["error"]["message"].startswith("not ready: database: ")
        assert httpx.get(f"{origin}/livez", timeout=10).status_code == 200  # alive: do not restart it
    assert httpx.get(f"{origin}/readyz", timeout=10).status_code == 200


def test_metrics_count_list_requests_under_the_route_template(tenant: Tenant) -> None:
    origin = tenant.server.origin
    before = scrape(origin)
    with tenant.http() as http:
        for _ in range(3):
            assert http.get(f"{tenant.kit}/recordings", params={"per_page": 5}).status_code == 200
        assert http.get(f"{tenant.kit}/recordings", headers={"authorization": "Bearer wrong"}).status_code == 401
    after = scrape(origin)
    assert list_count(after) - list_count(before) == 3
    assert list_count(after, "401") - list_count(before, "401") == 1
    assert not [k for k in after if tenant.app in str(k) or tenant.account in str(k)]  # templates, never ids
    latency = ("recordkit_http_request_duration_seconds_count",)
    counts = [v for (name, labels), v in after.items() if (name,) == latency and ("route", LIST_TEMPLATE) in labels]
    assert sum(counts) >= 4
    assert after[("recordkit_store_up", ())] == 1
    store = "postgres" if tenant.server.env.get("RECORDKIT_DATABASE_URL") else "sqlite"
    assert after[("recordkit_info", (("store", store), ("version", "0.1.0")))] == 1
    for status in ("INVOKED", "RECORDING", "PAUSED", "UPLOADING"):
        assert ("recordkit_recording_jobs", (("status", status),)) in after
    assert ("recordkit_webhook_deliveries_pending", ()) in after


def test_json_logs_carry_request_fields_and_no_token(tenant: Tenant) -> None:
    with tenant.http() as http:
        resp = http.get(f"{tenant.kit}/recordings", headers={"x-request-id": "e2e-ops-0001"})
        assert resp.status_code == 200 and resp.headers["x-request-id"] == "e2e-ops-0001"
        made = http.get(f"{tenant.kit}/recordings").headers["x-request-id"]
        assert len(made) == 24
    deadline = time.monotonic() + 10
    while True:
        lines = json_lines(tenant.server)
        access = [x for x in lines if x.get("logger") == "recordkit.access"]
        mine = [x for x in access if x.get("request_id") == "e2e-ops-0001"]
        if mine and any(x.get("request_id") == made for x in access):
            break
        assert time.monotonic() < deadline, lines[-5:]
        time.sleep(0.1)
    line = mine[0]
    assert {"time", "level", "logger", "message", "pid", "request_id"} <= set(line)
    assert (line["method"], line["route"], line["status"]) == ("GET", LIST_TEMPLATE, 200)
    assert line["path"] == f"{tenant.kit}/recordings" and isinstance(line["duration_ms"], float)
    assert any(x.get("logger") == "_granian" for x in lines)  # the server's own lines are JSON too
    text = tenant.server.log()
    for secret in (tenant.token, tenant.ro_token, "Bearer"):
        assert secret not in text
    assert not [x for x in access if x.get("path") in ("/livez", "/readyz", "/metrics")]  # probes log at DEBUG
