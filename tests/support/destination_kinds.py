"""Each destination kind on its local server, as the contract suite (tests/destinations/test_contract.py)
sees it: how to open one at a fresh place, how to read back what it stored, and how to make it fail.

A ``Far`` is one fresh place: a new bucket or container (aws, digitalocean, azure, gcs), or a new
top folder on the SFTP server (``base``). What differs between the kinds is data here, so that the
contract states each behaviour once.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from recordkit.destinations import Destination, Endpoints, open_destination
from tests.support.destinations import unique
from tests.support.servers import free_port
from tests.support.storage_servers import AzuriteServer, GcsServer, S3Server, SftpServer, new_ssh_key, other_rsa_key

KINDS = ("aws", "digitalocean", "azure", "gcs", "sftp")


@dataclass
class BadCredentials:
    """A config change that the far side refuses, and what the error must say (a regex, or None)."""

    label: str
    changes: dict[str, Any]
    says: str | None = None
    secrets: tuple[str, ...] = ()  # besides the Far's own: the wrong values themselves, words never shown


@dataclass
class Far:
    kind: str
    config: dict[str, Any]  # a working storage_config, without path
    endpoints: Endpoints
    base: str  # the fresh place's folder, as the start of a relative path ("" for a fresh bucket)
    where: str  # what describe() names: the bucket, the container, user@host:port
    label: str  # how describe() names the kind
    read: Callable[[str], bytes]  # the stored bytes of a key put returned
    listing: Callable[[], list[str]]  # every object at this place, "/"-less keys, sorted
    secrets: tuple[str, ...] = field(repr=False)  # never in an error message or describe()
    bad_credentials: list[BadCredentials]
    down: Callable[[], Destination]  # the same destination with its server unreachable
    down_says: str | None
    down_seconds: float  # at most this long to give up on an unreachable server
    missing_bucket: Callable[[], Destination] | None = None  # None: the kind has no bucket (SFTP)
    missing_says: str | None = None
    content_type: Callable[[str], str] | None = None  # None: the kind stores no media type
    went_in_parts: Callable[[str], bool] | None = None  # a large file went up in parts/blocks/resumably
    keeps_root: bool = False  # a path with a leading "/" is absolute (SFTP), else the bucket's root

    def open(self, path: str | None = None, prefix: str | None = None, **changes: Any) -> Destination:
        config = {k: v for k, v in {**self.config, **changes}.items() if v is not None}  # None: left out
        if path is not None:
            config["path"] = path
        return open_destination(config, self.endpoints, file_name_prefix=prefix)


def far(kind: str, request: pytest.FixtureRequest) -> Far:
    """A fresh place of ``kind``, its server started by the session fixture of tests/conftest.py."""
    if kind in ("aws", "digitalocean"):
        return _s3(kind, request.getfixturevalue("s3_server"))
    if kind == "azure":
        return _azure(request.getfixturevalue("azurite_server"))
    if kind == "gcs":
        return _gcs(request.getfixturevalue("gcs_server"))
    if kind == "sftp":
        return _sftp(request.getfixturevalue("sftp_server"))
    raise AssertionError(f"unknown kind {kind}")


def _s3(kind: str, server: S3Server) -> Far:
    bucket = server.create_bucket(unique("dest"))
    config = {"type": kind, "bucket": bucket, "access_key": server.access_key, "secret": server.secret}
    region = server.region if kind == "aws" else "nyc3"
    config["region"] = region

    def endpoints(url: str) -> Endpoints:
        return Endpoints(aws=url) if kind == "aws" else Endpoints(digitalocean=url)

    def reopen(url: str, **changes: Any) -> Callable[[], Destination]:
        return lambda: open_destination({**config, **changes}, endpoints(url))

    down = f"http://127.0.0.1:{free_port()}"
    return Far(
        kind=kind,
        config=config,
        endpoints=endpoints(server.endpoint_url),
        base="",
        where=bucket,
        label="S3" if kind == "aws" else "DigitalOcean Spaces",
        read=lambda key: server.get_bytes(bucket, key),
        listing=lambda: server.keys(bucket),
        secrets=(server.secret, server.access_key),
        bad_credentials=[
            BadCredentials(
                "wrong secret",
                {"secret": "wrong-secret-value-0123456789"},
                r"SignatureDoesNotMatch \(HTTP 403\)",
                ("wrong-secret-value-0123456789",),
            ),
            BadCredentials(
                "unknown access key",
                {"access_key": "AKIAWRONGWRONGWRONG1"},
                r"InvalidAccessKeyId \(HTTP 403\)",
                ("AKIAWRONGWRONGWRONG1",),
            ),
        ],
        down=reopen(down),
        down_says="EndpointConnectionError",
        down_seconds=20,
        missing_bucket=reopen(server.endpoint_url, bucket=unique("absent")),
        missing_says=r"NoSuchBucket \(HTTP 404\)",
        content_type=lambda key: str(server.client().head_object(Bucket=bucket, Key=key)["ContentType"]),
        went_in_parts=lambda key: (
            str(server.client().head_object(Bucket=bucket, Key=key)["ETag"]).strip('"').endswith("-2")
        ),  # two parts: a multipart upload
    )


def _azure(server: AzuriteServer) -> Far:
    container = server.create_container(unique("dest"))
    config = {"type": "azure", "bucket": container, "access_key": server.account, "secret": server.account_key}
    wrong_key = base64.b64encode(os.urandom(64)).decode()

    def blob(key: str) -> Any:
        return server.service().get_blob_client(container, key)

    return Far(
        kind="azure",
        config=config,
        endpoints=Endpoints(azure=server.endpoint_template),
        base="",
        where=container,
        label="Azure container",
        read=lambda key: server.get_bytes(container, key),
        listing=lambda: server.names(container),
        secrets=(server.account_key,),
        bad_credentials=[
            # Azure says AuthenticationFailed, Azurite AuthorizationFailure
            BadCredentials(
                "wrong account key",
                {"secret": wrong_key},
                r"Failure \(HTTP 403\)|AuthenticationFailed \(HTTP 403\)",
                (wrong_key,),
            ),
            BadCredentials("unknown account", {"access_key": "nosuchaccount"}),
        ],
        down=lambda: open_destination(config, Endpoints(azure=f"http://127.0.0.1:{free_port()}/{{account}}")),
        down_says="ServiceRequestError",
        down_seconds=20,
        missing_bucket=lambda: open_destination(
            {**config, "bucket": unique("absent")}, Endpoints(azure=server.endpoint_template)
        ),
        missing_says=r"ContainerNotFound \(HTTP 404\)",
        content_type=lambda key: str(blob(key).get_blob_properties().content_settings.content_type),
        went_in_parts=lambda key: len(blob(key).get_block_list("committed")[0]) == 3,  # 4 MiB blocks
    )


def _gcs(server: GcsServer) -> Far:
    bucket = server.create_bucket(unique("dest"))
    config = {"type": "gcs", "bucket": bucket, "secret": server.secret}
    wrong_key = other_rsa_key()
    return Far(
        kind="gcs",
        config=config,
        endpoints=Endpoints(gcs=server.endpoint_url),
        base="",
        where=bucket,
        label="GCS bucket",
        read=lambda key: server.get_bytes(bucket, key),
        listing=lambda: server.names(bucket),
        secrets=(server.service_account["private_key"],),
        bad_credentials=[
            # the token endpoint checks the JWT's signature: Google's invalid_grant
            BadCredentials(
                "wrong private key",
                {"secret": server.key_with(private_key=wrong_key)},
                "RefreshError",
                (wrong_key, "private_key_id"),
            ),
            BadCredentials(
                "unknown service account",
                {"secret": server.key_with(client_email="someone-else@x.iam.gserviceaccount.com")},
            ),
        ],
        down=lambda: open_destination(config, Endpoints(gcs=f"http://127.0.0.1:{free_port()}")),
        down_says=None,
        down_seconds=30,
        missing_bucket=lambda: open_destination(
            {**config, "bucket": unique("absent")}, Endpoints(gcs=server.endpoint_url)
        ),
        missing_says=r"NotFound \(HTTP 404\)",
        content_type=lambda key: str(server.client().bucket(bucket).get_blob(key).content_type),
        went_in_parts=lambda key: "uploadType=resumable" in server.emulator.log_tail(20000),
    )


def _sftp(server: SftpServer) -> Far:
    folder = unique("dest")
    config = {
        "type": "sftp",
        "host": server.host,
        "port": server.port,
        "username": server.password_user,
        "auth_method": "PASSWORD",
        "password": server.password,
    }
    stranger = new_ssh_key("ed25519").private_openssh
    key_user = {"username": server.key_user, "auth_method": "KEY", "password": None, "private_key": stranger}
    return Far(
        kind="sftp",
        config=config,
        endpoints=Endpoints(),
        base=f"{folder}/",
        where=f"{server.password_user}@127.0.0.1:{server.port}",
        label="SFTP",
        read=server.read,
        listing=lambda: [f.removeprefix("/") for f in server.files() if f.startswith(f"/{folder}/")],
        secrets=(server.password,),
        bad_credentials=[
            BadCredentials(
                "wrong password",
                {"password": "not-the-password-0123"},
                "authentication failed",
                ("not-the-password-0123",),
            ),
            BadCredentials("unknown key", key_user, None, (stranger,)),
        ],
        down=lambda: open_destination({**config, "port": free_port()}),
        down_says="ConnectionRefusedError",
        down_seconds=20,
        keeps_root=True,
    )
