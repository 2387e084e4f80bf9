"""Settings for storage: read from RECORDKIT_* variables, carried to worker processes, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from recordkit.cli.main import main
from recordkit.settings import Settings, SettingsError

ENV = {
    "RECORDKIT_DATA_DIR": "/srv/rk",
    "RECORDKIT_AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    "RECORDKIT_DIGITALOCEAN_ENDPOINT_URL": "http://127.0.0.1:9001/{region}",
    "RECORDKIT_AZURE_ENDPOINT_URL": "http://127.0.0.1:10000/{account}",
    "RECORDKIT_GCS_ENDPOINT_URL": "http://127.0.0.1:9023",
    "RECORDKIT_ALLOW_PRIVATE_NETWORK": "0",
    "RECORDKIT_UPLOAD_ATTEMPTS": "7",
    "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": "0.5",
    "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS": "60",
    "RECORDKIT_STORAGE_PREFLIGHT": "true",
    "RECORDKIT_BUCKET_URL": "s3://rk-bucket/prefix",
    "RECORDKIT_BUCKET_ENDPOINT_URL": "http://127.0.0.1:9000",
    "RECORDKIT_BUCKET_REGION": "eu-west-1",
    "RECORDKIT_BUCKET_ACCESS_KEY": "BUCKET-ACCESS-KEY-1234",
    "RECORDKIT_BUCKET_SECRET": "bucket-secret-value-5678",
    "RECORDKIT_SECRET_KEYS": "key-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
}


def test_storage_settings_round_trip_through_the_worker_environment() -> None:
    settings = Settings.from_env(ENV)
    assert settings.aws_endpoint_url == "http://127.0.0.1:9000"
    assert (settings.upload_attempts, settings.upload_retry_base_seconds, settings.storage_preflight) == (7, 0.5, True)
    assert settings.bucket_url == "s3://rk-bucket/prefix" and settings.bucket_secret == "bucket-secret-value-5678"
    endpoints = settings.endpoints()
    assert endpoints.azure == "http://127.0.0.1:10000/{account}" and endpoints.sftp_allow_private is False
    assert Settings.from_env(settings.to_env()) == settings


def test_secrets_are_not_in_the_repr() -> None:
    shown = repr(Settings.from_env(ENV))
    for name in ("RECORDKIT_BUCKET_ACCESS_KEY", "RECORDKIT_BUCKET_SECRET", "RECORDKIT_SECRET_KEYS"):
        assert ENV[name] not in shown
    assert "s3://rk-bucket/prefix" in shown


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECORDKIT_AWS_ENDPOINT_URL", "ftp://x"),
        ("RECORDKIT_GCS_ENDPOINT_URL", "not a url"),
        ("RECORDKIT_BUCKET_URL", "gs://bucket"),
        ("RECORDKIT_UPLOAD_ATTEMPTS", "0"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_serve_refuses_a_bad_endpoint_flag_before_starting(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--data-dir", str(tmp_path / "d"), "--aws-endpoint-url", "ftp://nope"], env={}
    )
    assert result.exit_code != 0
    assert "RECORDKIT_AWS_ENDPOINT_URL: must be an http(s) URL" in result.output


# Every setting set to something other than its default: from_env, to_env and back.
EVERY = {
    "RECORDKIT_DATA_DIR": "/srv/rk",
    "RECORDKIT_DATABASE_URL": "postgresql://rk:pw@db.example.com:5432/rk",
    "RECORDKIT_DATABASE_POOL_SIZE": "4",
    "RECORDKIT_HOST": "0.0.0.0",
    "RECORDKIT_PORT": "9000",
    "RECORDKIT_WORKERS": "3",
    "RECORDKIT_SECRET_KEYS": "key-a, key-b",
    "RECORDKIT_PUBLIC_URL": "https://rk.example.com",
    "RECORDKIT_MAX_BODY_BYTES": "2048",
    "RECORDKIT_LOG_JSON": "yes",
    "RECORDKIT_DOWNLOAD_TTL_SECONDS": "60",
    "RECORDKIT_FFMPEG": "/opt/ffmpeg",
    "RECORDKIT_RUN_JOBS": "off",
    "RECORDKIT_RETENTION_INTERVAL_SECONDS": "0.5",
    "RECORDKIT_IMPORT_BATCH": "200",
    "RECORDKIT_AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    "RECORDKIT_DIGITALOCEAN_ENDPOINT_URL": "http://127.0.0.1:9001/{region}",
    "RECORDKIT_AZURE_ENDPOINT_URL": "http://127.0.0.1:10000/{account}",
    "RECORDKIT_GCS_ENDPOINT_URL": "http://127.0.0.1:9023",
    "RECORDKIT_SFTP_KNOWN_HOSTS": "/etc/rk/known_hosts",
    "RECORDKIT_ALLOW_PRIVATE_NETWORK": "TRUE",
    "RECORDKIT_UPLOAD_ATTEMPTS": "2",
    "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": "1",
    "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS": "10",
    "RECORDKIT_STORAGE_PREFLIGHT": "on",
    "RECORDKIT_BUCKET_URL": "s3://rk/recordings",
    "RECORDKIT_BUCKET_ENDPOINT_URL": "http://minio:9000",
    "RECORDKIT_BUCKET_REGION": "eu-west-1",
    "RECORDKIT_BUCKET_ACCESS_KEY": "access",
    "RECORDKIT_BUCKET_SECRET": "secret",
    "RECORDKIT_RATE_LIMIT_RECORDINGS": "off",
    "RECORDKIT_RATE_LIMIT_OTHER": "10/1",
    "RECORDKIT_WEBHOOK_TIMEOUT_SECONDS": "3",
    "RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "RECORDKIT_WEBHOOK_MAX_ATTEMPTS": "3",
    "RECORDKIT_METRICS": "0",
    "RECORDKIT_METRICS_TOKEN": "t0k",
    "RECORDKIT_METRICS_DIR": "/run/rk-metrics",
}


def test_every_setting_is_read_written_and_read_back() -> None:
    declared = Settings.declarations()
    assert set(EVERY) == {d.env for d in declared}, "a new setting: add it here (and to docs/settings.md)"
    settings = Settings.from_env(EVERY)
    defaults = Settings()
    for d in declared:
        assert getattr(settings, d.field) != getattr(defaults, d.field), d.env
    assert (settings.port, settings.workers, settings.database_pool_size, settings.import_batch) == (9000, 3, 4, 200)
    assert settings.secret_keys == ("key-a", "key-b") and settings.allow_private_network is True
    assert settings.retention_interval_seconds == 0.5 and settings.data_dir == Path("/srv/rk")
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).to_env() == {d.env: d.default for d in declared if d.default}


def test_flags_win_and_are_checked_as_the_variables_are() -> None:
    env = {"RECORDKIT_PORT": "9000", "RECORDKIT_PUBLIC_URL": "https://a.example.com"}
    assert Settings.from_env(env, port=9100, public_url=None).port == 9100
    assert Settings.from_env(env, public_url=None).public_url == "https://a.example.com"  # None: not given
    assert Settings.from_env({"RECORDKIT_PORT": ""}).port == 8787  # empty: unset, the default
    with pytest.raises(SettingsError, match=r"^RECORDKIT_PORT: must be a whole number from 1 to 65535 \(got '0'\)$"):
        Settings.from_env({}, port=0)
    with pytest.raises(SettingsError, match=r"^RECORDKIT_AWS_ENDPOINT_URL: must be an http\(s\) URL"):
        Settings(aws_endpoint_url="ftp://x")  # built directly: checked all the same
    with pytest.raises(TypeError, match="no field colour"):
        Settings.from_env({}, colour="blue")
    assert Settings(data_dir="rel/dir").data_dir == Path("rel/dir")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RECORDKIT_UPLOAD_ATTEMPTS", "abc", "RECORDKIT_UPLOAD_ATTEMPTS: must be a whole number >= 1 (got 'abc')"),
        ("RECORDKIT_UPLOAD_ATTEMPTS", "1_000", "RECORDKIT_UPLOAD_ATTEMPTS: must be a whole number >= 1 (got '1_000')"),
        ("RECORDKIT_WEBHOOK_TIMEOUT_SECONDS", "nan", "RECORDKIT_WEBHOOK_TIMEOUT_SECONDS: must be a number > 0 and"),
        ("RECORDKIT_LOG_JSON", "ture", "RECORDKIT_LOG_JSON: must be one of true/false/1/0/yes/no/on/off (got 'ture')"),
        ("RECORDKIT_BUCKET_URL", "s3://", "RECORDKIT_BUCKET_URL: must be s3://bucket or s3://bucket/prefix"),
        ("RECORDKIT_PUBLIC_URL", "http://", "RECORDKIT_PUBLIC_URL: must be an http(s) URL (got 'http://')"),
        ("RECORDKIT_PUBLIC_URL", "x" * 100, f"RECORDKIT_PUBLIC_URL: must be an http(s) URL (got '{'x' * 60}...')"),
        ("RECORDKIT_UPLOAD_RETRY_BASE_SECONDS", "400", "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS: must be at most"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_secret_is_never_repeated_in_a_message() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"RECORDKIT_DATABASE_URL": "mysql://rk:hunter2@db/rk"})
    assert str(caught.value) == "RECORDKIT_DATABASE_URL: must be a postgresql://user:password@host:port/dbname URL"
    shown = repr(Settings.from_env(EVERY))
    for d in Settings.declarations():
        if d.secret:
            assert EVERY[d.env].split(",")[0] not in shown, d.env


def test_the_docs_table_is_the_declarations() -> None:
    """docs/settings.md lists every setting with its default and form (a rename cannot leave it behind)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    rows = re.findall(r"^\| `(RECORDKIT_[A-Z0-9_]+)` \| ([^|]*) \| ([^|]*) \| ([^|]*) \|", text, flags=re.M)
    listed = {name: (default.strip(), form.strip(), flag) for name, default, form, flag in rows}
    for d in Settings.declarations():
        assert d.env in listed, f"{d.env} is not in docs/settings.md"
        default, form, flag = listed[d.env]
        assert default == (f"`{d.default}`" if d.default else "unset"), d.env
        assert form == d.form, d.env
        assert ("(secret)" in flag) == d.secret, d.env
    assert len(rows) == len(Settings.declarations())


def test_the_worker_loader_carries_the_settings_whole() -> None:
    """``serve`` hands each worker ``partial(worker_app, settings)``: inherited on fork, pickled on spawn."""
    import functools
    import pickle

    from recordkit.api.app import worker_app

    loader = functools.partial(worker_app, Settings.from_env(EVERY))
    again = pickle.loads(pickle.dumps(loader))
    assert again.func is worker_app and again.args == (Settings.from_env(EVERY),)


def test_the_database_pool_size_reaches_the_pool(pg_url: str, tmp_path: Path) -> None:
    from recordkit.store.factory import open_store

    store = open_store(Settings(data_dir=tmp_path, database_url=pg_url, database_pool_size=3))
    try:
        assert store.pool.max_size == 3  # type: ignore[union-attr]
    finally:
        store.close()
