"""Many processes, one service, outgrowing one machine: two ``recordkit serve`` on different ports,
each with a data dir of its own (stateless processes), against one PostgreSQL database and one S3
bucket (moto), sharing only what the configuration gives them: ``RECORDKIT_DATABASE_URL``, the
``RECORDKIT_BUCKET_*`` bucket, ``RECORDKIT_SECRET_KEYS`` and the webhook signing key
(``webhooks.key``, mounted in each data dir as a Kubernetes Secret would be).

- Recordings started, paused, resumed and stopped through both servers at once (the calls through
  one server, the encoder in whichever process claimed the job): each encoder started once (the
  JSON logs carry the pid), each file stored once (the bucket is versioned: one version per
  object), each status event delivered once (``rtk-uuid``), the same answers through either server.
- Retention with both servers sweeping ten times a second: each expired file deleted once (one
  delete marker per object).
- ``kill -9`` of the server whose process holds a recording (the other one leaves it alone while
  the holder lives): the other server takes it over at once (the holder's pid is gone from this
  host) and ends it as designed for a recorder lost with its work files, ERRORED with
  ``INTERNAL_ERROR`` ("recorder lost"); the ERRORED event is sent by the survivor.
- ``kill -9`` while UPLOADING (its destination down, so the delivery waits between retries) and in
  the middle of a webhook send (the receiver holds the request): the survivor delivers the files
  (decrypting the storage secrets the dead one encrypted), sets UPLOADED, and sends the held event
  again with the same ``rtk-uuid``; nothing else is done twice.
- A holder that is alive but frozen (``SIGSTOP``, as a machine cut off from the others): its
  recording is taken over only once its 15 s lease lapsed, and when it wakes it lets it go.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet

from tests.e2e.test_e2e_storage import Forwarder
from tests.e2e.test_e2e_webhooks import FAST, Receiver, deliveries, public_pem, wait_for, webhook
from tests.e2e.test_e2e_workers import JSON_LOGS, SMALL, assert_once_each, encoder_starts, log_lines
from tests.support.recording import Kit, Tenant, encoders_writing_under
from tests.support.servers import RkServer, free_port
from tests.support.storage_servers import S3Server

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 15.0  # recordkit.jobs.supervisor.LEASE_MS: fixed, not a setting
TAKEOVER_TIMEOUT = 30.0


@dataclass
class Shared:
    """What the processes of one service share: a database, a bucket (versioned, so that every
    upload of an object is counted), the encryption key, and a destination bucket for delivery."""

    database_url: str
    s3: S3Server
    bucket: str
    destination: str
    secret_key: str

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **FAST,
            **JSON_LOGS,
            "RECORDKIT_DATABASE_URL": self.database_url,
            "RECORDKIT_SECRET_KEYS": self.secret_key,
            "RECORDKIT_BUCKET_URL": f"s3://{self.bucket}/rk",
            "RECORDKIT_BUCKET_ENDPOINT_URL": self.s3.endpoint_url,
            "RECORDKIT_BUCKET_REGION": self.s3.region,
            "RECORDKIT_BUCKET_ACCESS_KEY": self.s3.access_key,
            "RECORDKIT_BUCKET_SECRET": self.s3.secret,
            **extra,
        }

    def versions(self, bucket: str, prefix: str) -> Counter[str]:
        """How many times each object under ``prefix`` was written (versions), delete markers aside."""
        listed = self.s3.client().list_object_versions(Bucket=bucket, Prefix=prefix)
        return Counter(v["Key"] for v in listed.get("Versions", []))

    def stored(self, app_id: str, rec_id: str) -> Counter[str]:
        return self.versions(self.bucket, f"rk/{app_id}/{rec_id}/")

    def row(self, rec_id: str) -> tuple[str | None, dict[str, Any]]:
        """A recording's lease holder and its detail (``error`` and the like), read from the database."""
        with psycopg.connect(self.database_url) as conn:
            found = conn.execute("SELECT owner, detail FROM recordings WHERE id = %s", (rec_id,)).fetchone()
        assert found is not None, rec_id
        detail = json.loads(bytes(found[1])) if found[1] is not None else {}
        return found[0], detail


@dataclass
class Service:
    """Two servers of one service, neither started: a test starts them when it needs them."""

    a: Tenant
    b: Tenant
    shared: Shared

    @property
    def servers(self) -> tuple[RkServer, RkServer]:
        return self.a.server, self.b.server


