"""Checking a ``storage_config`` for its type: InvalidRequest naming the field, never showing a secret.

What each field means per type (docs/storage.md has the full table):

=============  ==========================  ==========================  ==============================
type           bucket                      access_key / secret          other
=============  ==========================  ==========================  ==============================
aws            S3 bucket (required)        access key id / secret key   region (required)
digitalocean   Space name (required)       Spaces key / Spaces secret   region, e.g. ``nyc3`` (required)
azure          container (required)        storage account name /       (the endpoint comes from
                                           account key (base64)         RECORDKIT_AZURE_ENDPOINT_URL)
gcs            bucket (required)           client email (optional) /    the service-account key is the
                                           service-account key JSON     whole JSON file's text
sftp           (not used)                  (not used)                   host, username, port (22),
                                                                        auth_method KEY + private_key
                                                                        or PASSWORD + password
=============  ==========================  ==========================  ==============================

``path`` (every type) is the folder files go into (``naming.parse_path``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from recordkit.domain.naming import RemotePath, parse_path
from recordkit.errors import InvalidRequest

STORAGE_TYPES: Final = ("aws", "azure", "digitalocean", "gcs", "sftp")
AUTH_METHODS: Final = ("KEY", "PASSWORD")
STRING_FIELDS: Final = (
    "type",
    "access_key",
    "auth_method",
    "bucket",
    "host",
    "password",
    "path",
    "private_key",
    "region",
    "secret",
    "username",
)
DEFAULT_SFTP_PORT: Final = 22

_S3_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")  # lenient: legacy us-east-1 names
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_AZURE_CONTAINER = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]|\$root")
_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_GCS_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_HOST = re.compile(r"[A-Za-z0-9_.:-]{1,253}")  # a name, IPv4 or bare IPv6
_LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class StorageSpec:
    """A checked storage_config. Secret fields are left out of ``repr``."""

    type: str
    path: RemotePath
    bucket: str | None = None
    region: str | None = None
    host: str | None = None
    port: int = DEFAULT_SFTP_PORT
    username: str | None = None
    auth_method: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    service_account: dict[str, Any] | None = field(default=None, repr=False)  # gcs: the parsed secret

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Every credential value, for redacting messages."""
        extra = (str(self.service_account.get("private_key_id")),) if self.service_account else ()
        return (self.access_key, self.secret, self.password, self.private_key, *extra)


def validate_storage_config(cfg: Mapping[str, Any]) -> None:
    """Raise InvalidRequest naming the first missing or bad field of ``cfg`` (a full storage_config)."""
    parse_storage_config(cfg)


def _f(name: str) -> str:
    return f"storage_config.{name}"


