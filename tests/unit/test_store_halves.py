"""The units of work ``--dist loadfile`` gives the workers (tests/conftest.py): a file, and a file's
store half for a test with a store parameter, wherever that parameter is among the others."""

from __future__ import annotations

import pytest

from tests.conftest import store_half


@pytest.mark.parametrize(
    ("nodeid", "unit"),
    [
        ("tests/unit/test_x.py::test_a", "tests/unit/test_x.py"),
        ("tests/unit/test_x.py::test_a[3]", "tests/unit/test_x.py"),
        ("tests/e2e/test_x.py::test_a[sqlite]", "tests/e2e/test_x.py[sqlite]"),
        ("tests/e2e/test_x.py::test_a[postgres]", "tests/e2e/test_x.py[postgres]"),
        ("tests/e2e/test_x.py::test_a[postgres-3]", "tests/e2e/test_x.py[postgres]"),
        ("tests/e2e/test_x.py::test_a[3-sqlite]", "tests/e2e/test_x.py[sqlite]"),
        ("tests/e2e/test_x.py::test_a[postgres-http://[::1]/]", "tests/e2e/test_x.py[postgres]"),
        ("tests/e2e/test_x.py::Cls::test_a[sqlite-a-b]", "tests/e2e/test_x.py[sqlite]"),
        ("tests/fuzz/test_y.py::test_b[GET /a/{id}][postgres]", "tests/fuzz/test_y.py[postgres]"),
        ("tests/unit/test_x.py::test_a[postgresql://h/db]", "tests/unit/test_x.py"),
        ("tests/unit/test_x.py::test_a[mysqlite]", "tests/unit/test_x.py"),
        ("tests/unit/test_sqlite.py::test_a", "tests/unit/test_sqlite.py"),
    ],
)
def test_a_store_parameter_splits_a_file_in_two(nodeid: str, unit: str) -> None:
    assert store_half(nodeid) == unit
