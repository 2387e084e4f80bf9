"""kill -9 during ``recordkit import`` (issue 8 §4), with a server answering beside it.

The import writes in two passes: it checks and converts every line into scratch files (pass one:
killed there, nothing is visible), then moves them in, one transaction per batch, a batch being a
run of ``invoked_time`` (pass two). Killed there, what the API shows is exactly the recordings
before some instant, each one whole and as the file has it, counted exactly (``paging.total_count``
equals ``COUNT(*)`` for every filter), none twice; and importing the file again completes it.
Batches are made small here (``RECORDKIT_IMPORT_BATCH``) so the kill lands between and inside them.

The server and the imports run on the module's store (``store_kind`` and ``databases``,
tests/conftest.py): every test runs on SQLite and again on PostgreSQL (``recordkit import
--database-url``; one transaction per batch under the app's advisory lock), where the checks read
the database with psycopg and SQLite's ``PRAGMA integrity_check`` has no counterpart.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recordkit import importer
from tests.support.data import write_jsonl
from tests.support.recording import Tenant
from tests.support.servers import RkServer, clean_env, cli_command, database_env, run_cli
from tests.support.world import STATUSES, Reference, make_meeting, make_recording, parse, to_ms

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.usefixtures("store_kind"),
]  # every test on both stores (tests/conftest.py)

ROWS = 12_000  # about 12 MB: over the size from which pass one runs on several cores
BATCH = 200  # 60 batches: the kill lands mid-way
FILTERS: list[dict[str, Any]] = [
    {},
    *({"status": [s]} for s in STATUSES),
    {"expired": True},
    {"expired": False},
    {"status": ["UPLOADED", "ERRORED"], "expired": False},
]


def generate(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    meetings = [make_meeting(rng, f"crash meeting {i}", "ACTIVE") for i in range(40)]
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(ROWS):
        invoked = base + timedelta(seconds=rng.randint(0, 30 * 86_400))
        rows.append(make_recording(rng, rng.choice(meetings), STATUSES[i % len(STATUSES)], invoked, now))
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    rows = generate(random.Random(8), datetime.now(UTC))
    return write_jsonl(tmp_path_factory.mktemp("crash-import") / "big.jsonl", rows), rows


@pytest.fixture
def tenant(tmp_path: Path, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    srv = RkServer(tmp_path / "srv", env={**databases(), "RECORDKIT_RUN_JOBS": "0"})
    made = Tenant.create(srv)
    srv.start()
    try:
        yield made
    finally:
        srv.stop()


def database_url(tenant: Tenant) -> str | None:
    """The tenant's PostgreSQL database; None: SQLite in the server's data dir."""
    return tenant.server.env.get("RECORDKIT_DATABASE_URL")


def db(tenant: Tenant) -> sqlite3.Connection:
    path = tenant.server.data_dir / "recordkit.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def query(tenant: Tenant, sql: str, settled: bool = False) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (the same text on both stores), read straight from the database.

    ``settled`` (PostgreSQL): first wait for the app's import lock (the one every batch's
    transaction takes, ``PostgresStore._import_part``). After ``kill -9`` of an import, its backend
    may still be finishing the transaction whose COMMIT it had been sent; once the lock is ours,
    that batch is in or out for good. SQLite commits in the killed process itself: nothing is
    pending once it is gone."""
    url = database_url(tenant)
    if url is None:
        conn = db(tenant)
        try:
            return [tuple(row) for row in conn.execute(sql)]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as pg:
        if settled:
            pg.execute("SET LOCAL lock_timeout = '30s'")
            pg.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('recordkit-import:' || seq, 0)) FROM apps WHERE id = %s",
                (tenant.app,),
            )
        return [tuple(row) for row in pg.execute(sql)]


def count(tenant: Tenant) -> int:
    return int(query(tenant, "SELECT COUNT(*) FROM recordings")[0][0])


