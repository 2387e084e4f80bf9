"""AWS S3 and DigitalOcean Spaces destinations (boto3; the ``s3`` extra).

Uploads go through boto3's managed transfer: one PUT up to 8 MiB, multipart above. botocore
retries a failed request at most twice (standard mode) before the error reaches the caller.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

from recordkit.blobs.s3 import error_code, make_s3_client, transfer_config, underlying
from recordkit.destinations.base import (
    PROBE_BODY,
    DestinationError,
    check_local_file,
    content_type,
    fail,
    probe_name,
)
from recordkit.domain.naming import build_name, key_under
from recordkit.domain.storage_config import StorageSpec
from recordkit.errors import InvalidRequest

# Error codes that mean "slow down / try later" even when the status is a 4xx.
_TRANSIENT_CODES: Final = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
    }
)
# botocore exceptions (by class name) of the network: the far side may be back later.
_TRANSIENT_CLASSES: Final = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ProxyConnectionError",
        "HTTPClientError",
        "ConnectionError",
        "ResponseStreamingError",
        "IncompleteReadError",
        "RetriesExceededError",
    }
)


class S3Destination:
    def __init__(
        self,
        spec: StorageSpec,
        *,
        endpoint_url: str | None,
        path_style: bool,
        file_name_prefix: str | None = None,
        max_attempts: int = 3,
    ) -> None:
        assert spec.bucket and spec.region
        self._spec = spec
        self._bucket = spec.bucket
        self._prefix = file_name_prefix
        self._label = "DigitalOcean Spaces" if spec.type == "digitalocean" else "S3"
        self._client = make_s3_client(
            region=spec.region,
            access_key=spec.access_key,
            secret=spec.secret,
            endpoint_url=endpoint_url,
            path_style=path_style,
            max_attempts=max_attempts,
        )

    def describe(self) -> str:
        folder = "/".join(self._spec.path.folders)
        return f"{self._label} bucket {self._bucket!r} ({self._spec.region}) folder {folder or '/'!r}"

    def _name(self, name: str) -> str:
        return build_name("/".join(self._spec.path.folders), self._prefix, name).key

    def put(self, local_path: Path, name: str) -> str:
        key = self._name(name)
        check_local_file(local_path)
        try:
            self._client.upload_file(
                str(local_path),
                self._bucket,
                key,
                ExtraArgs={"ContentType": content_type(key)},
                Config=transfer_config(),
            )
        except Exception as exc:
            raise self._error("upload", exc) from None
        return key

    def delete(self, key: str) -> None:
        if not key_under(self._spec.path, key):
            raise InvalidRequest("key: not under storage_config.path")
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except Exception as exc:
            if error_code(exc)[1] == 404:  # gone already (or its bucket is)
                return
            raise self._error("delete", exc) from None

    def probe(self) -> None:
        key = self._name(probe_name())
        try:
            self._client.upload_fileobj(io.BytesIO(PROBE_BODY), self._bucket, key, Config=transfer_config())
        except Exception as exc:
            raise self._error("probe upload", exc) from None
        self.delete(key)

    def _error(self, operation: str, exc: BaseException) -> DestinationError:
        cause = underlying(exc)
        code, status = error_code(cause)
        transient = _transient(cause, code, status)
        detail = f"{code} (HTTP {status})" if status else code
        return fail(self.describe(), operation, detail, transient=transient, secrets=self._spec.secrets)


def _transient(exc: BaseException, code: str, status: int | None) -> bool:
    if status is not None:
        return status >= 500 or status in (408, 429) or code in _TRANSIENT_CODES
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "SSLError" in names or "NoCredentialsError" in names or "PartialCredentialsError" in names:
        return False
    return bool(names & _TRANSIENT_CLASSES) or isinstance(exc, (TimeoutError, ConnectionError))


def open_s3(spec: StorageSpec, endpoint_url: str | None, *, file_name_prefix: str | None = None) -> S3Destination:
    """AWS: ``endpoint_url`` None means AWS itself. Spaces: the region's endpoint unless overridden."""
    if spec.type == "digitalocean":
        default = f"https://{spec.region}.digitaloceanspaces.com"
        url = (endpoint_url or default).replace("{region}", spec.region or "")
        return S3Destination(
            spec, endpoint_url=url, path_style=endpoint_url is not None, file_name_prefix=file_name_prefix
        )
    aws = endpoint_url.replace("{region}", spec.region or "") if endpoint_url else None
    return S3Destination(spec, endpoint_url=aws, path_style=aws is not None, file_name_prefix=file_name_prefix)
