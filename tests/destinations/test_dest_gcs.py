"""GCS destination against gcp-storage-emulator, with a real service-account token exchange.

The emulator does not check the bearer token; the token endpoint from storage_servers does check
the JWT google-auth signs with the key's private_key (signature, issuer, audience, expiry). So a
wrong key fails as it would at Google: the token request is refused with invalid_grant.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from recordkit.errors import InvalidRequest
from tests.support.destinations import check_failure, random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import GcsServer, other_rsa_key


def gcs_config(server: GcsServer, bucket: str, **extra: Any) -> dict[str, Any]:
    return {"type": "gcs", "bucket": bucket, "secret": server.secret, **extra}


@pytest.fixture
def bucket(gcs_server: GcsServer) -> str:
    return gcs_server.create_bucket(unique("dest"))


def test_put_uploads_the_bytes_under_path_and_prefix(gcs_server: GcsServer, bucket: str, tmp_path: Path) -> None:
    issued = gcs_server.tokens_issued()
    dest = open_destination(
        gcs_config(gcs_server, bucket, path="/recordings/2026", access_key=gcs_server.service_account["client_email"]),
        Endpoints(gcs=gcs_server.endpoint_url),
        file_name_prefix="acme",
    )
    source, data = random_file(tmp_path, 300 * 1024)
    key = dest.put(source, "meeting.mp4")
    assert key == "recordings/2026/acme_meeting.mp4"
    assert gcs_server.get_bytes(bucket, key) == data
    assert gcs_server.names(bucket) == [key]
    assert gcs_server.client().bucket(bucket).get_blob(key).content_type == "video/mp4"
    assert gcs_server.tokens_issued() > issued  # the key was traded for a token


def test_large_files_upload_resumably(gcs_server: GcsServer, bucket: str, tmp_path: Path) -> None:
    dest = open_destination(gcs_config(gcs_server, bucket), Endpoints(gcs=gcs_server.endpoint_url))
    source, data = random_file(tmp_path, 9 * 1024 * 1024 + 5)
    key = dest.put(source, "big.mp4")
    assert gcs_server.get_bytes(bucket, key) == data
    log = gcs_server.emulator.log_tail(20000)
    assert "uploadType=resumable" in log


def test_put_replaces_and_delete_removes(gcs_server: GcsServer, bucket: str, tmp_path: Path) -> None:
    dest = open_destination(gcs_config(gcs_server, bucket, path="p/"), Endpoints(gcs=gcs_server.endpoint_url))
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    key = dest.put(first, "x.mp4")
    assert dest.put(second, "x.mp4") == key == "p/x.mp4"
    assert gcs_server.get_bytes(bucket, key) == data
    dest.delete(key)
    assert gcs_server.names(bucket) == []
    dest.delete(key)
    with pytest.raises(InvalidRequest, match=r"not under storage_config\.path"):
        dest.delete("q/x.mp4")


def test_probe_writes_and_deletes(gcs_server: GcsServer, bucket: str) -> None:
    dest = open_destination(gcs_config(gcs_server, bucket, path="probe"), Endpoints(gcs=gcs_server.endpoint_url))
    dest.probe()
    assert gcs_server.names(bucket) == []


def test_wrong_private_key_is_permanent_and_secret_free(gcs_server: GcsServer, bucket: str) -> None:
    wrong_key = other_rsa_key()
    secret = gcs_server.key_with(private_key=wrong_key)
    dest = open_destination(
        {**gcs_config(gcs_server, bucket), "secret": secret}, Endpoints(gcs=gcs_server.endpoint_url)
    )
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(wrong_key, gcs_server.service_account["private_key"]))
    assert "RefreshError" in caught.value.message
    assert "private_key_id" not in caught.value.message


def test_unknown_service_account_is_permanent(gcs_server: GcsServer, bucket: str) -> None:
    secret = gcs_server.key_with(client_email="someone-else@x.iam.gserviceaccount.com")
    dest = open_destination(
        {**gcs_config(gcs_server, bucket), "secret": secret}, Endpoints(gcs=gcs_server.endpoint_url)
    )
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(gcs_server.service_account["private_key"],))


def test_missing_bucket_is_permanent(gcs_server: GcsServer, tmp_path: Path) -> None:
    dest = open_destination(gcs_config(gcs_server, unique("absent")), Endpoints(gcs=gcs_server.endpoint_url))
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=False, secrets=(gcs_server.service_account["private_key"],))
    assert "NotFound (HTTP 404)" in caught.value.message


def test_storage_down_is_transient(gcs_server: GcsServer, tmp_path: Path) -> None:
    dest = open_destination(gcs_config(gcs_server, "some-bucket"), Endpoints(gcs=f"http://127.0.0.1:{free_port()}"))
    source, _ = random_file(tmp_path, 10)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(gcs_server.service_account["private_key"],))
    assert time.monotonic() - started < 30


def test_token_endpoint_down_is_transient(gcs_server: GcsServer, tmp_path: Path) -> None:
    secret = gcs_server.key_with(token_uri=f"http://127.0.0.1:{free_port()}/token")
    dest = open_destination(
        {**gcs_config(gcs_server, "some-bucket"), "secret": secret}, Endpoints(gcs=gcs_server.endpoint_url)
    )
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(gcs_server.service_account["private_key"],))
