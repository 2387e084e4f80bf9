"""API tokens: random, high-entropy, shown once, stored only as a SHA-256 digest.

A token carries 240 bits of randomness, so a fast hash is enough (nothing to brute-force); a slow
password hash would only add latency to every request.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """40 URL-safe characters, like Cloudflare's API tokens, never starting with ``-`` or ``_``
    (a leading ``-`` would read as an option to ``recordkit token revoke`` and other tools)."""
    while True:
        token = secrets.token_urlsafe(30)
        if token[0].isalnum():
            return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
