"""The key pair that signs webhooks (SPEC §7), as RealtimeKit signs them.

RSA-2048, made on first need (``recordkit init``, the first ``recordkit serve``) and kept in the
data dir as ``webhooks.key`` (PKCS#8 PEM, mode 0600). A delivery's ``rtk-signature`` header is
base64 of RSA-SHA256 (PKCS#1 v1.5) over the raw body; receivers verify it with the public key
served at ``GET /.well-known/webhooks.json``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_FILE = "webhooks.key"
KEY_BITS = 2048


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


class WebhookSigner:
    """Signs bodies with the data dir's webhook key (loaded, or made, on first use; thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def load(self) -> rsa.RSAPrivateKey:
        key = self._key
        if key is None:
            with self._lock:
                if self._key is None:
                    self._key = load_or_create_key(self.path)
                key = self._key
        return key

    def sign(self, body: bytes) -> str:
        """``rtk-signature``: base64 of RSA-SHA256 (PKCS#1 v1.5) over exactly these bytes."""
        signature = self.load().sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def public_pem(self) -> str:
        """The public key as a PEM ``-----BEGIN PUBLIC KEY-----`` block (SubjectPublicKeyInfo)."""
        pem = (
            self.load()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        return pem.decode("ascii")


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """Read the key; if there is none, make one. Made in a temporary file and linked into place,
    so processes starting together agree on one key and nobody reads a half-written file."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: use theirs
            return _read(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return key


def _read(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return key
