"""Recordings delivered to users' own storage (SPEC §6, issue 4), against real servers on loopback.

A live ``recordkit serve`` records real files and delivers them to moto's S3 (as ``aws`` and as
``digitalocean``), Azurite (``azure``), gcp-storage-emulator (``gcs``) and an asyncssh SFTP server
(``sftp``, key and password logins), all started by the session fixtures of tests/conftest.py.
The recordings run at once in one module fixture (real-time encoding is the slow part):

- one per destination type: UPLOADED, and the destination holds byte-identical files under
  ``path`` + ``file_name_prefix``;
- ``realtimekit_bucket_config.enabled=false``: no links, the file only at the destination;
- an SFTP destination that is down at first (nothing listens on its port) and comes back while
  the delivery is being retried (a forwarder to the SFTP server starts on that port);
- one that stays down: retried, then ERRORED with the reason, the bucket copy kept; then
  ``recordkit recordings retry-upload`` once it is back: UPLOADED and delivered.

A second server keeps the RecordKit bucket itself on S3 (presigned links, retention deletes
there) and checks preflight. Secrets must appear in no response, log line or stored byte of the
database. Both servers run on the module's store (``store_kind`` and ``databases``,
tests/conftest.py): every test runs on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.media import ffprobe, streams
from tests.support.recording import Kit, Tenant
from tests.support.servers import RkServer, clean_env, cli_command, free_port
from tests.support.storage_servers import AzuriteServer, GcsServer, S3Server, SftpServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

SMALL = {"width": 160, "height": 120}
RECORDING_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 60.0
RETRY_ENV = {
    "RECORDKIT_UPLOAD_ATTEMPTS": "4",
    "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": "0.5",
    "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS": "2",
}


# -- a TCP forwarder: a destination that is down, then back -------------------------------------


class Forwarder:
    """Listens on ``port`` (once started) and pipes each connection to ``target``."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self._sock: socket.socket | None = None

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self._sock = sock
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()


# -- the world: storage servers, their buckets, the RecordKit server ----------------------------


@dataclass
class Stores:
    s3: S3Server
    azurite: AzuriteServer | None
    gcs: GcsServer
    sftp: SftpServer
    aws_bucket: str = ""
    do_bucket: str = ""
    off_bucket: str = ""
    container: str = ""
    gcs_bucket: str = ""
    forwarders: list[Forwarder] = field(default_factory=list)

    def secrets(self) -> list[str]:
        """Every credential the tests hand to RecordKit (and lines of the multi-line ones)."""
        values = [self.s3.secret, self.s3.access_key, self.sftp.password, self.gcs.service_account["private_key"]]
        values += [key.private_openssh for key in self.sftp.keys.values()]
        if self.azurite is not None:
            values += [self.azurite.account_key, self.azurite.account]  # the account name is access_key
        out = []
        for value in values:
            out.append(value)
            out += [line for line in value.splitlines() if len(line) > 20 and "-----" not in line]
        return out


@pytest.fixture(scope="module")
def stores(
    request: pytest.FixtureRequest, s3_server: S3Server, gcs_server: GcsServer, sftp_server: SftpServer
) -> Iterator[Stores]:
    azurite: AzuriteServer = request.getfixturevalue("azurite_server")
    tag = uuid.uuid4().hex[:10]
    out = Stores(s3_server, azurite, gcs_server, sftp_server)
    out.aws_bucket = s3_server.create_bucket(f"rk-aws-{tag}")
    out.do_bucket = s3_server.create_bucket(f"rk-do-{tag}")
    out.off_bucket = s3_server.create_bucket(f"rk-off-{tag}")
    out.gcs_bucket = gcs_server.create_bucket(f"rk-gcs-{tag}")
    if azurite is not None:
        out.container = azurite.create_container(f"rk-az-{tag}")
    yield out
    for forwarder in out.forwarders:
        forwarder.stop()


