"""Azure Blob Storage destination (azure-storage-blob; the ``azure`` extra).

``bucket`` is the container, ``access_key`` the storage account name and ``secret`` the account
key (Shared Key authorization). The account URL is ``https://{account}.blob.core.windows.net``
unless ``RECORDKIT_AZURE_ENDPOINT_URL`` says otherwise (``{account}`` in it is replaced:
``http://127.0.0.1:10000/{account}`` for Azurite). Blobs up to 8 MiB go in one request, larger
ones in 4 MiB blocks. The SDK retries a failed request once, after about a second.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Final

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

DEFAULT_ENDPOINT: Final = "https://{account}.blob.core.windows.net"


class AzureDestination:
    def __init__(self, spec: StorageSpec, *, endpoint_url: str | None, file_name_prefix: str | None = None) -> None:
        from azure.storage.blob import BlobServiceClient, ExponentialRetry

        assert spec.bucket and spec.access_key and spec.secret
        self._spec = spec
        self._prefix = file_name_prefix
        self._container_name = spec.bucket
        self._account_url = (endpoint_url or DEFAULT_ENDPOINT).replace("{account}", spec.access_key).rstrip("/")
        service = BlobServiceClient(
            account_url=self._account_url,
            credential={"account_name": spec.access_key, "account_key": spec.secret},
            retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=1, random_jitter_range=1),
            connection_timeout=10,
            read_timeout=60,
            max_single_put_size=8 * 1024 * 1024,
            max_block_size=4 * 1024 * 1024,
        )
        self._container = service.get_container_client(spec.bucket)

    def describe(self) -> str:
        folder = "/".join(self._spec.path.folders)
        # Not the account name: storage_config.access_key is write-only.
        return f"Azure container {self._container_name!r} folder {folder or '/'!r}"

    def _name(self, name: str) -> str:
        return build_name("/".join(self._spec.path.folders), self._prefix, name).key

    def put(self, local_path: Path, name: str) -> str:
        from azure.storage.blob import ContentSettings

        key = self._name(name)
        size = check_local_file(local_path)
        try:
            with local_path.open("rb") as handle:
                self._container.upload_blob(
                    key,
                    handle,
                    length=size,
                    overwrite=True,
                    max_concurrency=2,
                    content_settings=ContentSettings(content_type=content_type(key)),
                )
        except Exception as exc:
            raise self._error("upload", exc) from None
        return key

    def delete(self, key: str) -> None:
        if not key_under(self._spec.path, key):
            raise InvalidRequest("key: not under storage_config.path")
        try:
            self._container.delete_blob(key)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:  # gone already (or its container is)
                return
            raise self._error("delete", exc) from None

    def probe(self) -> None:
        key = self._name(probe_name())
        try:
            self._container.upload_blob(key, io.BytesIO(PROBE_BODY), length=len(PROBE_BODY), overwrite=True)
        except Exception as exc:
            raise self._error("probe upload", exc) from None
        self.delete(key)

    def _error(self, operation: str, exc: BaseException) -> DestinationError:
        code, status, transient = _classify(exc)
        detail = f"{code} (HTTP {status})" if status else code
        return fail(self.describe(), operation, detail, transient=transient, secrets=self._spec.secrets)


def _classify(exc: BaseException) -> tuple[str, int | None, bool]:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, HttpResponseError):
        status: Any = exc.status_code
        raw = getattr(exc, "error_code", None)
        code = str(getattr(raw, "value", raw) or type(exc).__name__)  # StorageErrorCode is an Enum
        if isinstance(status, int):
            return code, status, status >= 500 or status in (408, 429) or code in ("ServerBusy", "OperationTimedOut")
        return code, None, True
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, TimeoutError, ConnectionError)):
        return type(exc).__name__, None, True
    # Anything else from the SDK (a signing error, a bad argument) will not get better by itself.
    return type(exc).__name__, None, False
