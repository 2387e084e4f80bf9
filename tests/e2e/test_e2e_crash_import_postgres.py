"""test_e2e_crash_import.py's tests, every one, on PostgreSQL (each server and its imports with a
database of its own): ``kill -9`` of ``recordkit import --database-url`` while it checks the file
(nothing written) and while it moves batches in (whole batches visible, in order, counted exactly),
then the import again.

A file of its own rather than a parameter, as test_e2e_recordings_postgres.py: pytest-xdist
(``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is not installed
(failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.e2e.test_e2e_crash_import import *  # noqa: F403  (the tests and their module fixtures)

STORE = "postgres"  # read by the databases fixture (tests/e2e/conftest.py)