def parse_storage_config(cfg: Mapping[str, Any]) -> StorageSpec:
    if not isinstance(cfg, Mapping):
        raise InvalidRequest("storage_config: must be an object")
    values: dict[str, str | None] = {}
    for name in STRING_FIELDS:
        value = cfg.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{_f(name)}: must be a string")
        values[name] = value or None  # "" counts as absent
    kind = values["type"]
    if kind is None:
        raise InvalidRequest(f"{_f('type')} is required")
    if kind not in STORAGE_TYPES:
        raise InvalidRequest(f"{_f('type')}: must be one of {', '.join(STORAGE_TYPES)}; got {kind[:40]!r}")
    path = parse_path(values["path"], _f("path"))

    def need(name: str) -> str:
        value = values[name]
        if value is None:
            raise InvalidRequest(f"{_f(name)} is required for type {kind}")
        return value

    if kind in ("aws", "digitalocean"):
        bucket, region = need("bucket"), need("region")
        _match(_S3_BUCKET, bucket, "bucket", "3-255 letters, digits, '.', '_' or '-'")
        _match(_REGION, region, "region", "a region name such as us-east-1 or nyc3")
        access_key, secret = need("access_key"), need("secret")
        _plain(access_key, "access_key", 256)
        _plain(secret, "secret", 512)
        return StorageSpec(kind, path, bucket=bucket, region=region, access_key=access_key, secret=secret)
    if kind == "azure":
        container = need("bucket")
        _match(_AZURE_CONTAINER, container, "bucket", "an Azure container name: 3-63 lowercase letters, digits, '-'")
        account = need("access_key")
        _match(_AZURE_ACCOUNT, account, "access_key", "the storage account name: 3-24 lowercase letters and digits")
        key = need("secret")
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"{_f('secret')}: must be the storage account key (base64)") from None
        return StorageSpec(kind, path, bucket=container, access_key=account, secret=key)
    if kind == "gcs":
        bucket = need("bucket")
        _match(_GCS_BUCKET, bucket, "bucket", "a GCS bucket name: 3-222 lowercase letters, digits, '.', '_', '-'")
        info = _service_account(need("secret"))
        email = values["access_key"]
        if email is not None and email != info["client_email"]:
            raise InvalidRequest(
                f"{_f('access_key')}: must be the client_email of the service-account key in {_f('secret')}"
            )
        return StorageSpec(kind, path, bucket=bucket, access_key=email, secret=values["secret"], service_account=info)
    # sftp
    host = need("host")
    _match(_HOST, host, "host", "a host name or IP address")
    if host.startswith("-"):
        raise InvalidRequest(f"{_f('host')}: must be a host name or IP address")
    username = need("username")
    _plain(username, "username", 128)
    port = _port(cfg.get("port"))
    method = values["auth_method"]
    if method is not None and method not in AUTH_METHODS:
        raise InvalidRequest(f"{_f('auth_method')}: must be one of {', '.join(AUTH_METHODS)}; got {method[:40]!r}")
    if method is None:  # inferred from the credential given
        if values["private_key"] is not None:
            method = "KEY"
        elif values["password"] is not None:
            method = "PASSWORD"
        else:
            raise InvalidRequest(f"{_f('auth_method')} is required for type sftp (KEY or PASSWORD)")
    if method == "KEY":
        private_key = need("private_key")
        if "PRIVATE KEY-----" not in private_key:
            raise InvalidRequest(f"{_f('private_key')}: must be a private key in PEM or OpenSSH format")
        return StorageSpec(
            kind, path, host=host, port=port, username=username, auth_method=method, private_key=private_key
        )
    password = need("password")
    return StorageSpec(kind, path, host=host, port=port, username=username, auth_method=method, password=password)


def _match(pattern: re.Pattern[str], value: str, name: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise InvalidRequest(f"{_f(name)}: must be {what}")


def _plain(value: str, name: str, limit: int) -> None:
    """A credential or user name: no spaces or control characters. The message never shows it."""
    if len(value) > limit:
        raise InvalidRequest(f"{_f(name)}: must be at most {limit} characters")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidRequest(f"{_f(name)}: must not contain spaces or control characters")


def _port(value: object) -> int:
    if value is None:
        return DEFAULT_SFTP_PORT
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidRequest(f"{_f('port')}: must be a whole number between 1 and 65535")
    return value


def _service_account(text: str) -> dict[str, Any]:
    """The service-account key (the JSON file's text). Messages name keys, never values."""
    field_name = _f("secret")
    try:
        info = json.loads(text)
    except ValueError:
        raise InvalidRequest(f"{field_name}: must be the service-account key file's JSON text") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise InvalidRequest(f'{field_name}: must be a service-account key (JSON with "type": "service_account")')
    for key in ("client_email", "private_key", "token_uri"):
        if not isinstance(info.get(key), str) or not info[key]:
            raise InvalidRequest(f"{field_name}: the service-account key has no {key}")
    if "PRIVATE KEY-----" not in info["private_key"]:
        raise InvalidRequest(f"{field_name}: the service-account key's private_key is not a PEM key")
    token_uri = urlsplit(info["token_uri"])
    if not (token_uri.scheme == "https" or (token_uri.scheme == "http" and token_uri.hostname in _LOOPBACK_HOSTS)):
        raise InvalidRequest(f"{field_name}: the service-account key's token_uri must be an https URL")
    return info