def make_service(root: Path, pg_cluster: Any, s3_server: S3Server, **env: str) -> Service:
    tag = uuid.uuid4().hex[:10]
    shared = Shared(
        database_url=pg_cluster.new_database(),
        s3=s3_server,
        bucket=s3_server.create_bucket(f"rk-workers-{tag}"),
        destination=s3_server.create_bucket(f"rk-dest-{tag}"),
        secret_key=Fernet.generate_key().decode(),
    )
    client = s3_server.client()
    for bucket in (shared.bucket, shared.destination):
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    a = RkServer(root / "a", env=shared.env(**env))
    b = RkServer(root / "b", env=shared.env(**env))
    tenant = Tenant.create(a)  # `recordkit init` on the database; it makes A's webhooks.key too
    b.data_dir.mkdir(parents=True)
    shutil.copy2(a.data_dir / "webhooks.key", b.data_dir / "webhooks.key")  # one signing key, as a mounted Secret
    return Service(tenant, Tenant(b, tenant.account, tenant.app, tenant.token, tenant.ro_token), shared)


@contextlib.contextmanager
def running(service: Service) -> Iterator[Service]:
    """Stop both servers at the end, whatever happened (before the session's PostgreSQL stops)."""
    try:
        yield service
    finally:
        for srv in service.servers:
            srv.stop()


@pytest.fixture
def service(tmp_path: Path, pg_cluster: Any, s3_server: S3Server) -> Iterator[Service]:
    with running(make_service(tmp_path, pg_cluster, s3_server)) as made:
        yield made


# -- what the logs say each process did --------------------------------------------------------------


def worker_pid(srv: RkServer) -> int:
    """The pid of the server's worker process (the one that runs the jobs and writes the log lines)."""
    pids = {x["pid"] for x in log_lines(srv) if x["message"].startswith("Started worker-")}
    assert len(pids) == 1, pids
    return pids.pop()


def messages(srv: RkServer, logger: str, needle: str) -> list[dict[str, Any]]:
    return [x for x in log_lines(srv) if x.get("logger") == logger and needle in x["message"]]


def uploads(srv: RkServer, rec_id: str) -> list[int]:
    """Pids that set ``rec_id`` UPLOADED (``Delivery._finish``)."""
    return [x["pid"] for x in messages(srv, "recordkit.delivery", f"recording {rec_id}: uploaded (")]


def sends(srv: RkServer, delivery_id: str) -> list[str]:
    """The outcomes of the attempts this server made at one webhook delivery."""
    return [x["message"].rsplit(": ", 1)[1] for x in messages(srv, "recordkit.webhooks", f" delivery {delivery_id} ")]


def signed_out_of(srv: RkServer, rec_id: str) -> bool:
    """Whether ``srv`` ever reconciled ``rec_id`` (any line of the supervisor or delivery about it)."""
    return any(
        f"recording {rec_id}:" in x["message"]
        for x in log_lines(srv)
        if x.get("logger") in ("recordkit.supervisor", "recordkit.delivery")
    )


def register_webhook(tenant: Tenant, url: str) -> str:
    """A webhook for ``recording.statusUpdate`` that outlives the server it was made through
    (``test_e2e_webhooks.webhook`` deletes it through that server at the end, and it is dead then)."""
    with tenant.http() as http:
        made = http.post(
            f"{tenant.kit}/webhooks", json={"name": "e2e", "url": url, "events": ["recording.statusUpdate"]}
        )
    assert made.status_code == 201, made.text
    return str(made.json()["data"]["id"])


# -- two servers, one database, one bucket ---------------------------------------------------------


