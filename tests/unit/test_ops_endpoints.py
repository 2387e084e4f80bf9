"""/livez, /readyz, /metrics and the request-id middleware, in process (``create_app`` + httpx)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from recordkit.api.app import create_app
from recordkit.ops.health import Readiness
from recordkit.recorder.binaries import find_ffmpeg
from recordkit.settings import Settings, SettingsError
from recordkit.store.migrations.runner import sqlite_migrations

LATEST_SCHEMA = max(version for version, _, _ in sqlite_migrations())


def call(settings: Settings, *requests: tuple[str, str, dict[str, str]]) -> list[httpx.Response]:
    app = create_app(settings)

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rk") as client:
            return [await client.request(m, p, headers=h) for m, p, h in requests]

    try:
        return asyncio.run(go())
    finally:
        app.state.store.close()


def get(path: str, **headers: str) -> tuple[str, str, dict[str, str]]:
    return ("GET", path, headers)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", run_jobs=False)


def test_livez_and_readyz_answer(settings: Settings) -> None:
    live, ready, health = call(settings, get("/livez"), get("/readyz"), get("/healthz"))
    assert live.status_code == 200 and live.json() == {"status": "ok"} == health.json()
    assert ready.status_code == 200, ready.text
    body = ready.json()
    free = body["checks"].pop("data_dir")
    assert body == {
        "status": "ready",
        "checks": {
            "database": "sqlite",
            "migrations": f"schema {LATEST_SCHEMA}",
            "bucket": "local",
            "recorder": "not checked",  # this app runs no jobs (run_jobs=False): it records nothing
        },
    }
    assert free.endswith(" MiB free"), free


def test_readyz_names_the_recorder_that_runs(settings: Settings) -> None:
    (ready,) = call(replace(settings, run_jobs=True), get("/readyz"))
    assert ready.status_code == 200, ready.text
    found = find_ffmpeg()
    assert found.path is not None and ready.json()["checks"]["recorder"] == f"{found.path} (from {found.source})"


def test_readyz_is_503_when_no_recorder_can_run(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ffmpeg"
    (ready,) = call(replace(settings, run_jobs=True, ffmpeg=str(missing)), get("/readyz"))
    assert ready.status_code == 503, ready.text
    message = ready.json()["error"]["message"]
    assert message == f"not ready: recorder: ffmpeg not found: RECORDKIT_FFMPEG={missing} is not an executable file"


def test_readiness_reports_a_nearly_full_data_dir(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    roomy = Readiness(None, None, data_dir=tmp_path, min_free_bytes=1).check()
    full = Readiness(None, None, data_dir=tmp_path, min_free_bytes=free + 2**40).check()
    assert roomy.ok and not full.ok
    assert full.failures().startswith(f"data_dir: {tmp_path} is nearly full: ")
    assert full.failures().endswith(f"at least {(free + 2**40) / 1048576:,.0f} MiB needed")


@pytest.mark.parametrize(
    ("break_it", "needle"),
    [
        (lambda s: s.database_path.rename(s.data_dir / "elsewhere"), "database: "),
        (
            lambda s: _set_user_version(s.database_path, 1),
            f"migrations: schema version 1, this build needs {LATEST_SCHEMA}",
        ),
        (lambda s: (s.bucket_dir.rmdir(), s.bucket_dir.write_text("not a folder")), "bucket: cannot write to"),
        (lambda s: s.data_dir.rename(s.data_dir.with_name("moved")), "data_dir: cannot write to"),
    ],
    ids=["database file gone", "schema behind", "bucket not writable", "data dir gone"],
)
def test_readyz_is_503_naming_what_is_not_ready(
    settings: Settings, break_it: Callable[[Settings], Any], needle: str
) -> None:
    app = create_app(settings)  # the database and the bucket folder exist from here on

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rk") as client:
            first = await client.get("/readyz")
            break_it(settings)  # while the app runs (its connections stay open)
            return [first, await client.get("/readyz"), await client.get("/livez")]

    try:
        before, ready, live = asyncio.run(go())
    finally:
        app.state.store.close()
    assert before.status_code == 200, before.text
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert set(body) == {"success", "error"} and body["success"] is False and body["error"]["code"] == 503
    assert body["error"]["message"].startswith("not ready: ") and needle in body["error"]["message"]
    assert live.status_code == 200  # alive all the same


def _set_user_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


def test_request_ids_are_echoed_or_made(settings: Settings) -> None:
    mine, made, bad, other = call(
        settings,
        get("/livez", **{"x-request-id": "trace-7f3a:01"}),
        get("/livez"),
        get("/livez", **{"x-request-id": "bad id\twith spaces"}),
        get("/nope"),
    )
    assert mine.headers["x-request-id"] == "trace-7f3a:01"
    assert len(made.headers["x-request-id"]) == 24
    assert bad.headers["x-request-id"] != "bad id\twith spaces" and len(bad.headers["x-request-id"]) == 24
    assert other.status_code == 404 and other.headers["x-request-id"]


def test_metrics_count_requests_by_route_template(settings: Settings) -> None:
    path = "/client/v4/accounts/acc/realtime/kit/app/recordings"
    *_, scraped = call(settings, get(path), get(path), get("/nope"), get("/metrics"))
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    template = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    assert f'recordkit_http_requests_total{{method="GET",route="{template}",status="401"}} 2.0' in text
    assert 'recordkit_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert "/acc/" not in text  # never a raw path
    assert "recordkit_store_up 1.0" in text and 'recordkit_recordings{status="UPLOADED"} 0.0' in text


def test_metrics_can_be_off_or_ask_for_a_token(settings: Settings) -> None:
    (off,) = call(replace(settings, metrics=False), get("/metrics"))
    assert off.status_code == 404
    guarded = replace(settings, metrics_token="s3cret-metrics-token")
    anon, wrong, right = call(
        guarded,
        get("/metrics"),
        get("/metrics", authorization="Bearer nope"),
        get("/metrics", authorization="Bearer s3cret-metrics-token"),
    )
    assert anon.status_code == 401 == wrong.status_code and anon.json()["success"] is False
    assert right.status_code == 200 and "recordkit_info" in right.text


def test_rate_limited_requests_are_counted_under_their_route(settings: Settings) -> None:
    limited = replace(settings, rate_limit_recordings="1/60")
    path = "/client/v4/accounts/acc/realtime/kit/app/recordings"
    *_, scraped = call(limited, get(path), get(path), get(path), get("/metrics"))
    template = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    assert f'recordkit_http_requests_total{{method="GET",route="{template}",status="429"}} 2.0' in scraped.text


def test_the_metrics_switch_refuses_what_it_does_not_understand() -> None:
    assert Settings.from_env({"RECORDKIT_METRICS": "off"}).metrics is False
    assert Settings.from_env({}).metrics is True
    with pytest.raises(SettingsError, match="RECORDKIT_METRICS"):
        Settings.from_env({"RECORDKIT_METRICS": "of"})
    env = Settings.from_env({"RECORDKIT_METRICS_TOKEN": "t0k", "RECORDKIT_METRICS": "0"}).to_env()
    assert env["RECORDKIT_METRICS"] == "off" and env["RECORDKIT_METRICS_TOKEN"] == "t0k"


def test_readiness_of_a_bucket_on_s3(s3_server: Any) -> None:
    """HEAD bucket with the configured credentials: a missing bucket or a wrong key is not ready."""
    import uuid

    from recordkit.blobs.bucket import S3Bucket
    from recordkit.blobs.s3 import S3BlobStore
    from recordkit.ops.health import Readiness

    def bucket(name: str, secret: str | None = None) -> S3Bucket:
        store = S3BlobStore.from_url(
            f"s3://{name}/rk",
            region=s3_server.region,
            endpoint_url=s3_server.endpoint_url,
            access_key=s3_server.access_key,
            secret=secret or s3_server.secret,
        )
        return S3Bucket(store)

    there = s3_server.create_bucket(f"rk-ready-{uuid.uuid4().hex[:8]}")
    ok = Readiness(None, bucket(there)).check()
    assert ok.ok, ok.failures()
    missing = Readiness(None, bucket(f"rk-missing-{uuid.uuid4().hex[:8]}"), remote_cache_seconds=0).check()
    assert not missing.ok and missing.failures().startswith("bucket: RecordKit bucket rk-missing-")
    assert "head bucket failed" in missing.failures()
