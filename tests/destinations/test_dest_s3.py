"""AWS S3 and DigitalOcean Spaces destinations against moto's server (IAM authentication enforced)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from recordkit.errors import InvalidRequest
from tests.support.destinations import check_failure, random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import S3Server


def aws_config(server: S3Server, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "aws",
        "bucket": bucket,
        "region": server.region,
        "access_key": server.access_key,
        "secret": server.secret,
        **extra,
    }


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.create_bucket(unique("dest"))


def test_put_uploads_the_bytes_under_path_and_prefix(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    dest = open_destination(
        aws_config(s3_server, bucket, path="/recordings/2026/"),
        Endpoints(aws=s3_server.endpoint_url),
        file_name_prefix="acme",
    )
    source, data = random_file(tmp_path, 300 * 1024, "meeting.mp4")
    key = dest.put(source, "meeting.mp4")
    assert key == "recordings/2026/acme_meeting.mp4"
    assert s3_server.get_bytes(bucket, key) == data
    assert s3_server.keys(bucket) == [key]
    assert s3_server.client().head_object(Bucket=bucket, Key=key)["ContentType"] == "video/mp4"


def test_large_files_go_multipart(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    dest = open_destination(aws_config(s3_server, bucket, path="big"), Endpoints(aws=s3_server.endpoint_url))
    source, data = random_file(tmp_path, 9 * 1024 * 1024 + 123)
    key = dest.put(source, "rec.mp4")
    assert key == "big/rec.mp4"
    assert s3_server.get_bytes(bucket, key) == data
    etag = s3_server.client().head_object(Bucket=bucket, Key=key)["ETag"]
    assert etag.strip('"').endswith("-2")  # two parts: a multipart upload


def test_put_replaces_and_delete_removes(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    dest = open_destination(aws_config(s3_server, bucket, path="p"), Endpoints(aws=s3_server.endpoint_url))
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    key = dest.put(first, "x.mp4")
    assert dest.put(second, "x.mp4") == key
    assert s3_server.get_bytes(bucket, key) == data
    dest.delete(key)
    assert s3_server.keys(bucket) == []
    dest.delete(key)  # already gone: fine
    with pytest.raises(InvalidRequest, match=r"not under storage_config\.path"):
        dest.delete("other/x.mp4")


def test_probe_writes_and_deletes(s3_server: S3Server, bucket: str) -> None:
    dest = open_destination(aws_config(s3_server, bucket, path="probe/here"), Endpoints(aws=s3_server.endpoint_url))
    dest.probe()
    assert s3_server.keys(bucket) == []


@pytest.mark.parametrize("wrong", ["secret", "access_key"])
def test_bad_credentials_are_permanent_and_secret_free(s3_server: S3Server, bucket: str, wrong: str) -> None:
    cfg = aws_config(s3_server, bucket)
    cfg[wrong] = "AKIAWRONGWRONGWRONG1" if wrong == "access_key" else "wrong-secret-value-0123456789"
    dest = open_destination(cfg, Endpoints(aws=s3_server.endpoint_url))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(cfg["access_key"], cfg["secret"], s3_server.secret))
    code = "SignatureDoesNotMatch" if wrong == "secret" else "InvalidAccessKeyId"
    assert f"{code} (HTTP 403)" in caught.value.message
    assert bucket in caught.value.message  # describe(): which destination


def test_missing_bucket_is_permanent(s3_server: S3Server, tmp_path: Path) -> None:
    dest = open_destination(aws_config(s3_server, unique("absent")), Endpoints(aws=s3_server.endpoint_url))
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=False, secrets=(s3_server.secret,))
    assert "NoSuchBucket (HTTP 404)" in caught.value.message


def test_server_down_is_transient(s3_server: S3Server, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    dest = open_destination(aws_config(s3_server, "some-bucket"), Endpoints(aws=down))
    source, _ = random_file(tmp_path, 10)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(s3_server.access_key, s3_server.secret))
    assert "EndpointConnectionError" in caught.value.message
    assert time.monotonic() - started < 20


def test_digitalocean_through_an_endpoint_override(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    cfg = {**aws_config(s3_server, bucket, path="spaces"), "type": "digitalocean", "region": "nyc3"}
    dest = open_destination(cfg, Endpoints(digitalocean=s3_server.endpoint_url))
    assert "DigitalOcean Spaces" in dest.describe()
    source, data = random_file(tmp_path, 200 * 1024)
    key = dest.put(source, "rec.webm")
    assert key == "spaces/rec.webm"
    assert s3_server.get_bytes(bucket, key) == data
    dest.probe()
    assert s3_server.keys(bucket) == [key]
