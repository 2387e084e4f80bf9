"""Azure Blob Storage destination against Azurite (Shared Key authentication, as Azure does)."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from recordkit.errors import InvalidRequest
from tests.support.destinations import check_failure, random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import AzuriteServer


def azure_config(server: AzuriteServer, container: str, **extra: Any) -> dict[str, Any]:
    return {"type": "azure", "bucket": container, "access_key": server.account, "secret": server.account_key, **extra}


@pytest.fixture
def container(azurite_server: AzuriteServer) -> str:
    return azurite_server.create_container(unique("dest"))


def test_put_uploads_the_bytes_under_path_and_prefix(
    azurite_server: AzuriteServer, container: str, tmp_path: Path
) -> None:
    dest = open_destination(
        azure_config(azurite_server, container, path="recordings/2026/"),
        Endpoints(azure=azurite_server.endpoint_template),
        file_name_prefix="acme",
    )
    source, data = random_file(tmp_path, 300 * 1024)
    key = dest.put(source, "meeting.mp4")
    assert key == "recordings/2026/acme_meeting.mp4"
    assert azurite_server.get_bytes(container, key) == data
    assert azurite_server.names(container) == [key]
    properties = azurite_server.service().get_blob_client(container, key).get_blob_properties()
    assert properties.content_settings.content_type == "video/mp4"


def test_large_files_go_in_blocks(azurite_server: AzuriteServer, container: str, tmp_path: Path) -> None:
    dest = open_destination(azure_config(azurite_server, container), Endpoints(azure=azurite_server.endpoint_template))
    source, data = random_file(tmp_path, 9 * 1024 * 1024 + 7)
    key = dest.put(source, "big.mp4")
    assert azurite_server.get_bytes(container, key) == data
    blocks = azurite_server.service().get_blob_client(container, key).get_block_list("committed")[0]
    assert len(blocks) == 3  # 4 MiB blocks: a block upload, not one PUT


def test_put_replaces_and_delete_removes(azurite_server: AzuriteServer, container: str, tmp_path: Path) -> None:
    dest = open_destination(
        azure_config(azurite_server, container, path="p"), Endpoints(azure=azurite_server.endpoint_template)
    )
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    key = dest.put(first, "x.mp4")
    assert dest.put(second, "x.mp4") == key == "p/x.mp4"
    assert azurite_server.get_bytes(container, key) == data
    dest.delete(key)
    assert azurite_server.names(container) == []
    dest.delete(key)
    with pytest.raises(InvalidRequest, match=r"not under storage_config\.path"):
        dest.delete("x.mp4")


def test_probe_writes_and_deletes(azurite_server: AzuriteServer, container: str) -> None:
    dest = open_destination(
        azure_config(azurite_server, container, path="probe"), Endpoints(azure=azurite_server.endpoint_template)
    )
    dest.probe()
    assert azurite_server.names(container) == []


def test_bad_account_key_is_permanent_and_secret_free(azurite_server: AzuriteServer, container: str) -> None:
    wrong = base64.b64encode(os.urandom(64)).decode()
    cfg = {**azure_config(azurite_server, container), "secret": wrong}
    dest = open_destination(cfg, Endpoints(azure=azurite_server.endpoint_template))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(wrong, azurite_server.account_key))
    # Azure says AuthenticationFailed, Azurite AuthorizationFailure
    assert "Failure (HTTP 403)" in caught.value.message or "AuthenticationFailed (HTTP 403)" in caught.value.message
    assert container in caught.value.message


def test_unknown_account_is_permanent(azurite_server: AzuriteServer, container: str) -> None:
    cfg = {**azure_config(azurite_server, container), "access_key": "nosuchaccount"}
    dest = open_destination(cfg, Endpoints(azure=azurite_server.endpoint_template))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(azurite_server.account_key,))


def test_missing_container_is_permanent(azurite_server: AzuriteServer, tmp_path: Path) -> None:
    dest = open_destination(
        azure_config(azurite_server, unique("absent")), Endpoints(azure=azurite_server.endpoint_template)
    )
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=False, secrets=(azurite_server.account_key,))
    assert "ContainerNotFound (HTTP 404)" in caught.value.message


def test_server_down_is_transient(azurite_server: AzuriteServer, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/{{account}}"
    dest = open_destination(azure_config(azurite_server, "somecontainer"), Endpoints(azure=down))
    source, _ = random_file(tmp_path, 10)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(azurite_server.account_key,))
    assert "ServiceRequestError" in caught.value.message
    assert time.monotonic() - started < 20
