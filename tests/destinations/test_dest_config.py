"""storage_config validation (a 400 naming the field) and the factory's choices, without servers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recordkit.destinations import Endpoints, open_destination, validate_storage_config
from recordkit.domain.storage_config import parse_storage_config
from recordkit.errors import InvalidRequest
from recordkit.settings import Settings

SECRET = "s3cr3t-VALUE-never-shown"
ACCOUNT_KEY = "c2VjcmV0LWtleS1ieXRlcy1uZXZlci1zaG93bg=="  # base64
SA_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
SERVICE_ACCOUNT = {
    "type": "service_account",
    "client_email": "rk@proj.iam.gserviceaccount.com",
    "private_key": SA_KEY,
    "token_uri": "https://oauth2.googleapis.com/token",
}
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----\n"

VALID: dict[str, dict[str, Any]] = {
    "aws": {"type": "aws", "bucket": "my-bucket", "region": "us-east-1", "access_key": "AKIA1", "secret": SECRET},
    "digitalocean": {
        "type": "digitalocean",
        "bucket": "space",
        "region": "nyc3",
        "access_key": "DO1",
        "secret": SECRET,
    },
    "azure": {"type": "azure", "bucket": "videos", "access_key": "myaccount", "secret": ACCOUNT_KEY},
    "gcs": {"type": "gcs", "bucket": "my-bucket", "secret": json.dumps(SERVICE_ACCOUNT)},
    "sftp_password": {"type": "sftp", "host": "sftp.example.com", "username": "u", "password": SECRET},
    "sftp_key": {"type": "sftp", "host": "10.0.0.5", "username": "u", "auth_method": "KEY", "private_key": SSH_KEY},
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_configs(name: str) -> None:
    validate_storage_config(VALID[name])


@pytest.mark.parametrize(
    ("base", "missing"),
    [
        ("aws", "bucket"),
        ("aws", "region"),
        ("aws", "access_key"),
        ("aws", "secret"),
        ("digitalocean", "bucket"),
        ("digitalocean", "region"),
        ("digitalocean", "access_key"),
        ("digitalocean", "secret"),
        ("azure", "bucket"),
        ("azure", "access_key"),
        ("azure", "secret"),
        ("gcs", "bucket"),
        ("gcs", "secret"),
        ("sftp_password", "host"),
        ("sftp_password", "username"),
        ("sftp_key", "private_key"),
    ],
)
def test_missing_fields_are_named(base: str, missing: str) -> None:
    cfg = {k: v for k, v in VALID[base].items() if k != missing}
    kind = cfg["type"]
    with pytest.raises(InvalidRequest, match=rf"^storage_config\.{missing} is required for type {kind}$"):
        validate_storage_config(cfg)
    cfg[missing] = ""  # an empty string is no better
    with pytest.raises(InvalidRequest, match=rf"^storage_config\.{missing} is required"):
        validate_storage_config(cfg)


def test_password_auth_needs_the_password() -> None:
    cfg = {**VALID["sftp_password"], "auth_method": "PASSWORD"}
    del cfg["password"]
    with pytest.raises(InvalidRequest, match=r"^storage_config\.password is required for type sftp$"):
        validate_storage_config(cfg)
    del cfg["auth_method"]
    with pytest.raises(InvalidRequest, match=r"^storage_config\.auth_method is required for type sftp"):
        validate_storage_config(cfg)


def test_auth_method_is_inferred() -> None:
    assert parse_storage_config(VALID["sftp_password"]).auth_method == "PASSWORD"
    cfg = {k: v for k, v in VALID["sftp_key"].items() if k != "auth_method"}
    assert parse_storage_config(cfg).auth_method == "KEY"


@pytest.mark.parametrize(
    ("base", "field", "value", "message"),
    [
        ("aws", "type", None, r"storage_config\.type is required"),
        ("aws", "type", "dropbox", r"storage_config\.type: must be one of aws, azure, digitalocean, gcs, sftp"),
        ("aws", "bucket", 12, r"storage_config\.bucket: must be a string"),
        ("aws", "secret", ["x"], r"storage_config\.secret: must be a string"),
        ("aws", "bucket", "a/b", r"storage_config\.bucket: must be"),
        ("aws", "region", "us-east-1.evil.com/", r"storage_config\.region: must be"),
        ("aws", "access_key", "AK IA", r"storage_config\.access_key: must not contain spaces"),
        ("aws", "path", "../up", r"storage_config\.path: must not contain '\.' or '\.\.' segments"),
        ("digitalocean", "region", "NYC 3", r"storage_config\.region: must be"),
        ("azure", "bucket", "Videos", r"storage_config\.bucket: must be an Azure container name"),
        ("azure", "access_key", "my-account", r"storage_config\.access_key: must be the storage account name"),
        ("azure", "secret", "not base64!", r"storage_config\.secret: must be the storage account key \(base64\)"),
        ("gcs", "bucket", "UPPER", r"storage_config\.bucket: must be a GCS bucket name"),
        ("gcs", "secret", "{not json", r"storage_config\.secret: must be the service-account key file's JSON text"),
        ("gcs", "secret", json.dumps({"type": "authorized_user"}), r"storage_config\.secret: must be a service-acc"),
        (
            "gcs",
            "access_key",
            "other@x.iam.gserviceaccount.com",
            r"storage_config\.access_key: must be the client_email",
        ),
        ("sftp_password", "port", 0, r"storage_config\.port: must be a whole number between 1 and 65535"),
        ("sftp_password", "port", 65536, r"storage_config\.port: must be a whole number"),
        ("sftp_password", "port", "22", r"storage_config\.port: must be a whole number"),
        ("sftp_password", "port", 22.5, r"storage_config\.port: must be a whole number"),
        ("sftp_password", "port", True, r"storage_config\.port: must be a whole number"),
        ("sftp_password", "host", "-oProxyCommand=x", r"storage_config\.host: must be a host name"),
        ("sftp_password", "host", "a b", r"storage_config\.host: must be a host name"),
        ("sftp_password", "auth_method", "TOKEN", r"storage_config\.auth_method: must be one of KEY, PASSWORD"),
        ("sftp_key", "private_key", "ssh-rsa AAAA", r"storage_config\.private_key: must be a private key"),
    ],
)
def test_bad_fields_are_named(base: str, field: str, value: Any, message: str) -> None:
    cfg = {**VALID[base], field: value}
    with pytest.raises(InvalidRequest, match=f"^{message}"):
        validate_storage_config(cfg)


@pytest.mark.parametrize(
    ("missing", "message"),
    [("client_email", "has no client_email"), ("private_key", "has no private_key"), ("token_uri", "has no token_uri")],
)
def test_service_account_fields(missing: str, message: str) -> None:
    info = {k: v for k, v in SERVICE_ACCOUNT.items() if k != missing}
    with pytest.raises(InvalidRequest, match=rf"^storage_config\.secret: the service-account key {message}"):
        validate_storage_config({**VALID["gcs"], "secret": json.dumps(info)})


def test_token_uri_must_be_https_off_loopback() -> None:
    info = {**SERVICE_ACCOUNT, "token_uri": "http://metadata.internal/token"}
    with pytest.raises(InvalidRequest, match="token_uri must be an https URL"):
        validate_storage_config({**VALID["gcs"], "secret": json.dumps(info)})
    validate_storage_config({**VALID["gcs"], "secret": json.dumps({**info, "token_uri": "http://127.0.0.1:9/t"})})


def test_port_defaults_to_22_and_accepts_whole_floats() -> None:
    assert parse_storage_config(VALID["sftp_password"]).port == 22
    assert parse_storage_config({**VALID["sftp_password"], "port": 2222.0}).port == 2222


def test_messages_and_repr_never_show_secrets() -> None:
    for base, cfg in VALID.items():
        spec = parse_storage_config(cfg)
        assert SECRET not in repr(spec) and ACCOUNT_KEY not in repr(spec) and "PRIVATE KEY" not in repr(spec), base
    bad = {**VALID["aws"], "access_key": f"{SECRET} x"}
    with pytest.raises(InvalidRequest) as caught:
        validate_storage_config(bad)
    assert SECRET not in str(caught.value)


def test_unparseable_ssh_key_is_a_400_at_open() -> None:
    with pytest.raises(InvalidRequest, match=r"^storage_config\.private_key: not a readable private key"):
        open_destination(VALID["sftp_key"])


def test_unloadable_service_account_key_is_a_400_at_open() -> None:
    with pytest.raises(InvalidRequest, match=r"^storage_config\.secret: the service-account key could not be loaded"):
        open_destination(VALID["gcs"])


def test_prefix_is_checked_at_open() -> None:
    with pytest.raises(InvalidRequest, match=r"^file_name_prefix: "):
        open_destination(VALID["aws"], file_name_prefix="../x")


def test_describe_names_the_place_not_the_secret() -> None:
    for name in ("aws", "digitalocean", "azure", "sftp_password"):
        text = open_destination(VALID[name]).describe()
        assert SECRET not in text and ACCOUNT_KEY not in text, text
    assert "my-bucket" in open_destination(VALID["aws"]).describe()
    assert "u@sftp.example.com:22" in open_destination(VALID["sftp_password"]).describe()


def test_endpoints_from_env() -> None:
    env = {
        "RECORDKIT_AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "RECORDKIT_DIGITALOCEAN_ENDPOINT_URL": "https://{region}.example.com",
        "RECORDKIT_AZURE_ENDPOINT_URL": "http://127.0.0.1:10000/{account}",
        "RECORDKIT_GCS_ENDPOINT_URL": "",
        "RECORDKIT_SFTP_KNOWN_HOSTS": "/etc/recordkit/known_hosts",
        "RECORDKIT_ALLOW_PRIVATE_NETWORK": "0",
    }
    assert Settings.from_env(env).endpoints() == Endpoints(
        aws="http://127.0.0.1:9000",
        digitalocean="https://{region}.example.com",
        azure="http://127.0.0.1:10000/{account}",
        gcs=None,
        sftp_known_hosts="/etc/recordkit/known_hosts",
        sftp_allow_private=False,
    )
    assert Settings.from_env({}).endpoints() == Endpoints(sftp_allow_private=False)  # the address policy is on
    allowed = Settings.from_env({"RECORDKIT_ALLOW_PRIVATE_NETWORK": "true"}).endpoints()
    assert allowed.sftp_allow_private is True
    with pytest.raises(ValueError, match="the gcs endpoint: must be an http"):
        Endpoints(gcs="ftp://x")


def test_digitalocean_endpoint_defaults_to_the_region() -> None:
    dest: Any = open_destination(VALID["digitalocean"])
    assert dest._client.meta.endpoint_url == "https://nyc3.digitaloceanspaces.com"
    dest = open_destination(VALID["digitalocean"], Endpoints(digitalocean="http://127.0.0.1:1/{region}"))
    assert dest._client.meta.endpoint_url == "http://127.0.0.1:1/nyc3"


def test_azure_endpoint_defaults_to_the_account() -> None:
    dest: Any = open_destination(VALID["azure"])
    assert dest._account_url == "https://myaccount.blob.core.windows.net"
