"""The RecordKit bucket as the supervisor and the CLI use it: a local folder or S3-compatible storage.

    put_file(key, path) -> size      store a finished file (atomically)
    delete(key) -> bool              remove it (retention, or after delivery when the bucket is off)
    exists(key) -> bool
    local_copy(key, scratch)         a local path to read it from (S3: downloaded into ``scratch``)
    link(key, now_ms, ttl_ms)        a download URL and its expiry (ms since the epoch)

``LocalBucket`` signs links on RecordKit itself (``signing.UrlSigner``, served by the files route);
``S3Bucket`` hands out presigned S3 GET URLs, whose expiry is read back from the URL it signed
(``X-Amz-Date`` + ``X-Amz-Expires``), so ``download_url_expiry`` is exactly the URL's. SigV4
allows at most 7 days: a longer ``RECORDKIT_DOWNLOAD_TTL_SECONDS`` is cut to 7 days there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from recordkit.blobs.local import LocalBlobStore
from recordkit.blobs.s3 import MAX_PRESIGN_SECONDS, S3BlobStore
from recordkit.blobs.signing import UrlSigner
from recordkit.errors import NotFound
from recordkit.security.cipher import SecretCipher
from recordkit.settings import Settings


class Bucket(Protocol):
    def describe(self) -> str: ...

    def put_file(self, key: str, source: Path) -> int: ...

    def delete(self, key: str) -> bool: ...

    def exists(self, key: str) -> bool: ...

    def local_copy(self, key: str, scratch: Path) -> contextlib.AbstractContextManager[Path]: ...

    def link(self, key: str, now_ms: int, ttl_ms: int) -> tuple[str, int]: ...


class LocalBucket:
    """The bucket as a folder under the data dir; links signed by RecordKit."""

    def __init__(self, store: LocalBlobStore, signer: UrlSigner, public_url: str) -> None:
        self.store = store
        self.signer = signer
        self.public_url = public_url

    def describe(self) -> str:
        return f"local bucket {self.store.root}"

    def put_file(self, key: str, source: Path) -> int:
        return self.store.put_file(key, source)

    def delete(self, key: str) -> bool:
        return self.store.delete(key)

    def exists(self, key: str) -> bool:
        return self.store.path_of(key).is_file()

    @contextlib.contextmanager
    def local_copy(self, key: str, scratch: Path) -> Iterator[Path]:
        path = self.store.path_of(key)
        if not path.is_file():
            raise FileNotFoundError(f"bucket object {key} is missing")
        yield path

    def link(self, key: str, now_ms: int, ttl_ms: int) -> tuple[str, int]:
        expiry = now_ms + ttl_ms
        return self.signer.url(self.public_url, key, expiry), expiry


class S3Bucket:
    """The bucket on S3-compatible storage; links are presigned S3 URLs."""

    def __init__(self, store: S3BlobStore) -> None:
        self.store = store

    def describe(self) -> str:
        return f"S3 bucket {self.store.bucket!r}"

    def put_file(self, key: str, source: Path) -> int:
        return self.store.put_file(key, source)

    def delete(self, key: str) -> bool:
        return self.store.delete(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    @contextlib.contextmanager
    def local_copy(self, key: str, scratch: Path) -> Iterator[Path]:
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / key.rsplit("/", 1)[-1]
        try:
            try:
                self.store.download_to(key, target)
            except NotFound:  # as LocalBucket: a missing copy is permanent (the delivery gives up)
                raise FileNotFoundError(f"bucket object {key} is missing") from None
            yield target
        finally:
            with contextlib.suppress(OSError):
                target.unlink()

    def link(self, key: str, now_ms: int, ttl_ms: int) -> tuple[str, int]:
        seconds = max(1, min(ttl_ms // 1000, MAX_PRESIGN_SECONDS))
        url = self.store.presigned_url(key, seconds, filename=key.rsplit("/", 1)[-1])
        return url, presigned_expiry_ms(url, fallback=now_ms + seconds * 1000)


def presigned_expiry_ms(url: str, *, fallback: int) -> int:
    """When a SigV4 presigned URL stops working: ``X-Amz-Date`` + ``X-Amz-Expires``."""
    query = parse_qs(urlsplit(url).query)
    try:
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return int(signed.timestamp() * 1000) + int(query["X-Amz-Expires"][0]) * 1000
    except (KeyError, IndexError, ValueError):
        return fallback


def open_bucket(settings: Settings, signer: UrlSigner) -> Bucket:
    """``RECORDKIT_BUCKET_URL`` (s3://...) when set, else the folder under the data dir."""
    if settings.bucket_url:
        return S3Bucket(
            S3BlobStore.from_url(
                settings.bucket_url,
                region=settings.bucket_region,
                endpoint_url=settings.bucket_endpoint_url,
                access_key=settings.bucket_access_key,
                secret=settings.bucket_secret,
            )
        )
    return LocalBucket(LocalBlobStore(settings.bucket_dir), signer, settings.base_url)


def open_signer(cipher: SecretCipher) -> UrlSigner:
    """The download-link signer: keyed by the first secret key, verifying with the older ones too."""
    keys = cipher.derive_keys("recordkit download links")
    return UrlSigner(keys[0], keys[1:])
