"""API tokens: random, high-entropy, shown once, stored only as a SHA-256 digest.

A token carries 240 bits of randomness, so a fast hash is enough (nothing to brute-force); a slow
password hash would only add latency to every request.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """40 URL-safe characters, like Cloudflare's API tokens."""
    return secrets.token_urlsafe(30)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
