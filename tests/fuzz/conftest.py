"""Fuzzing: schemathesis against live ``recordkit serve`` processes (tests/fuzz/fuzz_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "e2e"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One test per operation needs one node id per operation: pytest 9.2 builds a test's node id
    from its ``originalname``, which schemathesis 4.32.5 sets to the bare function name, so every
    operation's test got the same id (and pytest-xdist ran only the first). Put the operation back."""
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and "[" not in item.nodeid:
            item._id = node_id.with_params(label)
