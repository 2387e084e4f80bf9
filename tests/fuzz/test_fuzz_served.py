"""Schemathesis with the document the server serves at /client/v4/openapi.json: every operation,
valid and invalid input, against a server that enforces the address policy (as production does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from recordkit.api import openapi
from tests.support.fuzz import Target, config, finish, start_target

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

schema = schemathesis.openapi.from_dict(openapi.document(), config=config())
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in openapi.document()["paths"].items()
    for method in ops
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Target]:
    made = start_target(
        tmp_path_factory.mktemp("fuzz-served"), {**databases(), "RECORDKIT_ALLOW_PRIVATE_NETWORK": "false"}
    )
    try:
        yield made
    finally:
        made.server.stop()


def test_the_fuzzed_document_is_the_served_one(target: Target) -> None:
    served = httpx.get(f"{target.server.base_url}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == openapi.document()


@schema.parametrize()
def test_served_document(case: Any, target: Target) -> None:
    target.call(case)


def test_every_operation_was_fuzzed_past_validation(target: Target) -> None:
    finish(target, OPERATIONS)
