"""Google Cloud Storage destination (google-cloud-storage; the ``gcs`` extra).

``secret`` is the whole service-account key file (JSON text); RecordKit signs a JWT with its
``private_key`` and trades it at the key's ``token_uri`` for an access token (scope
``devstorage.read_write``), as Google's client libraries do. ``RECORDKIT_GCS_ENDPOINT_URL``
replaces ``https://storage.googleapis.com`` (an emulator, say); the token still comes from the
key's ``token_uri``. Uploads up to 8 MiB are one multipart request, larger ones resumable.
Requests that fail on the network, with 408, 429 or a 5xx are retried for about 3 s (google-auth
retries a token request on its own as well); longer waits are the caller's, on ``transient``.
"""

from __future__ import annotations

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

SCOPES: Final = ("https://www.googleapis.com/auth/devstorage.read_write",)
TIMEOUT: Final = (10, 120)  # connect, read (seconds)
RETRY_SECONDS: Final = 3.0


class GcsDestination:
    def __init__(self, spec: StorageSpec, *, endpoint_url: str | None, file_name_prefix: str | None = None) -> None:
        from google.cloud.storage import Client
        from google.cloud.storage.retry import DEFAULT_RETRY
        from google.oauth2 import service_account

        assert spec.bucket and spec.service_account is not None
        self._spec = spec
        self._prefix = file_name_prefix
        self._bucket_name = spec.bucket
        info = spec.service_account
        try:
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES)
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidRequest("storage_config.secret: the service-account key could not be loaded") from None
        project = info.get("project_id") if isinstance(info.get("project_id"), str) else None
        client = Client(
            project=project or "recordkit",
            credentials=credentials,
            client_options={"api_endpoint": endpoint_url.rstrip("/")} if endpoint_url else None,
        )
        self._bucket = client.bucket(spec.bucket)
        self._retry = DEFAULT_RETRY.with_delay(initial=0.5, maximum=2.0).with_timeout(RETRY_SECONDS)

    def describe(self) -> str:
        folder = "/".join(self._spec.path.folders)
        return f"GCS bucket {self._bucket_name!r} folder {folder or '/'!r}"

    def _name(self, name: str) -> str:
        return build_name("/".join(self._spec.path.folders), self._prefix, name).key

    def put(self, local_path: Path, name: str) -> str:
        key = self._name(name)
        check_local_file(local_path)
        try:
            self._bucket.blob(key).upload_from_filename(
                str(local_path), content_type=content_type(key), timeout=TIMEOUT, retry=self._retry
            )
        except Exception as exc:
            raise self._error("upload", exc) from None
        return key

    def delete(self, key: str) -> None:
        if not key_under(self._spec.path, key):
            raise InvalidRequest("key: not under storage_config.path")
        try:
            self._bucket.blob(key).delete(timeout=TIMEOUT, retry=self._retry)
        except Exception as exc:
            if getattr(exc, "code", None) == 404:  # gone already (or its bucket is)
                return
            raise self._error("delete", exc) from None

    def probe(self) -> None:
        key = self._name(probe_name())
        try:
            self._bucket.blob(key).upload_from_string(PROBE_BODY, timeout=TIMEOUT, retry=self._retry)
        except Exception as exc:
            raise self._error("probe upload", exc) from None
        self.delete(key)

    def _error(self, operation: str, exc: BaseException) -> DestinationError:
        code, status, transient = _classify(exc)
        detail = f"{code} (HTTP {status})" if status else code
        return fail(self.describe(), operation, detail, transient=transient, secrets=self._spec.secrets)


def _classify(exc: BaseException) -> tuple[str, int | None, bool]:
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(exc, api.RetryError) and exc.cause is not None:  # retries ran out: judge the last failure
        name, status, _ = _classify(exc.cause)
        return name, status, True
    if isinstance(exc, api.GoogleAPICallError):
        http: Any = exc.code
        if isinstance(http, int):
            return type(exc).__name__, http, http >= 500 or http in (408, 429)
        return type(exc).__name__, None, True
    if isinstance(exc, auth.RefreshError):  # the token endpoint refused the key (invalid_grant) or failed
        return "RefreshError (the service-account key was refused)", None, bool(getattr(exc, "retryable", False))
    if isinstance(exc, auth.TransportError):
        return "TransportError (token endpoint unreachable)", None, True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, (TimeoutError, ConnectionError)) or names & {"ConnectionError", "Timeout", "DataCorruption"}:
        return type(exc).__name__, None, True
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):  # an InvalidResponse from the upload machinery
        return type(exc).__name__, status, status >= 500 or status in (408, 429)
    return type(exc).__name__, None, False
