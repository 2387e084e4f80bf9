"""Signed download URLs on RecordKit itself: HMAC-SHA256 over the object key and the expiry.

A URL is ``{base}/client/v4/files/{key}?expires={epoch_ms}&signature={hex}``. A signature that
does not verify is refused with 403, a valid one past its expiry with 410 (SPEC §6); neither
reveals whether the object exists.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from recordkit.errors import Forbidden, Gone

FILES_PATH = "/client/v4/files/"


class UrlSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("signing key too short")
        self._key = key

    def signature(self, object_key: str, expires_ms: int) -> str:
        message = f"{object_key}\n{expires_ms}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, object_key: str, expires_ms: int) -> str:
        sig = self.signature(object_key, expires_ms)
        return f"{base_url.rstrip('/')}{FILES_PATH}{quote(object_key)}?expires={expires_ms}&signature={sig}"

    def verify(self, object_key: str, expires: str | None, signature: str | None, now_ms: int) -> None:
        """Raise Forbidden when tampered, Gone when expired."""
        if not expires or not signature or not expires.isdigit() or len(expires) > 16:
            raise Forbidden("invalid download link")
        expected = self.signature(object_key, int(expires))
        if not hmac.compare_digest(expected, signature):
            raise Forbidden("invalid download link")
        if int(expires) < now_ms:
            raise Gone("download link expired")