def test_two_servers_on_one_database_and_one_bucket_run_each_job_once(service: Service) -> None:
    a, b, shared = service.a, service.b, service.shared
    a.server.start()
    b.server.start()
    assert a.server.port != b.server.port and a.server.data_dir != b.server.data_dir
    receiver = Receiver(public_pem(a.server)).start()
    assert public_pem(b.server) == receiver.public_pem  # one signing key: a receiver verifies either
    try:
        with webhook(b, receiver.url("/pg")) as hook:

            def one(n: int) -> Any:
                """Started through one server, watched and stopped through the other."""
                starter, other = (a, b) if n % 2 == 0 else (b, a)
                with starter.sdk() as one_client, other.sdk() as other_client:
                    first, second = Kit(starter, one_client), Kit(other, other_client)
                    rec = first.start(first.meeting(f"pg workers {n}"), video_config=SMALL)
                    assert second.get(rec.id).id == rec.id  # visible through the other server at once
                    second.wait(rec.id, {"RECORDING"}, 60)
                    time.sleep(1.5)
                    if n < 2:  # paused through one server, resumed through the other: the holder follows
                        assert second.act(rec.id, "pause").status == "PAUSED"
                        time.sleep(0.5)
                        assert first.act(rec.id, "resume").status == "RECORDING"
                        time.sleep(1.0)
                    assert second.act(rec.id, "stop").status == "UPLOADING"
                    final = first.wait(rec.id, {"UPLOADED", "ERRORED"}, 120)
                    assert final.status == "UPLOADED", final
                    assert second.get(rec.id).download_url == final.download_url
                    return final

            with ThreadPoolExecutor(max_workers=4) as pool:
                finals = list(pool.map(one, range(4)))
            rec_ids = [str(f.id) for f in finals]
            paused = ["INVOKED", "RECORDING", "PAUSED", "RECORDING", "UPLOADING", "UPLOADED"]
            assert_once_each(receiver, "/pg", rec_ids, a.server, hook.id, dict.fromkeys(rec_ids[:2], paused))
            got = receiver.at("/pg")
    finally:
        receiver.stop()

    pids = {worker_pid(a.server): "a", worker_pid(b.server): "b"}
    by_server: Counter[str] = Counter()
    for final in finals:
        rec_id = str(final.id)
        started = encoder_starts(a.server, rec_id) + encoder_starts(b.server, rec_id)
        assert len(started) == 1, f"{rec_id}: encoder started by {started}"
        by_server[pids[started[0]]] += 1
        finished = uploads(a.server, rec_id) + uploads(b.server, rec_id)
        assert finished == started, f"{rec_id}: set UPLOADED by {finished}, recorded by {started}"
        stored = shared.stored(a.app, rec_id)
        assert stored == Counter({f"rk/{a.app}/{rec_id}/{rec_id}.mp4": 1, f"rk/{a.app}/{rec_id}/{rec_id}_audio.m4a": 1})
        with shared.s3.auth_off():  # moto answers presigned GETs only without IAM enforcement
            fetched = httpx.get(final.download_url, timeout=30)
        assert fetched.status_code == 200 and len(fetched.content) == int(final.file_size)
        assert fetched.content == shared.s3.get_bytes(shared.bucket, f"rk/{a.app}/{rec_id}/{rec_id}.mp4")
    print(f"\nencoders started per server: {dict(by_server)}")
    assert set(by_server) == {"a", "b"}, f"one server did all the work: {dict(by_server)}"
    for r in got:  # each event sent once, by one of the two
        attempts = sends(a.server, r.uuid) + sends(b.server, r.uuid)
        assert attempts == ["delivered"], (r.uuid, attempts)
    listed = {}
    for name, t in (("a", a), ("b", b)):
        with t.http() as http:
            listed[name] = http.get(f"{t.kit}/recordings", params={"per_page": 100}).json()
    assert listed["a"] == listed["b"] and listed["a"]["paging"]["total_count"] == 4
    for srv in service.servers:
        assert not srv.work_dir.exists() or list(srv.work_dir.iterdir()) == []  # work files cleaned up


# -- kill -9 of the process that holds a job ----------------------------------------------------------


