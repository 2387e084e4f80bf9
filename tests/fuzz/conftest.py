"""Fuzzing: schemathesis against live ``recordkit serve`` processes (tests/support/fuzz.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One test per operation needs one node id per operation: pytest 9.2 builds a test's node id
    from its ``originalname``, which schemathesis 4.32.5 sets to the bare function name, so every
    operation's test got the same id (and pytest-xdist ran only the first). Put the operation back."""
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and "[" not in item.nodeid:
            item._id = node_id.with_params(label)


@pytest.fixture(scope="module")
def databases(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """The environment that gives a module's server its own database, as the fixture of the same
    name in tests/e2e/conftest.py: the module's ``STORE`` names the store (default SQLite, in the
    server's data dir); test_fuzz_served_postgres.py runs test_fuzz_served.py on PostgreSQL."""
    if getattr(request.module, "STORE", "sqlite") == "sqlite":
        return dict
    cluster = request.getfixturevalue("pg_cluster")
    return lambda: {"RECORDKIT_DATABASE_URL": cluster.new_database()}
