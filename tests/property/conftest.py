"""Hypothesis profiles for the property suite, and the store it runs on.

A failing example here is shrunk for up to a few minutes (every try builds a fresh store). To see
the first failure at once, unshrunk: ``pytest tests/property --hypothesis-profile=fast-fail``.

Every test runs twice: on SQLite (a fresh data dir per example) and on PostgreSQL (a fresh
database per test, tests/support/postgres.py; each example makes its own account and apps in it). The
store is chosen through ``RECORDKIT_DATABASE_URL``, as ``recordkit`` itself chooses it, so a
``recordkit`` subprocess a test starts writes to the same database. Only PostgreSQL:
``pytest tests/property -k postgres``.
"""

from collections.abc import Iterator

import pytest
from hypothesis import Phase, settings

settings.register_profile("fast-fail", phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        monkeypatch.setenv("RECORDKIT_DATABASE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv("RECORDKIT_DATABASE_URL", raising=False)
    yield request.param