def test_kill_9_of_the_recorder_holder_and_the_other_server_ends_it(service: Service) -> None:
    a, b, shared = service.a, service.b, service.shared
    a.server.start()  # alone at first: the recording's job is A's
    receiver = Receiver(public_pem(a.server)).start()
    try:
        hook = register_webhook(a, receiver.url("/lost"))
        with a.sdk() as client:
            kit = Kit(a, client)
            rec = kit.start(kit.meeting("kill -9 while recording"), video_config=SMALL)
            kit.wait(rec.id, {"RECORDING"}, 30)
            holder = worker_pid(a.server)
            assert encoder_starts(a.server, rec.id) == [holder]
            wait_for(  # nothing in flight when A dies: INVOKED and RECORDING were delivered, by A
                lambda: [d["status"] for d in deliveries(a.server, "--webhook", hook)] == ["delivered"] * 2,
                15,
                lambda: f"{deliveries(a.server, '--webhook', hook)}",
            )
            b.server.start()
            time.sleep(1.5)  # three of B's ticks: A's lease is live and A too, so B leaves the job alone
            owner, _ = shared.row(rec.id)
            assert owner is not None and owner.endswith(f":{holder}"), owner
            assert not signed_out_of(b.server, rec.id)
            assert list(a.server.work_dir.glob(f"{rec.id}/segment-*.mkv"))  # A's work files: A's alone

            a.server.kill9()
            killed = time.monotonic()
            with b.sdk() as b_client:
                final = Kit(b, b_client).wait(rec.id, {"UPLOADED", "ERRORED"}, TAKEOVER_TIMEOUT)
            took = time.monotonic() - killed
            # The designed recovery of a recorder lost with its work files (docs/deployment.md): ERRORED.
            assert final.status == "ERRORED", final
            assert final.stop_reason is not None and final.stop_reason.reason == "INTERNAL_ERROR"
            assert final.download_url is None and final.stopped_time is not None
            assert took < LEASE_SECONDS, f"taken over after {took:.1f} s: the holder's pid was gone at once"
            owner, detail = shared.row(rec.id)
            assert detail.get("error") == "recorder lost"
            assert owner is not None and owner.endswith(f":{worker_pid(b.server)}"), owner
            lost = messages(b.server, "recordkit.supervisor", f"recording {rec.id}: recorder lost")
            assert [x["pid"] for x in lost] == [worker_pid(b.server)]
            assert encoder_starts(b.server, rec.id) == []  # the survivor never records it again

            expected = ["INVOKED", "RECORDING", "ERRORED"]
            wait_for(
                lambda: len(receiver.at("/lost")) >= len(expected),
                15,
                lambda: f"{[r.status for r in receiver.at('/lost')]}",
            )
            time.sleep(1.0)  # a duplicate would come now
            got = receiver.at("/lost")
            assert [r.status for r in got] == expected and all(r.verified for r in got)
            assert len({r.uuid for r in got}) == len(expected)
            assert sends(b.server, got[-1].uuid) == ["delivered"] and sends(a.server, got[-1].uuid) == []
            wait_for(
                lambda: {d["status"] for d in deliveries(b.server, "--webhook", hook)} == {"delivered"},
                10,
                lambda: f"{deliveries(b.server, '--webhook', hook)}",
            )
            assert {d["attempts"] for d in deliveries(b.server, "--webhook", hook)} == {1}
    finally:
        receiver.stop()


