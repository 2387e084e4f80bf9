"""Schemathesis with the upstream subset (realtimekit-openapi.json; its paths are relative to
/client/v4): every operation, as a client generated from Cloudflare's schema calls it.

Two documented divergences (docs/decisions.md, "Fuzzing"): the schemas RecordKit answers ``null``
for (``x-recordkit-nullable``) are marked nullable, and ``status_code_conformance`` is replaced by
``spec_status_code``, which also accepts the error statuses SPEC §1 gives every operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import status_code_conformance

from recordkit.api import openapi
from tests.support.fuzz import Target, config, finish, spec_status_code, start_target

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

schema = schemathesis.openapi.from_dict(openapi.with_nullable(openapi.upstream()), config=config())
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in openapi.upstream()["paths"].items()
    for method in ops
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Target]:
    made = start_target(tmp_path_factory.mktemp("fuzz-upstream"), databases())  # private networks allowed
    try:
        yield made
    finally:
        made.server.stop()


@schema.parametrize()
def test_upstream_subset(case: Any, target: Target) -> None:
    target.call(case, excluded_checks=[status_code_conformance], additional_checks=[spec_status_code])


def test_every_operation_was_fuzzed_past_validation(target: Target) -> None:
    finish(target, OPERATIONS)
