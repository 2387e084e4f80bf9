"""test_fuzz_upstream.py's tests, every one (one per operation of the upstream subset), on
PostgreSQL: the fuzzed server runs on a database of its own.

A file of its own rather than a parameter, as tests/e2e/test_e2e_recordings_postgres.py:
pytest-xdist (``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is
not installed (failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.fuzz.test_fuzz_upstream import *  # noqa: F403  (the tests and their module fixture)

STORE = "postgres"  # read by the databases fixture (tests/fuzz/conftest.py)