def test_kill_9_while_uploading_and_mid_webhook_send_and_the_other_server_finishes(
    tmp_path: Path, pg_cluster: Any, s3_server: S3Server
) -> None:
    down = free_port()  # the destination's endpoint: nothing listens there until A is dead
    env = {
        "RECORDKIT_AWS_ENDPOINT_URL": f"http://127.0.0.1:{down}",
        "RECORDKIT_UPLOAD_ATTEMPTS": "30",
        "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": "0.3",
        "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS": "0.6",
        "RECORDKIT_WEBHOOK_TIMEOUT_SECONDS": "30",  # the held send outlasts the test's waits
    }
    forwarder = Forwarder(down, ("127.0.0.1", int(s3_server.endpoint_url.rsplit(":", 1)[1])))
    with running(make_service(tmp_path, pg_cluster, s3_server, **env)) as service:
        a, b, shared = service.a, service.b, service.shared
        a.server.start()
        # INVOKED and RECORDING answered; the UPLOADING event is held, unanswered, while A dies.
        receiver = Receiver(public_pem(a.server), script=lambda n, path: "hang" if n == 2 else 200).start()
        storage = {
            "type": "aws",
            "bucket": shared.destination,
            "region": s3_server.region,
            "access_key": s3_server.access_key,
            "secret": s3_server.secret,
            "path": "delivered",
        }
        try:
            hook = register_webhook(a, receiver.url("/up"))
            with a.sdk() as client:
                kit = Kit(a, client)
                rec = kit.start(kit.meeting("kill -9 while uploading"), video_config=SMALL, storage_config=storage)
                kit.wait(rec.id, {"RECORDING"}, 30)
                time.sleep(1.5)
                assert kit.act(rec.id, "stop").status == "UPLOADING"
                failing = f"recording {rec.id}: delivery attempt "
                wait_for(
                    lambda: len(messages(a.server, "recordkit.delivery", failing)) >= 2,
                    30,
                    lambda: a.server.log()[-3000:],
                )
                wait_for(lambda: len(receiver.at("/up")) >= 3, 15, lambda: f"{receiver.at('/up')}")
                held = receiver.at("/up")[2]
                assert (held.answer, held.status) == ("hang", "UPLOADING")
                assert sum(shared.stored(a.app, rec.id).values()) == 2  # stored in the bucket, not delivered

                b.server.start()
                time.sleep(1.5)  # A lives and holds both the recording and the delivery: B waits
                assert not signed_out_of(b.server, rec.id) and sends(b.server, held.uuid) == []
                assert len(receiver.at("/up")) == 3
                a.server.kill9()
                forwarder.start()  # the destination is back

                with b.sdk() as b_client:
                    final = Kit(b, b_client).wait(rec.id, {"UPLOADED", "ERRORED"}, TAKEOVER_TIMEOUT)
                assert final.status == "UPLOADED", (final, b.server.log()[-3000:])
                assert final.stop_reason is not None and final.stop_reason.reason == "API_CALL"
                wait_for(
                    lambda: (
                        {d["status"] for d in deliveries(b.server, "--webhook", hook)} == {"delivered"}
                        and len(receiver.at("/up")) >= 5
                    ),
                    20,
                    lambda: f"{[(r.status, r.uuid[:8]) for r in receiver.at('/up')]}",
                )
                time.sleep(1.0)  # a duplicate would come now
                got = receiver.at("/up")
        finally:
            receiver.stop()
            forwarder.stop()

        # The held event was sent again by B, the same bytes under the same rtk-uuid (at least once);
        # every other event once.
        assert [r.status for r in got] == ["INVOKED", "RECORDING", "UPLOADING", "UPLOADING", "UPLOADED"]
        assert all(r.verified for r in got)
        assert (got[3].uuid, got[3].body) == (held.uuid, held.body)
        assert len({r.uuid for r in got}) == 4
        assert sends(a.server, held.uuid) == [] and sends(b.server, held.uuid) == ["delivered"]
        assert sends(b.server, got[4].uuid) == ["delivered"] and sends(a.server, got[4].uuid) == []
        log = {d["id"]: d for d in deliveries(b.server, "--webhook", hook)}
        assert log[held.uuid]["attempts"] == 1  # A's attempt died with it: never recorded

        # Recorded once (by A), stored once (by A), delivered once and set UPLOADED once (by B).
        assert encoder_starts(a.server, rec.id) == [worker_pid(a.server)]
        assert encoder_starts(b.server, rec.id) == []
        assert uploads(a.server, rec.id) == [] and uploads(b.server, rec.id) == [worker_pid(b.server)]
        name = final.output_file_name
        stem = name.rsplit(".", 1)[0]
        assert shared.stored(a.app, rec.id) == Counter(
            {f"rk/{a.app}/{rec.id}/{name}": 1, f"rk/{a.app}/{rec.id}/{stem}_audio.m4a": 1}
        )
        assert shared.versions(shared.destination, "delivered/") == Counter(
            {f"delivered/{name}": 1, f"delivered/{stem}_audio.m4a": 1}
        )
        assert shared.s3.get_bytes(shared.destination, f"delivered/{name}") == shared.s3.get_bytes(
            shared.bucket, f"rk/{a.app}/{rec.id}/{name}"
        )
        assert messages(b.server, "recordkit.delivery", f"recording {rec.id}: {name} delivered to ")


