"""The upstream of the sync tests (one per module: a ``recordkit serve`` and a file server), and helpers
importable whatever pytest's import mode (this folder's, and tests/e2e's)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "e2e"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from recording_support import RkServer, Tenant  # noqa: E402
from sync_support import FileServer, Upstream  # noqa: E402


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
