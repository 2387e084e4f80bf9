"""GCS destination against gcp-storage-emulator, with a real service-account token exchange: what
only GCS does (the token endpoint). The behaviours every kind shares are in test_contract.py.

The emulator does not check the bearer token; the token endpoint from storage_servers does check
the JWT google-auth signs with the key's private_key (signature, issuer, audience, expiry). So a
wrong key fails as it would at Google: the token request is refused with invalid_grant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from tests.support.destinations import check_failure, random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import GcsServer


def gcs_config(server: GcsServer, bucket: str, **extra: Any) -> dict[str, Any]:
    return {"type": "gcs", "bucket": bucket, "secret": server.secret, **extra}


@pytest.fixture
def bucket(gcs_server: GcsServer) -> str:
    return gcs_server.create_bucket(unique("dest"))


def test_the_key_is_traded_for_a_token(gcs_server: GcsServer, bucket: str, tmp_path: Path) -> None:
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
    assert gcs_server.tokens_issued() > issued  # the key was traded for a token


def test_token_endpoint_down_is_transient(gcs_server: GcsServer, tmp_path: Path) -> None:
    secret = gcs_server.key_with(token_uri=f"http://127.0.0.1:{free_port()}/token")
    dest = open_destination(
        {**gcs_config(gcs_server, "some-bucket"), "secret": secret}, Endpoints(gcs=gcs_server.endpoint_url)
    )
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(gcs_server.service_account["private_key"],))