def test_a_frozen_holder_keeps_its_job_until_the_lease_lapses_then_lets_it_go(service: Service) -> None:
    a, b, shared = service.a, service.b, service.shared
    a.server.start()
    with a.sdk() as client:
        kit = Kit(a, client)
        rec = kit.start(kit.meeting("frozen holder"), video_config=SMALL)
        kit.wait(rec.id, {"RECORDING"}, 30)
    holder = worker_pid(a.server)
    assert encoder_starts(a.server, rec.id) == [holder]
    b.server.start()
    assert a.server.proc is not None
    freeze(a.server, shared.database_url)  # alive, but neither renewing its lease nor answering
    frozen = time.monotonic()
    try:
        with b.sdk() as b_client:
            final = Kit(b, b_client).wait(rec.id, {"UPLOADED", "ERRORED"}, LEASE_SECONDS + TAKEOVER_TIMEOUT)
        took = time.monotonic() - frozen
        assert took >= LEASE_SECONDS - 1.0, f"taken from a live holder after {took:.1f} s, within its lease"
        assert final.status == "ERRORED" and final.stop_reason.reason == "INTERNAL_ERROR", final
        assert shared.row(rec.id)[1].get("error") == "recorder lost"
    finally:
        os.killpg(a.server.proc.pid, signal.SIGCONT)
    # A wakes up: the recording is no longer its own, so it stops its encoder and leaves it alone.
    wait_for(lambda: not _encoding(a.server, rec.id), 15, lambda: a.server.log()[-2000:])
    time.sleep(1.0)
    with b.sdk() as b_client:
        assert Kit(b, b_client).get(rec.id).status == "ERRORED"
    assert encoder_starts(a.server, rec.id) == [holder] and encoder_starts(b.server, rec.id) == []
    assert shared.row(rec.id)[0] is not None and shared.row(rec.id)[0].endswith(f":{worker_pid(b.server)}")


def freeze(srv: RkServer, database_url: str) -> None:
    """``SIGSTOP`` the server's processes at a moment when none of them is inside a transaction.

    One frozen inside a transaction keeps its row locks: the other server's claim skips those rows
    (``FOR UPDATE SKIP LOCKED``) until PostgreSQL drops the frozen connection, whatever the lease
    says. That is PostgreSQL's to bound (``idle_in_transaction_session_timeout``, TCP keepalives),
    not what this test is about, so it freezes again until no session is idle in a transaction."""
    assert srv.proc is not None
    for _ in range(20):
        os.killpg(srv.proc.pid, signal.SIGSTOP)
        time.sleep(0.1)  # a statement already sent completes meanwhile
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            ).fetchone()
        if row is not None and row[0] == 0:
            return
        os.killpg(srv.proc.pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("the server never stood outside a transaction")


def _encoding(srv: RkServer, rec_id: str) -> bool:
    """Whether an ffmpeg process still writes ``rec_id``'s segments in ``srv``'s work dir."""
    return bool(encoders_writing_under(srv.work_dir / rec_id))


# -- retention: every process sweeps, each file is deleted once ----------------------------------------


def test_retention_on_two_servers_deletes_each_expired_file_once(
    tmp_path: Path, pg_cluster: Any, s3_server: S3Server
) -> None:
    env = {"RECORDKIT_DOWNLOAD_TTL_SECONDS": "2", "RECORDKIT_RETENTION_INTERVAL_SECONDS": "0.1"}
    with running(make_service(tmp_path, pg_cluster, s3_server, **env)) as service:
        a, b, shared = service.a, service.b, service.shared
        a.server.start()
        b.server.start()

        def one(n: int) -> str:
            tenant = (a, b)[n % 2]
            with tenant.sdk() as client:
                kit = Kit(tenant, client)
                rec = kit.start(kit.meeting(f"retention {n}"), video_config=SMALL)
                kit.wait(rec.id, {"RECORDING"}, 30)
                time.sleep(1.5)
                kit.act(rec.id, "stop")
                assert kit.wait(rec.id, {"UPLOADED", "ERRORED"}, 60).status == "UPLOADED"
                return str(rec.id)

        with ThreadPoolExecutor(max_workers=4) as pool:
            rec_ids = list(pool.map(one, range(4)))

        def deleted() -> Counter[str]:
            listed = shared.s3.client().list_object_versions(Bucket=shared.bucket, Prefix="rk/")
            return Counter(m["Key"] for m in listed.get("DeleteMarkers", []))

        wait_for(lambda: len(deleted()) == 2 * len(rec_ids), 30, lambda: f"{deleted()}")
        time.sleep(1.0)  # both servers sweep ten times a second: a second delete would come now
        assert set(deleted().values()) == {1}, f"deleted twice: {[k for k, n in deleted().items() if n > 1]}"
        for rec_id in rec_ids:
            assert sum(shared.stored(a.app, rec_id).values()) == 2  # each stored once, then deleted once
        with b.http() as http:
            expired = http.get(f"{b.kit}/recordings", params={"expired": "true", "per_page": 100}).json()
        assert {r["id"] for r in expired["data"]} == set(rec_ids)  # the rows stay
