"""The upstream of the sync tests (one per module: a ``recordkit serve`` and a file server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.recording import Tenant
from tests.support.servers import RkServer
from tests.support.sync import FileServer, Upstream


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    root = tmp_path_factory.mktemp("sync-upstream")
    files = FileServer().start()
    srv = RkServer(root)
    tenant = Tenant.create(srv)
    srv.start()
    try:
        yield Upstream(srv, tenant, files, root)
    finally:
        srv.stop()
        files.stop()
