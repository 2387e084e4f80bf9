"""S3BlobStore (the RecordKit bucket on S3) against moto's server: what only S3 does. The behaviours
both bucket backends share are in test_bucket_contract.py.

moto checks neither the signature nor the expiry of a presigned URL (moto 5.2.5: a tampered or
expired URL still gets 200), and it answers any presigned GET with 500 while IAM authentication is
on. So presigned URLs are fetched with authentication off, and their expiry is checked in the URL
(X-Amz-Date + X-Amz-Expires) rather than by the server's refusal.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from recordkit.blobs.s3 import S3BlobStore
from recordkit.errors import InvalidRequest, NotFound, Unavailable
from tests.support.destinations import random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import S3Server


@pytest.fixture
def store(s3_server: S3Server) -> S3BlobStore:
    bucket = s3_server.create_bucket(unique("rk"))
    return S3BlobStore.from_url(
        f"s3://{bucket}/data/v1",
        region=s3_server.region,
        endpoint_url=s3_server.endpoint_url,
        access_key=s3_server.access_key,
        secret=s3_server.secret,
    )


def test_put_read_delete(store: S3BlobStore, s3_server: S3Server, tmp_path: Path) -> None:
    source, data = random_file(tmp_path, 300 * 1024)
    assert store.put_file("rec-1/video.mp4", source) == len(data)
    assert s3_server.get_bytes(store.bucket, "data/v1/rec-1/video.mp4") == data
    assert store.read_bytes("rec-1/video.mp4") == data
    target = tmp_path / "back.mp4"
    assert store.download_to("rec-1/video.mp4", target) == len(data)
    assert target.read_bytes() == data
    assert store.delete("rec-1/video.mp4") is True
    assert store.delete("rec-1/video.mp4") is False
    assert s3_server.keys(store.bucket) == []
    with pytest.raises(NotFound):
        store.read_bytes("rec-1/video.mp4")


def test_presigned_url_serves_the_bytes(store: S3BlobStore, s3_server: S3Server, tmp_path: Path) -> None:
    source, data = random_file(tmp_path, 100 * 1024)
    store.put_file("rec-2/video.mp4", source)
    url = store.presigned_url("rec-2/video.mp4", 600, filename="meeting.mp4")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["600"]
    assert s3_server.secret not in url
    with s3_server.auth_off():
        answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-disposition"] == 'attachment; filename="meeting.mp4"'


def test_presigned_url_expiry(store: S3BlobStore, s3_server: S3Server, tmp_path: Path) -> None:
    source, data = random_file(tmp_path, 1000)
    store.put_file("rec-3/video.mp4", source)
    before = datetime.now(UTC).replace(microsecond=0)
    url = store.presigned_url("rec-3/video.mp4", 1)
    query = parse_qs(urlsplit(url).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= signed_at <= datetime.now(UTC)
    assert query["X-Amz-Expires"] == ["1"]  # S3 refuses it from signed_at + 1 s on
    time.sleep(2)
    with s3_server.auth_off():
        answer = httpx.get(url)
    # Real S3 answers 403 AccessDenied "Request has expired"; moto does not check expiry.
    assert answer.status_code in (200, 403)
    if answer.status_code == 200:
        assert answer.content == data
    with pytest.raises(InvalidRequest):
        store.presigned_url("rec-3/video.mp4", 0)
    with pytest.raises(InvalidRequest):
        store.presigned_url("rec-3/video.mp4", 8 * 24 * 3600)


def test_failures_are_unavailable_without_secrets(s3_server: S3Server, tmp_path: Path) -> None:
    source, _ = random_file(tmp_path, 10)
    wrong = S3BlobStore(
        s3_server.create_bucket(unique("rk")),
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        access_key=s3_server.access_key,
        secret="wrong-secret-0123456789",
    )
    with pytest.raises(Unavailable) as caught:
        wrong.put_file("x/y.mp4", source)
    assert "SignatureDoesNotMatch (HTTP 403)" in caught.value.message
    assert "wrong-secret" not in caught.value.message and s3_server.access_key not in caught.value.message

    down = S3BlobStore(
        "bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1", access_key="a", secret="b"
    )
    with pytest.raises(Unavailable, match="EndpointConnectionError"):
        down.put_file("x/y.mp4", source)


def test_bucket_url_is_checked() -> None:
    for bad in ("http://bucket/x", "s3://", "s3:///prefix", "s3://bucket/../x", "s3://bucket/p?x=1"):
        with pytest.raises(InvalidRequest):
            S3BlobStore.from_url(bad, region="us-east-1", access_key="a", secret="b")
