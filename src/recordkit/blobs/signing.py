"""Signed download URLs on RecordKit itself: HMAC-SHA256 over the object key and the expiry.

A URL is ``{base}/client/v4/files/{key}?expires={epoch_ms}&signature={hex}``. A signature that
does not verify is refused with 403, a valid one past its expiry with 410 (SPEC §6); neither
reveals whether the object exists.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote

from recordkit.errors import Forbidden, Gone

FILES_PATH = "/client/v4/files/"


class UrlSigner:
    """Signs with ``key``; verifies with it or any of ``older`` (links made before a key rotation)."""

    def __init__(self, key: bytes, older: Sequence[bytes] = ()) -> None:
        if len(key) < 16 or any(len(k) < 16 for k in older):
            raise ValueError("signing key too short")
        self._key = key
        self._older = tuple(k for k in older if k != key)

    def signature(self, object_key: str, expires_ms: int, key: bytes | None = None) -> str:
        message = f"{object_key}\n{expires_ms}".encode()
        return hmac.new(key or self._key, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, object_key: str, expires_ms: int) -> str:
        sig = self.signature(object_key, expires_ms)
        return f"{base_url.rstrip('/')}{FILES_PATH}{quote(object_key)}?expires={expires_ms}&signature={sig}"

    def verify(self, object_key: str, expires: str | None, signature: str | None, now_ms: int) -> None:
        """Raise Forbidden when tampered, Gone when expired."""
        if not expires or not signature or not signature.isascii() or not expires.isdigit() or len(expires) > 16:
            raise Forbidden("invalid download link")
        if not any(
            hmac.compare_digest(self.signature(object_key, int(expires), key), signature)
            for key in (self._key, *self._older)
        ):
            raise Forbidden("invalid download link")
        if int(expires) < now_ms:
            raise Gone("download link expired")
