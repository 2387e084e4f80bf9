"""Identifier rules (SPEC §2): account ids are 32 lowercase hex; app, meeting, recording ids UUIDs."""

from __future__ import annotations

import re
import secrets
import uuid

from recordkit.errors import InvalidRequest

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def new_account_id() -> str:
    return secrets.token_hex(16)


def new_uuid() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def check_account_id(value: str) -> str:
    """An account id in a path: longer than 32 characters is a 400 (the seed's maxLength)."""
    if len(value) > 32:
        raise InvalidRequest("account_id: must be at most 32 characters")
    if not value:
        raise InvalidRequest("account_id: must not be empty")
    return value


def check_app_id(value: str) -> str:
    """An app id in a path: a UUID, or anything up to 32 characters (the seed's maxLength)."""
    if is_uuid(value):
        return value.lower()
    if len(value) > 32:
        raise InvalidRequest("app_id: must be a UUID or at most 32 characters")
    if not value:
        raise InvalidRequest("app_id: must not be empty")
    return value


def check_uuid(value: str, field: str) -> str:
    if not is_uuid(value):
        raise InvalidRequest(f"{field}: must be a UUID")
    return value.lower()


_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,100}")


def check_prefix(prefix: str, field: str = "file_name_prefix") -> str:
    """A file name prefix: letters, digits, ``_`` and ``-`` (SPEC §4), at most 100 characters."""
    if not _PREFIX.fullmatch(prefix):
        raise InvalidRequest(f"{field}: only letters, digits, '_' and '-' (1-100 characters)")
    return prefix
