"""test_e2e_webhooks.py's tests, every one, on PostgreSQL (each server with a database of its own):
the outbox written by the store's triggers, the dispatcher's leases, kill -9 mid-send.

A file of its own rather than a parameter, as test_e2e_recordings_postgres.py: pytest-xdist
(``--dist loadfile``) runs the two halves side by side. Skipped where PostgreSQL is not installed
(failed under CI), as every PostgreSQL test (tests/conftest.py).
"""

from __future__ import annotations

from tests.e2e.test_e2e_webhooks import *  # noqa: F403  (the tests and their module fixtures)

STORE = "postgres"  # read by the databases fixture (tests/e2e/conftest.py)
