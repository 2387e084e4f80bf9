"""``S3BlobStore``: the RecordKit bucket on S3-compatible storage (AWS S3, MinIO, Spaces, R2, ...).

Configured from ``RECORDKIT_BUCKET_URL=s3://bucket/prefix`` with ``RECORDKIT_BUCKET_ENDPOINT_URL``,
``RECORDKIT_BUCKET_REGION``, ``RECORDKIT_BUCKET_ACCESS_KEY`` and ``RECORDKIT_BUCKET_SECRET``
(``S3BlobStore.from_url``). Without an access key boto3's own credential chain is used (an
instance role, say). Keys are checked like ``LocalBlobStore``'s (``keys.split_key``) and put under
the prefix. Downloads are presigned S3 URLs (SigV4), so the bytes never pass through RecordKit.

Needs the ``s3`` extra (boto3).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from recordkit.domain.keys import check_name, split_key
from recordkit.errors import InvalidRequest, NotFound, Unavailable

MAX_PRESIGN_SECONDS: Final = 7 * 24 * 3600  # SigV4's limit
MULTIPART_BYTES: Final = 8 * 1024 * 1024


def make_s3_client(
    *,
    region: str | None,
    access_key: str | None,
    secret: str | None,
    endpoint_url: str | None,
    path_style: bool,
    max_attempts: int = 3,
    connect_timeout: float = 10,
    read_timeout: float = 60,
) -> Any:
    """A boto3 S3 client of its own session: SigV4, short timeouts, few retries.

    AWS_ENDPOINT_URL* settings of the environment or ~/.aws are ignored: RecordKit's own settings
    name every endpoint. Off AWS (``endpoint_url`` given) checksums are sent only when required,
    as several S3-compatible services refuse boto's default CRC trailers."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "virtual" if endpoint_url else "auto"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        ignore_configured_endpoint_urls=True,
        request_checksum_calculation="when_required" if endpoint_url else "when_supported",
        response_checksum_validation="when_required" if endpoint_url else "when_supported",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=config,
    )


def transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=2, use_threads=True
    )


def error_code(exc: BaseException) -> tuple[str, int | None]:
    """A botocore ClientError's code and HTTP status; the class name for other errors."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code") or "") or type(exc).__name__
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code, status if isinstance(status, int) else None
    return type(exc).__name__, None


class S3BlobStore:
    """Objects are ``{prefix}{key}`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret: str | None = None,
        path_style: bool | None = None,
        client: Any = None,
    ) -> None:
        if not bucket or "/" in bucket:
            raise InvalidRequest("bucket: must be a bucket name")
        prefix = prefix.strip("/")
        if prefix:
            split_key(prefix)  # every segment a plain name
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client = client or make_s3_client(
            region=region,
            access_key=access_key,
            secret=secret,
            endpoint_url=endpoint_url,
            path_style=bool(endpoint_url) if path_style is None else path_style,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret: str | None = None,
    ) -> S3BlobStore:
        """From ``s3://bucket`` or ``s3://bucket/prefix``."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise InvalidRequest("bucket URL: must be s3://bucket or s3://bucket/prefix")
        return cls(
            parts.netloc,
            parts.path,
            region=region,
            endpoint_url=endpoint_url,
            access_key=access_key,
            secret=secret,
        )

    def object_key(self, key: str) -> str:
        split_key(key)
        return f"{self.prefix}{key}"

    def put_file(self, key: str, source: Path) -> int:
        """Upload a file (multipart past 8 MiB); returns the stored object's size."""
        target = self.object_key(key)
        try:
            self._client.upload_file(str(source), self.bucket, target, Config=transfer_config())
            head = self._client.head_object(Bucket=self.bucket, Key=target)
        except Exception as exc:
            raise self._error("upload", exc) from None
        return int(head["ContentLength"])

    def check_bucket(self) -> None:
        """``Unavailable`` unless the bucket answers a HEAD with these credentials (readiness probes)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._error("head bucket", exc) from None

    def exists(self, key: str) -> bool:
        target = self.object_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=target)
        except Exception as exc:
            if _missing(exc):
                return False
            raise self._error("head", exc) from None
        return True

    def delete(self, key: str) -> bool:
        """Delete an object; False when it was not there."""
        target = self.object_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=target)
        except Exception as exc:
            if _missing(exc):
                return False
            raise self._error("delete", exc) from None
        try:
            self._client.delete_object(Bucket=self.bucket, Key=target)
        except Exception as exc:
            raise self._error("delete", exc) from None
        return True

    def presigned_url(self, key: str, expires_in_seconds: int, *, filename: str | None = None) -> str:
        """A GET URL valid for ``expires_in_seconds`` (1 s to 7 days); ``filename`` sets the download name."""
        if not 1 <= expires_in_seconds <= MAX_PRESIGN_SECONDS:
            raise InvalidRequest(f"expires_in_seconds: must be between 1 and {MAX_PRESIGN_SECONDS}")
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{check_name(filename)}"'
        url: str = self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in_seconds)
        return url

    def iter_bytes(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream an object's bytes (NotFound if missing)."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"]
        except Exception as exc:
            if _missing(exc):
                raise NotFound("no such object") from None
            raise self._error("download", exc) from None
        try:
            yield from body.iter_chunks(chunk_size)
        except Exception as exc:
            raise self._error("download", exc) from None
        finally:
            body.close()

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.iter_bytes(key))

    def download_to(self, key: str, target: Path) -> int:
        """Write an object to a local file; returns its size."""
        with target.open("wb") as handle:
            for chunk in self.iter_bytes(key):
                handle.write(chunk)
        return target.stat().st_size

    def _error(self, operation: str, exc: BaseException) -> Unavailable:
        code, status = error_code(underlying(exc))
        shown = f"{code} (HTTP {status})" if status else code
        return Unavailable(f"RecordKit bucket {self.bucket}: {operation} failed: {shown}")


def underlying(exc: BaseException) -> BaseException:
    """The ClientError inside boto3's S3UploadFailedError (raised while handling it, without ``from``)."""
    from boto3.exceptions import S3UploadFailedError  # boto3 is there: only its calls raise what comes here

    inner = exc.__cause__ or exc.__context__
    if isinstance(exc, S3UploadFailedError) and inner is not None:
        return inner
    return exc


def _missing(exc: BaseException) -> bool:
    code, status = error_code(exc)
    return status == 404 or code in ("404", "NoSuchKey", "NotFound")
