"""Many processes, one service (SQLite): ``recordkit serve --workers 2``, and two ``recordkit serve``
on different ports against one data dir. Every recording is recorded, stored and announced once:
one encoder start, one set of files, one webhook delivery per status change (the receiver always
answers 200, so at-least-once never needs a second attempt here).

The workers and the servers share the work through the store's leases (``claim_unfinished`` for
recordings, ``claim_deliveries`` for webhooks); these tests count what each process did from the
JSON logs, which carry the pid.

The servers run on the module's store (``store_kind`` and ``databases``, tests/conftest.py): the
data dir's SQLite, then one PostgreSQL database (beside the one data dir).
test_e2e_stateless_servers_postgres.py is another suite: servers with data dirs of their own on one
database and one S3 bucket.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_e2e_webhooks import FAST, Receiver, deliveries, public_pem, wait_for, webhook
from tests.support.recording import Kit, Tenant
from tests.support.servers import RkServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

SMALL = {"width": 160, "height": 120}
LIFECYCLE = ["INVOKED", "RECORDING", "UPLOADING", "UPLOADED"]
JSON_LOGS = {"RECORDKIT_LOG_JSON": "1"}


def log_lines(server: RkServer) -> list[dict[str, Any]]:
    return [json.loads(x) for x in server.log().splitlines() if x.startswith("{")]


def encoder_starts(server: RkServer, rec_id: str) -> list[int]:
    """The pids that started an encoder for ``rec_id`` (the supervisor's "recording X: recording" line)."""
    return [
        x["pid"]
        for x in log_lines(server)
        if x.get("logger") == "recordkit.supervisor" and x["message"].startswith(f"recording {rec_id}: recording (")
    ]


def bucket_files(server: RkServer, app_id: str, rec_id: str) -> list[str]:
    folder = server.data_dir / "bucket" / app_id / rec_id
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_once_each(
    receiver: Receiver,
    path: str,
    rec_ids: list[str],
    server: RkServer,
    hook_id: str,
    lifecycles: Mapping[str, list[str]] | None = None,
) -> None:
    """Every recording's status events (``LIFECYCLE``, or its own in ``lifecycles``) reached ``path``
    once each, in order, signed."""
    expected = {rec_id: (lifecycles or {}).get(rec_id, LIFECYCLE) for rec_id in rec_ids}
    total = sum(len(statuses) for statuses in expected.values())
    wait_for(
        lambda: len(receiver.at(path)) >= total,
        30,
        lambda: f"received {[(r.payload['recording']['id'][:8], r.status) for r in receiver.at(path)]}",
    )
    time.sleep(1.0)  # a duplicate would come now
    got = receiver.at(path)
    assert all(r.verified for r in got)
    uuids = Counter(r.uuid for r in got)
    assert [u for u, n in uuids.items() if n > 1] == [], "an rtk-uuid was delivered twice"
    for rec_id in rec_ids:
        assert [r.status for r in got if r.payload["recording"]["id"] == rec_id] == expected[rec_id], rec_id
    assert len(got) == total
    wait_for(
        lambda: {d["status"] for d in deliveries(server, "--webhook", hook_id)} == {"delivered"},
        10,
        lambda: f"{deliveries(server, '--webhook', hook_id)}",
    )
    log = deliveries(server, "--webhook", hook_id)
    assert len(log) == len(got) and {d["attempts"] for d in log} == {1}


# -- serve --workers 2 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    env = {**databases(), **FAST, **JSON_LOGS, "RECORDKIT_WORKERS": "2"}
    srv = RkServer(tmp_path_factory.mktemp("workers"), env=env)
    tenant = Tenant.create(srv)
    srv.start()
    try:
        yield tenant
    finally:
        srv.stop()


def test_both_workers_answer_and_metrics_are_their_sum(workers: Tenant) -> None:
    srv = workers.server

    def started() -> set[int]:
        return {x["pid"] for x in log_lines(srv) if x["message"].startswith("Started worker-")}

    wait_for(lambda: len(started()) == 2, 30, srv.log)  # /healthz answers once the first one is up
    assert started() <= set(srv.group_pids())
    url = f"{srv.origin}{workers.kit}/recordings"
    before, sent = _list_401s(srv.origin), 0
    deadline = time.monotonic() + 30
    while _answering(srv) != started():  # each request on a new connection: either worker accepts it
        assert time.monotonic() < deadline, f"only {_answering(srv)} of {started()} answered"
        for _ in range(10):
            assert httpx.get(url, timeout=10).status_code == 401
            sent += 1
        time.sleep(0.1)
    # Whichever worker answers the scrape reports the sum (the other worker's part is published
    # once a second).
    wait_for(
        lambda: _list_401s(srv.origin) - before == sent, 10, lambda: f"{_list_401s(srv.origin) - before} != {sent}"
    )
    assert list((srv.data_dir / "metrics").glob("*/tally-*.json"))


def _answering(srv: RkServer) -> set[int]:
    """The pids in access lines of unauthenticated list calls (INFO, unlike the probes)."""
    return {x["pid"] for x in log_lines(srv) if x.get("logger") == "recordkit.access" and x.get("status") == 401}


def _list_401s(origin: str) -> float:
    template = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    wanted = f'recordkit_http_requests_total{{method="GET",route="{template}",status="401"}} '
    for line in httpx.get(f"{origin}/metrics", timeout=10).text.splitlines():
        if line.startswith(wanted):
            return float(line[len(wanted) :])
    return 0.0


def test_each_recording_and_each_webhook_runs_once_across_workers(workers: Tenant) -> None:
    t = workers
    receiver = Receiver(public_pem(t.server)).start()
    try:
        with webhook(t, receiver.url("/workers")) as hook:

            def one(n: int) -> str:
                with t.sdk() as client:  # a client (connection) per recording: the workers share the calls
                    kit = Kit(t, client)
                    rec = kit.start(kit.meeting(f"workers {n}"), video_config=SMALL)
                    kit.wait(rec.id, {"RECORDING"}, 60)
                    time.sleep(1.5)
                with t.sdk() as client:
                    Kit(t, client).act(rec.id, "stop")
                with t.sdk() as client:
                    final = Kit(t, client).wait(rec.id, {"UPLOADED", "ERRORED"}, 120)
                assert final.status == "UPLOADED", final
                return str(rec.id)

            with ThreadPoolExecutor(max_workers=4) as pool:
                rec_ids = list(pool.map(one, range(4)))
            assert_once_each(receiver, "/workers", rec_ids, t.server, hook.id)
    finally:
        receiver.stop()
    by_pid: Counter[int] = Counter()
    for rec_id in rec_ids:
        pids = encoder_starts(t.server, rec_id)
        assert len(pids) == 1, f"{rec_id}: encoder started by {pids}"
        by_pid[pids[0]] += 1
        files = bucket_files(t.server, t.app, rec_id)
        assert [f for f in files if f.endswith(".mp4")] == [f"{rec_id}.mp4"], files
        assert [f for f in files if f.endswith(".m4a")] == [f"{rec_id}_audio.m4a"], files
        assert len(files) == 2, files  # nothing half-written or twice
    print(f"\nencoders started per worker pid: {dict(by_pid)}")
    assert not list((t.server.data_dir / "work").glob("*/segment-*"))  # work folders cleaned up


# -- two servers, one data dir ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> Iterator[tuple[Tenant, Tenant]]:
    root = tmp_path_factory.mktemp("pair")
    env = {**databases(), **FAST, **JSON_LOGS}  # on PostgreSQL: one database for both
    a = RkServer(root, env=env)
    b = RkServer(root, env=env)  # same data dir, its own port; both log to one file
    tenant_a = Tenant.create(a)
    a.start()
    b.start()
    tenant_b = Tenant(b, tenant_a.account, tenant_a.app, tenant_a.token, tenant_a.ro_token)
    try:
        yield tenant_a, tenant_b
    finally:
        b.stop()
        a.stop()


def test_two_servers_on_one_data_dir_are_one_service(pair: tuple[Tenant, Tenant], tmp_path: Path) -> None:
    a, b = pair
    assert a.server.port != b.server.port and a.server.data_dir == b.server.data_dir
    receiver = Receiver(public_pem(a.server)).start()
    assert public_pem(b.server) == receiver.public_pem  # one signing key
    try:
        with webhook(a, receiver.url("/pair")) as hook, a.sdk() as ca, b.sdk() as cb:
            kit_a, kit_b = Kit(a, ca), Kit(b, cb)
            rec_ids = []
            for starter, other in ((kit_a, kit_b), (kit_b, kit_a)):
                meeting = starter.meeting("one service")
                rec = starter.start(meeting, video_config=SMALL)
                seen = other.get(rec.id)  # visible through the other server at once
                assert seen.id == rec.id and seen.status in ("INVOKED", "RECORDING")
                other.wait(rec.id, {"RECORDING"}, 60)
                assert other.active(meeting).id == rec.id
                time.sleep(1.5)
                assert other.act(rec.id, "stop").status == "UPLOADING"  # stopped through the other one
                final = starter.wait(rec.id, {"UPLOADED", "ERRORED"}, 120)
                assert final.status == "UPLOADED", final
                assert other.get(rec.id).download_url == final.download_url
                rec_ids.append(str(rec.id))
                for server in (a.server, b.server):  # the signed link works on either server
                    url = httpx.URL(final.download_url).copy_with(host="127.0.0.1", port=server.port)
                    got = httpx.get(url, timeout=30)
                    assert got.status_code == 200 and len(got.content) == int(final.file_size)
            listed = {}
            for name, t in (("a", a), ("b", b)):
                with t.http() as http:
                    listed[name] = http.get(f"{t.kit}/recordings", params={"per_page": 100}).json()
            assert listed["a"]["paging"] == listed["b"]["paging"]
            assert {r["id"] for r in listed["a"]["data"]} == {r["id"] for r in listed["b"]["data"]} >= set(rec_ids)
            assert_once_each(receiver, "/pair", rec_ids, a.server, hook.id)
    finally:
        receiver.stop()
    for rec_id in rec_ids:
        assert len(encoder_starts(a.server, rec_id)) == 1  # one log file holds both servers' lines
        assert len(bucket_files(a.server, a.app, rec_id)) == 2
