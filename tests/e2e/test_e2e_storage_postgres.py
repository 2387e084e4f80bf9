"""test_e2e_storage.py's tests, every one, on PostgreSQL (each server with a database of its own):
the destinations' deliveries, retries and ``retry-upload``, the bucket on S3 and preflight, and no
secret in any stored byte (read column by column from the database).

A file of its own rather than a parameter, as test_e2e_recordings_postgres.py: pytest-xdist
(``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is not installed
(failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.e2e.test_e2e_storage import *  # noqa: F403  (the tests and their module fixtures)

STORE = "postgres"  # read by the databases fixture (tests/e2e/conftest.py)