def start_import(tenant: Tenant, path: Path, scratch: Path) -> subprocess.Popen[bytes]:
    env = {**clean_env(), "RECORDKIT_IMPORT_BATCH": str(BATCH), "TMPDIR": str(scratch)}
    args = ["import", str(path), "--data-dir", str(tenant.server.data_dir), "--account", tenant.account]
    # The database as run_cli finds it (tests.support.servers.database_env), given here as --database-url.
    url = database_env(args).get("RECORDKIT_DATABASE_URL")
    if url:
        args += ["--database-url", url]
    return subprocess.Popen(
        [*cli_command(), *args, "--app", tenant.app, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its pass-one workers are in its process group: killed with it
    )


def kill9(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def chunks_of(path: Path, rows: list[dict[str, Any]]) -> list[list[str]]:
    """The ids of each part of the file that pass one gave its own worker (and pass two writes
    one after the other), as ``recordkit.importer`` cuts it on this machine."""
    if path.stat().st_size < importer.PARALLEL_FROM_BYTES or min(os.cpu_count() or 1, 4) < 2:
        return [[r["id"] for r in rows]]
    out = []
    for start, end, first_line in importer._chunks(path, min(os.cpu_count() or 1, 4)):
        with path.open("rb") as handle:
            handle.seek(start)
            lines = handle.read(end - start).count(b"\n")
        out.append([r["id"] for r in rows[first_line - 1 : first_line - 1 + lines]])
    return out


def api_items(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Every recording the API lists, by id (100 a page, oldest first)."""
    out: dict[str, dict[str, Any]] = {}
    with tenant.http() as http:
        page = 1
        while True:
            body = http.get(
                f"{tenant.kit}/recordings", params={"per_page": 100, "page_no": page, "sort_order": "ASC"}
            ).json()
            for item in body["data"]:
                assert item["id"] not in out, f"{item['id']} listed twice"
                out[item["id"]] = item
            if body["paging"]["end_offset"] >= body["paging"]["total_count"] or not body["data"]:
                return out
            page += 1


def check_consistent(tenant: Tenant, path: Path, rows: list[dict[str, Any]], visible_ids: set[str]) -> None:
    """What is visible is whole batches (the parts of the file before one part, and a run of that
    part's earliest invoked_time), each recording whole and as the file has it, none twice, and
    counted exactly."""
    by_id = {r["id"]: r for r in rows}
    if database_url(tenant) is None:  # SQLite only: PostgreSQL has no such check to run from SQL
        assert query(tenant, "PRAGMA integrity_check") == [("ok",)]
    [(total, distinct)] = query(tenant, "SELECT COUNT(*), COUNT(DISTINCT id) FROM recordings", settled=True)
    assert total == distinct == len(visible_ids)
    assert visible_ids <= set(by_id)
    parts = chunks_of(path, rows)
    assert sum(len(p) for p in parts) == len(rows)
    complete = [set(p) <= visible_ids for p in parts]
    untouched = [not (set(p) & visible_ids) for p in parts]
    current = next((i for i, done in enumerate(complete) if not done), len(parts))
    assert all(complete[:current]) and all(untouched[current + 1 :]), (complete, untouched)
    if current < len(parts):  # the part being written: everything before some instant, nothing after
        shown = [i for i in parts[current] if i in visible_ids]
        hidden = [i for i in parts[current] if i not in visible_ids]
        if shown:
            last_in = max(to_ms(parse(by_id[i]["invoked_time"])) for i in shown)
            first_out = min(to_ms(parse(by_id[i]["invoked_time"])) for i in hidden)
            assert last_in < first_out, (last_in, first_out)
    items = api_items(tenant)
    assert set(items) == visible_ids
    ref = Reference([by_id[i] for i in sorted(visible_ids)])
    for rec_id, item in items.items():
        assert item == Reference([by_id[rec_id]]).wire(rec_id), rec_id  # each line whole, as in the file
    with tenant.http() as http:
        for filters in FILTERS:
            got = http.get(f"{tenant.kit}/recordings", params={**filters, "per_page": 1}).json()
            assert got["paging"]["total_count"] == ref.query(**filters).total, filters


def test_kill_9_in_the_middle_of_an_import_then_import_again(
    tenant: Tenant, data: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    path, rows = data
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = start_import(tenant, path, scratch)
    deadline = time.monotonic() + 180
    seen = 0
    while proc.poll() is None and time.monotonic() < deadline:
        seen = count(tenant)
        if seen >= BATCH:  # at least one batch is in: kill it now, mid-way through the others
            break
        time.sleep(0.005)
    kill9(proc)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr.read() if proc.stderr else b"")
    visible = {r[0] for r in query(tenant, "SELECT id FROM recordings", settled=True)}
    assert 0 < len(visible) < len(rows), f"the kill did not land mid-way ({len(visible)} of {len(rows)})"
    check_consistent(tenant, path, rows, visible)

    done = run_cli(
        "import",
        str(path),
        "--data-dir",
        str(tenant.server.data_dir),
        "--account",
        tenant.account,
        "--app",
        tenant.app,
        "--json",
    )
    assert json.loads(done.stdout)["imported"] == len(rows)
    check_consistent(tenant, path, rows, {r["id"] for r in rows})


def test_kill_9_while_checking_the_file_writes_nothing(
    tenant: Tenant, data: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    path, rows = data
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = start_import(tenant, path, scratch)
    # Pass one has begun once its staging files are in the scratch folder; kill it then (converting
    # 12,000 lines takes a few hundred milliseconds after that).
    deadline = time.monotonic() + 60
    while not list(scratch.glob("*/staging-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    kill9(proc)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    check_consistent(tenant, path, rows, set())
    assert query(tenant, "SELECT COUNT(*) FROM meetings", settled=True) == [(0,)]
    # The killed import's scratch folder (its staging files) is left behind; the next import on this
    # host removes it (its process is gone) and says so.
    left = [p.name for p in scratch.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"recordkit-import-{socket.gethostname()}-{proc.pid}-"), left
    small = tmp_path / "one.jsonl"
    small.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    args = ["import", str(small), "--data-dir", str(tenant.server.data_dir), "--account", tenant.account]
    again = subprocess.run(
        [*cli_command(), *args, "--app", tenant.app],
        capture_output=True,
        text=True,
        env={**clean_env(), **database_env(args), "TMPDIR": str(scratch)},  # the database as run_cli gives it
        timeout=60,
        check=True,
    )
    assert f"removed {left[0]}: the scratch folder of an import that was killed" in again.stderr
    assert list(scratch.iterdir()) == [] and count(tenant) == 3
