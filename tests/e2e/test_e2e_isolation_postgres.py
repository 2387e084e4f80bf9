"""test_e2e_isolation.py's tests, every one, on PostgreSQL (each server with a database of its own).

A file of its own rather than a parameter, as test_e2e_recordings_postgres.py: pytest-xdist
(``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is not installed
(failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.e2e.test_e2e_isolation import *  # noqa: F403  (the tests and their module fixtures)

STORE = "postgres"  # read by the databases fixture (tests/e2e/conftest.py)
