"""End-to-end fixtures: a real ``recordkit serve`` process, seeded through the real CLI.

One server per test session (SIGTERM, then SIGKILL, at the end). The data it serves is generated
deterministically in ``tests.support.world`` and loaded with ``recordkit import`` while the server runs;
tests compare the API's answers with ``tests.support.world.Reference`` over the same data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cloudflare import Cloudflare

from tests.support.data import write_jsonl
from tests.support.servers import Server, cli_json, database_env, run_cli, serve, stop_process, use_database
from tests.support.world import BASE, STATUSES, Reference, World, generate_main, make_meeting, make_recording

# Every test of the shared world runs on both stores: SQLite in the data dir, and PostgreSQL (a
# fresh database on the session's throwaway cluster, tests/support/postgres.py; skipped where none is
# installed, failed under CI). Each store's server and world are made once, on first use, and kept
# while pytest moves between the parameters.
STORES = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    yield started
    for srv in started.values():
        stop_process(srv.proc)


@pytest.fixture(scope="session", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _servers: dict[str, Server]
) -> Server:
    kind: str = request.param
    if kind not in _servers:
        database_url = None
        if kind == "postgres":
            cluster = request.getfixturevalue("pg_cluster")
            database_url = cluster.new_database()
        srv = _servers[kind] = _start_server(tmp_path_factory.mktemp(f"e2e-server-{kind}"), database_url)
        if database_url:
            cluster.before_stop.append(lambda: stop_process(srv.proc))  # the server goes before its database
    return _servers[kind]


def _start_server(root: Path, database_url: str | None) -> Server:
    data_dir = root / "data"
    log_path = root / "server.log"
    use_database(data_dir, database_url)
    started = time.perf_counter()
    proc, port = serve(data_dir, log_path, database_env(["--data-dir", str(data_dir)]))
    return Server(data_dir, port, proc, log_path, time.perf_counter() - started, database_url=database_url)


_WORLDS: dict[str, World] = {}


@pytest.fixture(scope="session")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    key = str(server.data_dir)
    if key not in _WORLDS:
        _WORLDS[key] = _seed_world(server, tmp_path_factory)
    return _WORLDS[key]


def _seed_world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    d = str(server.data_dir)
    rng = random.Random(20240510)
    now = datetime.now(UTC)
    files = tmp_path_factory.mktemp("e2e-import")

    main = cli_json("init", "--data-dir", d)
    ro = cli_json("token", "create", "--data-dir", d, "--account", main["account_id"], "--permission", "Realtime")
    other_app = cli_json("app", "create", "--data-dir", d, "--account", main["account_id"], "--name", "second")
    b = cli_json("init", "--data-dir", d)

    meetings, main_rows = generate_main(rng, now)
    other_meeting = make_meeting(rng, "Weekly Standup", "ACTIVE")  # same title, other app
    other_rows = [
        make_recording(rng, other_meeting, STATUSES[i % 6], BASE + timedelta(hours=7 * i), now) for i in range(12)
    ]
    b_meeting = make_meeting(rng, "Weekly Standup", "ACTIVE")
    b_rows = [make_recording(rng, b_meeting, STATUSES[i % 6], BASE + timedelta(hours=5 * i), now) for i in range(6)]

    for rows, account, app, name in (
        (main_rows, main["account_id"], main["app_id"], "main"),
        (other_rows, main["account_id"], other_app["app_id"], "other"),
        (b_rows, b["account_id"], b["app_id"], "b"),
    ):
        path = write_jsonl(files / f"{name}.jsonl", rows)
        run_cli("import", str(path), "--data-dir", d, "--account", account, "--app", app)

    return World(
        server=server,
        account=main["account_id"],
        app=main["app_id"],
        token=main["token"],
        ro_token=ro["token"],
        other_app=other_app["app_id"],
        account_b=b["account_id"],
        app_b=b["app_id"],
        token_b=b["token"],
        ref=Reference(main_rows),
        other_ref=Reference(other_rows),
        ref_b=Reference(b_rows),
        meetings=meetings,
    )


@pytest.fixture(scope="session")
def client(world: World) -> Iterator[Cloudflare]:
    with world.client() as c:
        yield c


@pytest.fixture(scope="session")
def http(world: World) -> Iterator[httpx.Client]:
    """Raw HTTP with the main account's admin token."""
    with httpx.Client(
        base_url=world.server.origin, headers={"Authorization": f"Bearer {world.token}"}, timeout=10
    ) as c:
        yield c


@pytest.fixture(scope="session")
def anon(world: World) -> Iterator[httpx.Client]:
    """Raw HTTP without credentials."""
    with httpx.Client(base_url=world.server.origin, timeout=10) as c:
        yield c
