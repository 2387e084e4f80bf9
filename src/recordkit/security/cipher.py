"""Encryption at rest for write-only storage secrets (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from settings (``RECORDKIT_SECRET_KEYS``, newest first, comma separated) or, by default,
from ``secret.key`` in the data dir, made on first use with mode 0600. Several keys give rotation:
the first encrypts, all decrypt; ``rotate`` re-encrypts a token under the first key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from pathlib import Path

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from recordkit.errors import Unavailable


class SecretCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._keys = [bytes(k) for k in keys]
        self._primary = self._keys[0]

    @classmethod
    def from_key_file(cls, path: Path, extra_keys: Sequence[str] = ()) -> SecretCipher:
        keys = [k.encode() for k in extra_keys if k]
        if not keys:
            keys = [load_or_create_key(path)]
        return cls(keys)

    def derive_key(self, label: str) -> bytes:
        """A key for another purpose (URL signing, say), derived from the primary key."""
        return hmac.new(self._primary, label.encode(), hashlib.sha256).digest()

    def derive_keys(self, label: str) -> list[bytes]:
        """``derive_key`` from every configured key, the first key's first: what was made under an
        older key (a signed download link) still verifies until that key is dropped."""
        return [hmac.new(key, label.encode(), hashlib.sha256).digest() for key in self._keys]

    def encrypt_json(self, value: object) -> bytes:
        return self._fernet.encrypt(msgspec.json.encode(value))

    def decrypt_json(self, blob: bytes) -> object:
        try:
            return msgspec.json.decode(self._fernet.decrypt(blob))
        except InvalidToken:
            raise Unavailable("stored secret cannot be decrypted with the configured keys") from None

    def rotate(self, blob: bytes) -> bytes:
        """The same secret encrypted under the first key (Unavailable if no configured key opens it)."""
        try:
            return self._fernet.rotate(blob)
        except InvalidToken:
            raise Unavailable("stored secret cannot be decrypted with the configured keys") from None


def load_or_create_key(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
