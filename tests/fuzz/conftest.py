"""Fuzzing: schemathesis against live ``recordkit serve`` processes (tests/support/fuzz.py)."""

from __future__ import annotations

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
