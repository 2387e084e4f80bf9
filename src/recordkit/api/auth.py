"""Authentication: ``Authorization: Bearer <token>`` against hashed tokens (SPEC §2)."""

from __future__ import annotations

from starlette.requests import Request

from recordkit.domain.models import Principal
from recordkit.domain.ports import RecordingStore
from recordkit.errors import Unauthenticated

MAX_TOKEN_LENGTH = 512


def authenticate(request: Request, store: RecordingStore) -> Principal:
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthenticated("missing credentials")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("malformed credentials")
    principal = store.authenticate(token)
    if principal is None:
        raise Unauthenticated("unknown credentials")
    return principal
