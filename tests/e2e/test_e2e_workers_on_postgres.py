"""test_e2e_workers.py's tests, every one, on PostgreSQL: ``recordkit serve --workers 2``, and two
servers on one data dir, with the metadata in one PostgreSQL database (a fresh one per server, or
pair of servers). Not to be confused with test_e2e_workers_postgres.py (servers with data dirs of
their own on one database and one S3 bucket), whose name the ``*_postgres.py`` pattern would take.

A file of its own rather than a parameter, as test_e2e_recordings_postgres.py: pytest-xdist
(``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is not installed
(failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.e2e.test_e2e_workers import *  # noqa: F403  (the tests and their module fixtures)

STORE = "postgres"  # read by the databases fixture (tests/e2e/conftest.py)
