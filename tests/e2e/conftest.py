"""End-to-end fixtures: a real ``recordkit serve`` process, seeded through the real CLI.

One server per test session (SIGTERM, then SIGKILL, at the end). The data it serves is generated
deterministically in ``e2e_support`` and loaded with ``recordkit import`` while the server runs;
tests compare the API's answers with ``e2e_support.Reference`` over the same data.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cloudflare import Cloudflare

# The helpers sit next to this file; make them importable whatever pytest's import mode.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (
    BASE,
    STARTUP_TIMEOUT,
    STATUSES,
    Reference,
    Server,
    World,
    clean_env,
    cli_command,
    cli_json,
    database_env,
    free_port,
    generate_main,
    make_meeting,
    make_recording,
    run_cli,
    stop_process,
    use_database,
    write_jsonl,
)

# Every test of the shared world runs on both stores: SQLite in the data dir, and PostgreSQL (a
# fresh database on the session's throwaway cluster, tests/pg_support.py; skipped where none is
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
    port = free_port()
    use_database(data_dir, database_url)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*cli_command(), "serve", "--data-dir", str(data_dir), "--port", str(port), "--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**clean_env(), **database_env(["--data-dir", str(data_dir)])},
            start_new_session=True,
        )
    srv = Server(data_dir, port, proc, log_path, startup_seconds=-1.0, database_url=database_url)
    try:
        deadline = started + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"recordkit serve exited with {proc.returncode}:\n{srv.log()}")
            try:
                if httpx.get(f"{srv.origin}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                pytest.fail(f"recordkit serve not ready after {STARTUP_TIMEOUT} s:\n{srv.log()}")
            time.sleep(0.02)
    except BaseException:
        stop_process(proc)
        raise
    srv.startup_seconds = time.perf_counter() - started
    return srv


@pytest.fixture(scope="module")
def databases(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """For modules that start servers of their own: the environment that gives each one its own
    database. The module's ``STORE`` names the store (default SQLite, whose file is in the server's
    data dir): test_e2e_recordings_postgres.py runs test_e2e_recordings.py's tests on PostgreSQL,
    in a file of its own so that pytest-xdist (--dist loadfile) runs the two halves side by side."""
    if getattr(request.module, "STORE", "sqlite") == "sqlite":
        return dict
    cluster = request.getfixturevalue("pg_cluster")
    return lambda: {"RECORDKIT_DATABASE_URL": cluster.new_database()}


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