@pytest.fixture(scope="module")
def server(
    stores: Stores, tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> Iterator[tuple[RkServer, Tenant]]:
    env = {
        **databases(),
        "RECORDKIT_AWS_ENDPOINT_URL": stores.s3.endpoint_url,
        "RECORDKIT_DIGITALOCEAN_ENDPOINT_URL": stores.s3.endpoint_url,
        "RECORDKIT_GCS_ENDPOINT_URL": stores.gcs.endpoint_url,
        **RETRY_ENV,
    }
    if stores.azurite is not None:
        env["RECORDKIT_AZURE_ENDPOINT_URL"] = stores.azurite.endpoint_template
    srv = RkServer(tmp_path_factory.mktemp("rec-storage"), env=env)
    tenant = Tenant.create(srv)
    srv.start()
    try:
        yield srv, tenant
    finally:
        srv.stop()


def storage_configs(stores: Stores) -> dict[str, dict[str, Any]]:
    s3, sftp = stores.s3, stores.sftp
    aws = {"access_key": s3.access_key, "secret": s3.secret}
    configs: dict[str, dict[str, Any]] = {
        "aws": {"type": "aws", "bucket": stores.aws_bucket, "region": s3.region, "path": "rec/aws", **aws},
        "digitalocean": {"type": "digitalocean", "bucket": stores.do_bucket, "region": "nyc3", "path": "do", **aws},
        "gcs": {"type": "gcs", "bucket": stores.gcs_bucket, "secret": stores.gcs.secret, "path": "g/c/s"},
        "sftp": {
            "type": "sftp",
            "host": sftp.host,
            "port": sftp.port,
            "username": sftp.key_user,
            "auth_method": "KEY",
            "private_key": sftp.keys["ed25519"].private_openssh,
            "path": "/uploads/key",
        },
    }
    if stores.azurite is not None:
        configs["azure"] = {
            "type": "azure",
            "bucket": stores.container,
            "access_key": stores.azurite.account,
            "secret": stores.azurite.account_key,
            "path": "az",
        }
    return configs


def sftp_password_config(stores: Stores, port: int, path: str) -> dict[str, Any]:
    sftp = stores.sftp
    return {
        "type": "sftp",
        "host": sftp.host,
        "port": port,
        "username": sftp.password_user,
        "auth_method": "PASSWORD",
        "password": sftp.password,
        "path": path,
    }


def read_back(stores: Stores, config: dict[str, Any], key: str) -> bytes:
    """The object ``key`` (as the destination named it) read straight from its server."""
    kind = config["type"]
    if kind in ("aws", "digitalocean"):
        return stores.s3.get_bytes(config["bucket"], key)
    if kind == "azure":
        assert stores.azurite is not None
        return stores.azurite.get_bytes(config["bucket"], key)
    if kind == "gcs":
        return stores.gcs.get_bytes(config["bucket"], key)
    return stores.sftp.read(key)


# -- the recordings, all at once -----------------------------------------------------------------


@dataclass
class Run:
    config: dict[str, Any]
    prefix: str
    final: Any = None
    rec_id: str = ""
    saw_retry: bool = False


def record(kit: Kit, title: str, seconds: float = 2.0, **body: Any) -> str:
    meeting = kit.meeting(title)
    rec = kit.start(meeting, video_config=SMALL, audio_config={"channel": "mono"}, **body)
    kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
    time.sleep(seconds)
    kit.act(rec.id, "stop")
    return str(rec.id)


def delivered_flow(kit: Kit, name: str, config: dict[str, Any], **extra: Any) -> Run:
    run = Run(config, prefix=f"rk_{name.replace('-', '_')}")
    run.rec_id = record(kit, name, file_name_prefix=run.prefix, storage_config=config, **extra)
    run.final = kit.wait(run.rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    return run


def down_then_back_flow(kit: Kit, srv: RkServer, stores: Stores) -> Run:
    """The SFTP destination's port has no listener until the first delivery attempt failed."""
    forwarder = Forwarder(free_port(), (stores.sftp.host, stores.sftp.port))
    stores.forwarders.append(forwarder)
    run = Run(sftp_password_config(stores, forwarder.port, "/uploads/comes-back"), prefix="rk_back")
    run.rec_id = record(kit, "comes back", file_name_prefix=run.prefix, storage_config=run.config)
    deadline = time.monotonic() + UPLOAD_TIMEOUT
    while f"recording {run.rec_id}: delivery attempt 1 of 4 failed" not in srv.log():
        assert time.monotonic() < deadline, srv.log()[-3000:]
        time.sleep(0.05)
    run.saw_retry = True
    forwarder.start()
    run.final = kit.wait(run.rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    return run


def stays_down_flow(kit: Kit, stores: Stores) -> Run:
    run = Run(sftp_password_config(stores, free_port(), "/uploads/retried"), prefix="rk_down")
    run.rec_id = record(kit, "stays down", file_name_prefix=run.prefix, storage_config=run.config)
    run.final = kit.wait(run.rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    return run


def nowhere_flow(kit: Kit) -> Run:
    """Neither the bucket nor a storage_config: accepted, recorded, then ERRORED "no destination"."""
    run = Run({}, prefix="rk_nowhere")
    run.rec_id = record(kit, "nowhere", realtimekit_bucket_config={"enabled": False})
    run.final = kit.wait(run.rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    return run


@pytest.fixture(scope="module")
def runs(server: tuple[RkServer, Tenant], stores: Stores) -> Iterator[dict[str, Run | BaseException]]:
    srv, tenant = server
    with tenant.sdk() as client:
        kit = Kit(tenant, client)
        jobs: dict[str, Callable[[], Run]] = {
            name: partial(delivered_flow, kit, name, config) for name, config in storage_configs(stores).items()
        }
        off = storage_configs(stores)["aws"] | {"bucket": stores.off_bucket, "path": "only/here"}
        jobs["bucket-off"] = partial(
            delivered_flow, kit, "bucket-off", off, realtimekit_bucket_config={"enabled": False}
        )
        jobs["comes-back"] = partial(down_then_back_flow, kit, srv, stores)
        jobs["stays-down"] = partial(stays_down_flow, kit, stores)
        jobs["nowhere"] = partial(nowhere_flow, kit)
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            out: dict[str, Run | BaseException] = {}
            for name, future in futures.items():
                try:
                    out[name] = future.result(timeout=240)
                except BaseException as exc:
                    out[name] = exc
        yield out


def run_of(runs: dict[str, Run | BaseException], name: str) -> Run:
    result = runs[name]
    if isinstance(result, BaseException):
        raise result
    return result


def expected_names(run: Run) -> tuple[str, str]:
    return f"{run.prefix}_{run.rec_id}.mp4", f"{run.prefix}_{run.rec_id}_audio.m4a"


def object_key(config: dict[str, Any], name: str) -> str:
    path = config.get("path") or ""
    if config["type"] == "sftp":
        return f"{path.rstrip('/')}/{name}"
    return f"{path.strip('/')}/{name}"


@pytest.mark.parametrize("kind", ["aws", "digitalocean", "azure", "gcs", "sftp"])
def test_each_destination_gets_byte_identical_files(
    runs: dict[str, Run | BaseException], stores: Stores, server: tuple[RkServer, Tenant], kind: str
) -> None:
    run = run_of(runs, kind)
    final = run.final
    assert final.status == "UPLOADED", server[0].log()[-3000:]
    video_name, audio_name = expected_names(run)
    assert final.output_file_name == video_name
    video = httpx.get(final.download_url, timeout=30)
    audio = httpx.get(final.audio_download_url, timeout=30)
    assert video.status_code == audio.status_code == 200
    assert len(video.content) == final.file_size
    assert read_back(stores, run.config, object_key(run.config, video_name)) == video.content
    assert read_back(stores, run.config, object_key(run.config, audio_name)) == audio.content
    # The stored storage_config is the public part only.
    assert final.storage_config.type == kind


def test_bucket_disabled_sets_no_links_and_keeps_the_file_only_at_the_destination(
    runs: dict[str, Run | BaseException], stores: Stores, server: tuple[RkServer, Tenant], tmp_path: Path
) -> None:
    srv, tenant = server
    run = run_of(runs, "bucket-off")
    final = run.final
    assert final.status == "UPLOADED", srv.log()[-3000:]
    assert (final.download_url, final.audio_download_url, final.download_url_expiry) == (None, None, None)
    video_name, audio_name = expected_names(run)
    assert stores.s3.keys(stores.off_bucket) == [f"only/here/{video_name}", f"only/here/{audio_name}"]
    target = tmp_path / video_name
    target.write_bytes(stores.s3.get_bytes(stores.off_bucket, f"only/here/{video_name}"))
    assert target.stat().st_size == final.file_size and final.recording_duration >= 1
    assert streams(ffprobe(target), "video")
    bucket = srv.data_dir / "bucket" / tenant.app / run.rec_id
    assert not bucket.exists() or not any(bucket.iterdir()), "the bucket copy is deleted once delivered"


def test_a_destination_down_at_first_gets_the_file_after_retries(
    runs: dict[str, Run | BaseException], stores: Stores, server: tuple[RkServer, Tenant]
) -> None:
    run = run_of(runs, "comes-back")
    assert run.saw_retry
    assert run.final.status == "UPLOADED", server[0].log()[-3000:]
    video_name, _ = expected_names(run)
    video = httpx.get(run.final.download_url, timeout=30)
    assert stores.sftp.read(f"/uploads/comes-back/{video_name}") == video.content


def cli(srv: RkServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args],
        capture_output=True,
        text=True,
        env={**clean_env(), **srv.env},
        timeout=120,
        check=False,
    )


def test_a_destination_that_stays_down_ends_errored_then_retry_upload_delivers(
    runs: dict[str, Run | BaseException], stores: Stores, server: tuple[RkServer, Tenant]
) -> None:
    srv, tenant = server
    run = run_of(runs, "stays-down")
    assert run.final.status == "ERRORED"
    assert run.final.download_url is None and run.final.download_url_expiry is None
    log = srv.log()
    assert log.count(f"recording {run.rec_id}: delivery attempt") == 3  # attempts 1-3 of 4 failed, then gave up
    reason = db_recording(srv, run.rec_id).error
    assert reason.startswith(f"SFTP {stores.sftp.password_user}@127.0.0.1:"), reason
    assert "ConnectionRefusedError" in reason and "gave up after 4 attempts" in reason
    # The reason is shown where a user looks: the API's recording and `recordkit recordings get`.
    api = httpx.get(
        f"{srv.base_url}/accounts/{tenant.account}/realtime/kit/{tenant.app}/recordings/{run.rec_id}",
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=30,
    )
    assert api.status_code == 200 and api.json()["data"]["error"] == reason, api.text
    remote = ("--url", srv.origin, "--token", tenant.token, "--account", tenant.account, "--app", tenant.app)
    shown = cli(srv, "recordings", "get", run.rec_id, *remote, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["error"] == reason, shown.stderr
    table = subprocess.run(
        [*cli_command(), "recordings", "get", run.rec_id, *remote],
        capture_output=True,
        text=True,
        env={**clean_env(), **srv.env, "COLUMNS": "400"},
        timeout=120,
        check=False,
    )
    assert table.returncode == 0 and f"error {reason}" in " ".join(table.stdout.split()), table.stdout
    video_name, audio_name = expected_names(run)
    kept = srv.data_dir / "bucket" / tenant.app / run.rec_id
    assert sorted(p.name for p in kept.iterdir()) == sorted([video_name, audio_name]), "the bucket copy is kept"

    # While the destination is still down, retry-upload tries (with backoff) and reports ERRORED.
    again = cli(srv, "recordings", "retry-upload", run.rec_id, "--data-dir", str(srv.data_dir), "--json")
    assert again.returncode == 1, again.stderr
    assert json.loads(again.stdout)["status"] == "ERRORED"
    assert "trying again in" not in again.stdout and again.stderr.count("trying again in") == 0  # --json: quiet

    forwarder = Forwarder(run.config["port"], (stores.sftp.host, stores.sftp.port))
    stores.forwarders.append(forwarder)
    forwarder.start()
    done = cli(
        srv, "recordings", "retry-upload", run.rec_id, "--data-dir", str(srv.data_dir), "--public-url", srv.origin
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{run.rec_id}: UPLOADED")
    assert f"delivered: /uploads/retried/{video_name}" in done.stdout
    with tenant.sdk() as client:
        final = Kit(tenant, client).get(run.rec_id)
    assert final.status == "UPLOADED" and final.output_file_name == video_name
    video = httpx.get(final.download_url, timeout=30)
    assert video.status_code == 200 and video.content == (kept / video_name).read_bytes()
    assert stores.sftp.read(f"/uploads/retried/{video_name}") == video.content
    assert stores.sftp.read(f"/uploads/retried/{audio_name}") == (kept / audio_name).read_bytes()

    # Nothing to retry: a clear error.
    refused = cli(srv, "recordings", "retry-upload", run.rec_id, "--data-dir", str(srv.data_dir))
    assert refused.returncode != 0 and "only an ERRORED recording can be retried" in refused.stderr


def test_neither_bucket_nor_destination_ends_errored_no_destination(
    runs: dict[str, Run | BaseException], server: tuple[RkServer, Tenant]
) -> None:
    run = run_of(runs, "nowhere")
    assert run.final.status == "ERRORED", server[0].log()[-3000:]
    assert run.final.download_url is None
    assert "no destination" in (db_recording(server[0], run.rec_id).error or "")


def db_recording(srv: RkServer, rec_id: str) -> Any:
    from recordkit.settings import Settings
    from recordkit.store.factory import open_store

    store = open_store(Settings(data_dir=srv.data_dir, database_url=srv.env.get("RECORDKIT_DATABASE_URL")))
    try:
        return store.recording_by_id(rec_id)
    finally:
        store.close()


def test_a_start_that_lacks_a_field_is_a_400_naming_it(server: tuple[RkServer, Tenant], stores: Stores) -> None:
    _, tenant = server
    with tenant.http() as http, tenant.sdk() as client:
        meeting = Kit(tenant, client).meeting("bad storage")
        cases = [
            ({"type": "aws", "bucket": stores.aws_bucket}, "storage_config.region is required for type aws"),
            ({"type": "sftp", "host": "h", "username": "u"}, "storage_config.auth_method is required"),
            ({"type": "gcs", "bucket": "bkt", "secret": "{}"}, "storage_config.secret: must be a service-account key"),
        ]
        for storage, message in cases:
            resp = http.post(f"{tenant.kit}/recordings", json={"meeting_id": meeting, "storage_config": storage})
            assert resp.status_code == 400, resp.text
            assert resp.json() == {"success": False, "error": {"code": 400, "message": resp.json()["error"]["message"]}}
            assert resp.json()["error"]["message"].startswith(message), resp.text
        bad_meeting = http.post(
            f"{tenant.kit}/meetings", json={"recording_config": {"storage_config": {"type": "azure", "bucket": "c"}}}
        )
        assert bad_meeting.status_code == 400
        assert bad_meeting.json()["error"]["message"].startswith("recording_config.storage_config.")
        assert http.get(f"{tenant.kit}/recordings", params={"meeting_id": meeting}).json()["paging"]["total_count"] == 0


def test_secrets_appear_in_no_response_log_or_database(
    runs: dict[str, Run | BaseException], server: tuple[RkServer, Tenant], stores: Stores
) -> None:
    srv, tenant = server
    answers: list[str] = []
    with tenant.http() as http:
        for result in runs.values():
            if isinstance(result, Run):
                answers.append(http.get(f"{tenant.kit}/recordings/{result.rec_id}").text)
        answers.append(http.get(f"{tenant.kit}/recordings", params={"per_page": 100}).text)
        answers.append(http.get(f"{tenant.kit}/meetings", params={"per_page": 100}).text)
    assert sum('"storage_config":{' in a for a in answers) >= 5
    stored = stored_bytes(srv)
    ids = [result.rec_id for result in runs.values() if isinstance(result, Run)]
    assert ids and all(rec_id.encode() in stored for rec_id in ids), "the check reads the recordings' rows"
    log = srv.log()
    for secret in stores.secrets():
        for text in answers:
            assert secret not in text
        assert secret not in log
        assert secret.encode() not in stored


def stored_bytes(srv: RkServer) -> bytes:
    """Everything the server's store holds. SQLite: the database files themselves (main, WAL,
    journal: free pages included). PostgreSQL: every column of every row of every table in the
    database's schema, as stored (``bytea`` raw, anything else as its text form)."""
    url = srv.env.get("RECORDKIT_DATABASE_URL")
    if not url:
        return b"".join(p.read_bytes() for p in srv.data_dir.glob("recordkit.sqlite3*"))
    import psycopg
    from psycopg import sql

    out: list[bytes] = []
    with psycopg.connect(url) as conn:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in conn.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "ORDER BY c.table_name, c.ordinal_position"
        ):
            columns.setdefault(table, []).append((column, data_type))
        assert "recordings" in columns and "meetings" in columns, sorted(columns)
        for table, cols in columns.items():
            fields = [
                sql.Identifier(name) if data_type == "bytea" else sql.SQL("{}::text").format(sql.Identifier(name))
                for name, data_type in cols
            ]
            query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(fields), sql.Identifier(table))
            for row in conn.execute(query):
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        out.append(bytes(value))
                    elif value is not None:
                        out.append(str(value).encode())
    return b"\n".join(out)


# -- the RecordKit bucket on S3, and preflight --------------------------------------------------


@pytest.fixture(scope="module")
def s3_bucket_server(
    stores: Stores, tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> Iterator[tuple[RkServer, Tenant, str]]:
    bucket = stores.s3.create_bucket(f"rk-own-{uuid.uuid4().hex[:10]}")
    env = {
        **databases(),
        "RECORDKIT_BUCKET_URL": f"s3://{bucket}/rk-data",
        "RECORDKIT_BUCKET_ENDPOINT_URL": stores.s3.endpoint_url,
        "RECORDKIT_BUCKET_REGION": stores.s3.region,
        "RECORDKIT_BUCKET_ACCESS_KEY": stores.s3.access_key,
        "RECORDKIT_BUCKET_SECRET": stores.s3.secret,
        "RECORDKIT_AWS_ENDPOINT_URL": stores.s3.endpoint_url,
        "RECORDKIT_DOWNLOAD_TTL_SECONDS": "4",
        "RECORDKIT_RETENTION_INTERVAL_SECONDS": "0.5",
        "RECORDKIT_STORAGE_PREFLIGHT": "1",
    }
    srv = RkServer(tmp_path_factory.mktemp("rec-s3-bucket"), env=env)
    tenant = Tenant.create(srv)
    srv.start()
    try:
        yield srv, tenant, bucket
    finally:
        srv.stop()


def test_the_bucket_on_s3_gives_presigned_links_and_retention_deletes_there(
    s3_bucket_server: tuple[RkServer, Tenant, str], stores: Stores
) -> None:
    srv, tenant, bucket = s3_bucket_server
    with tenant.sdk() as client:
        kit = Kit(tenant, client)
        rec_id = record(kit, "own bucket on S3", seconds=1.5)
        final = kit.wait(rec_id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    assert final.status == "UPLOADED", srv.log()[-3000:]
    key = f"rk-data/{tenant.app}/{rec_id}/{final.output_file_name}"
    url = urlsplit(final.download_url)
    assert f"{url.scheme}://{url.netloc}" == stores.s3.endpoint_url and url.path == f"/{bucket}/{key}"
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["4"] and "X-Amz-Signature" in query
    signed = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
    assert abs(final.download_url_expiry.timestamp() - (signed + 4)) < 0.001  # the link's own expiry
    with stores.s3.auth_off():
        fetched = httpx.get(final.download_url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == stores.s3.get_bytes(bucket, key)
    assert len(fetched.content) == final.file_size
    assert not (srv.data_dir / "bucket" / tenant.app).exists()  # nothing in the local folder
    deadline = time.monotonic() + 20
    while stores.s3.keys(bucket, f"rk-data/{tenant.app}/{rec_id}/") and time.monotonic() < deadline:
        time.sleep(0.25)
    assert stores.s3.keys(bucket, f"rk-data/{tenant.app}/{rec_id}/") == [], "retention deleted the S3 copy"
    assert stores.s3.secret not in srv.log()


def test_preflight_refuses_bad_credentials_and_unreachable_destinations(
    s3_bucket_server: tuple[RkServer, Tenant, str], stores: Stores
) -> None:
    _, tenant, _ = s3_bucket_server
    good = storage_configs(stores)["aws"]
    with tenant.http() as http, tenant.sdk() as client:
        meeting = Kit(tenant, client).meeting("preflight")
        wrong = {**good, "secret": "wrong-secret-value-0123456789"}
        bad = http.post(f"{tenant.kit}/recordings", json={"meeting_id": meeting, "storage_config": wrong})
        assert bad.status_code == 400, bad.text
        message = bad.json()["error"]["message"]
        assert message.startswith(f"storage_config: preflight failed: S3 bucket '{stores.aws_bucket}'"), message
        assert "wrong-secret-value" not in bad.text and stores.s3.access_key not in bad.text
        down = http.post(
            f"{tenant.kit}/recordings",
            json={"meeting_id": meeting, "storage_config": sftp_password_config(stores, free_port(), "x")},
        )
        assert down.status_code == 503, down.text
        assert down.json()["error"]["message"].startswith("storage_config: preflight failed: SFTP ")
        assert stores.sftp.password not in down.text
        assert http.get(f"{tenant.kit}/recordings", params={"meeting_id": meeting}).json()["paging"]["total_count"] == 0
        ok = http.post(
            f"{tenant.kit}/recordings", json={"meeting_id": meeting, "storage_config": good, "max_seconds": 60}
        )
        assert ok.status_code == 200, ok.text
        http.put(f"{tenant.kit}/recordings/{ok.json()['data']['id']}", json={"action": "stop"})
    assert not any("recordkit-probe-" in k for k in stores.s3.keys(stores.aws_bucket)), "the probe object is deleted"


def test_storage_check_command(server: tuple[RkServer, Tenant], stores: Stores) -> None:
    srv, _ = server
    good = json.dumps(storage_configs(stores)["gcs"])
    ok = subprocess.run(
        [*cli_command(), "storage", "check", "--config-file", "-", "--json"],
        input=good,
        capture_output=True,
        text=True,
        env={**clean_env(), **srv.env},
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"ok": True, "destination": json.loads(ok.stdout)["destination"], "probed": True}
    assert stores.gcs_bucket in json.loads(ok.stdout)["destination"]
    missing = cli(srv, "storage", "check", "--config", json.dumps({"type": "aws", "bucket": "b"}))
    assert missing.returncode == 1 and "storage_config.region is required for type aws" in missing.stderr
    wrong = {**storage_configs(stores)["aws"], "secret": "wrong-secret-value-0123456789"}
    refused = cli(srv, "storage", "check", "--config", json.dumps(wrong))
    assert refused.returncode == 1 and "preflight failed: S3 bucket" in refused.stderr
    assert "wrong-secret-value" not in refused.stderr + refused.stdout
