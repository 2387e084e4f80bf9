"""The bucket contract: one set of behaviours of the ``Bucket`` port (blobs/bucket.py), run over both
backends: the folder under the data dir (``LocalBucket`` over blobs/local.py) and S3-compatible
storage (``S3Bucket`` over blobs/s3.py, against moto).

What only S3 does (presigned URLs and their expiry, its error messages, the bucket URL) stays in
test_blobs_s3.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from recordkit.blobs.bucket import Bucket, LocalBucket, S3Bucket
from recordkit.blobs.local import LocalBlobStore
from recordkit.blobs.s3 import S3BlobStore
from recordkit.blobs.signing import UrlSigner
from recordkit.errors import InvalidRequest
from tests.support.destinations import random_file, unique
from tests.support.storage_servers import S3Server

BACKENDS = ("local", "s3")


@dataclass
class Backend:
    bucket: Bucket
    stored: Callable[[str], bytes]  # the bytes where the backend keeps a key, read from the far side
    secrets: tuple[str, ...]  # (a presigned URL names the access key: it is no secret)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "bucket"
        signer = UrlSigner(b"k" * 32)
        return Backend(
            LocalBucket(LocalBlobStore(root), signer, "http://rk.example"),
            lambda key: (root / key).read_bytes(),
            (),
        )
    s3: S3Server = request.getfixturevalue("s3_server")
    name = s3.create_bucket(unique("rk"))
    store = S3BlobStore.from_url(
        f"s3://{name}/data/v1",
        region=s3.region,
        endpoint_url=s3.endpoint_url,
        access_key=s3.access_key,
        secret=s3.secret,
    )
    return Backend(S3Bucket(store), lambda key: s3.get_bytes(name, f"data/v1/{key}"), (s3.secret,))


def read_back(backend: Backend, key: str, scratch: Path) -> bytes:
    with backend.bucket.local_copy(key, scratch) as path:
        return path.read_bytes()


def test_put_stores_the_bytes_and_exists_sees_them(backend: Backend, tmp_path: Path) -> None:
    source, data = random_file(tmp_path, 300 * 1024)
    assert not backend.bucket.exists("rec-1/video.mp4")
    assert backend.bucket.put_file("rec-1/video.mp4", source) == len(data)
    assert backend.bucket.exists("rec-1/video.mp4")
    assert backend.stored("rec-1/video.mp4") == data
    assert read_back(backend, "rec-1/video.mp4", tmp_path / "scratch") == data


def test_put_replaces_and_delete_removes(backend: Backend, tmp_path: Path) -> None:
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    backend.bucket.put_file("rec-2/audio.m4a", first)
    assert backend.bucket.put_file("rec-2/audio.m4a", second) == 2000
    assert read_back(backend, "rec-2/audio.m4a", tmp_path / "scratch") == data
    assert backend.bucket.delete("rec-2/audio.m4a") is True
    assert not backend.bucket.exists("rec-2/audio.m4a")
    assert backend.bucket.delete("rec-2/audio.m4a") is False  # already gone: not an error
    with pytest.raises(FileNotFoundError):  # the delivery's "bucket copy is missing", on both backends
        read_back(backend, "rec-2/audio.m4a", tmp_path / "scratch")


def test_a_large_file_goes_in_whole(backend: Backend, tmp_path: Path) -> None:
    source, data = random_file(tmp_path, 9 * 1024 * 1024)
    assert backend.bucket.put_file("big/file.mp4", source) == len(data)
    assert backend.stored("big/file.mp4") == data


@pytest.mark.parametrize("bad", ["../x", "a//b", "/a", ".hidden", "a/../b", "a/./b", ""])
def test_keys_are_checked(backend: Backend, tmp_path: Path, bad: str) -> None:
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(InvalidRequest):
        backend.bucket.put_file(bad, source)


def test_link_expires_after_the_ttl_and_carries_no_secret(backend: Backend, tmp_path: Path) -> None:
    source, _ = random_file(tmp_path, 10)
    backend.bucket.put_file("rec-3/video.mp4", source)
    now_ms = int(time.time() * 1000)
    url, expiry = backend.bucket.link("rec-3/video.mp4", now_ms, 600_000)
    assert abs(expiry - (now_ms + 600_000)) <= 2000  # S3: read back from the URL, to the second
    assert quote("rec-3/video.mp4") in url
    assert all(secret not in url for secret in backend.secrets)


def test_describe_carries_no_secret(backend: Backend) -> None:
    shown = backend.bucket.describe()
    assert "bucket" in shown
    assert all(secret not in shown for secret in backend.secrets)
