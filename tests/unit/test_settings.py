"""Settings for storage: read from RECORDKIT_* variables, carried to worker processes, secrets hidden."""

from __future__ import annotations

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
