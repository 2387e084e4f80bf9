"""``jobs.delivery``: a stored recording's files to its destination, with retries, on a real store.

The store is the real SQLite one and the bucket the real local one; the destination is a fake
(``FakeDestination``) that fails as told, so every outcome is reached in milliseconds. The real
destinations are exercised against real servers in tests/destinations and tests/e2e.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from recordkit.blobs.bucket import LocalBucket, open_signer
from recordkit.blobs.local import LocalBlobStore
from recordkit.destinations import DestinationError
from recordkit.domain.models import Recording
from recordkit.errors import Conflict, InvalidRequest
from recordkit.jobs.delivery import NO_DESTINATION, Delivery, RetryPolicy
from recordkit.settings import Settings
from recordkit.store.factory import open_store

T0 = 1_800_000_000_000
MEETING = "6f1b3c8e-5d1a-4c2b-9f0e-1a2b3c4d5e6f"
SECRET = "secret-value-never-shown-7731"
STORAGE = {"type": "aws", "bucket": "dest-bucket", "region": "us-east-1", "path": "rk"}


class FakeDestination:
    """Fails with each error of ``failures`` in turn, then stores files in ``received``."""

    def __init__(self, failures: list[DestinationError], received: dict[str, bytes]) -> None:
        self.failures = failures
        self.received = received

    def describe(self) -> str:
        return "fake bucket 'dest-bucket' folder 'rk'"

    def put(self, local_path: Path, name: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.received[f"rk/{name}"] = local_path.read_bytes()
        return f"rk/{name}"

    def delete(self, key: str) -> None: ...

    def probe(self) -> None: ...


class World:
    def __init__(self, tmp: Path) -> None:
        self.now = T0
        self.store = open_store(Settings(data_dir=tmp / "data"))
        account = self.store.create_account(now=T0)
        self.app = self.store.create_app(account.id, "x", now=T0).id
        self.bucket = LocalBucket(LocalBlobStore(tmp / "bucket"), open_signer(self.store.cipher), "http://rk.test")
        self.failures: list[DestinationError] = []
        self.received: dict[str, bytes] = {}
        self.configs: list[dict[str, Any]] = []
        self.delivery = Delivery(
            self.store,
            self.bucket,
            work_dir=tmp / "work",
            download_ttl_ms=3_600_000,
            policy=RetryPolicy(attempts=3, base_seconds=2, max_seconds=60),
            clock=lambda: self.now,
            opener=self.open,
        )
        self.n = 0

    def open(self, config: dict[str, Any], endpoints: Any) -> FakeDestination:
        self.configs.append(config)
        return FakeDestination(self.failures, self.received)

    def stored_recording(
        self, *, storage: dict[str, Any] | None = STORAGE, bucket_on: bool = True, audio: bool = True
    ) -> Recording:
        """An UPLOADING recording whose files are in the bucket, as the supervisor leaves it."""
        self.n += 1
        rec_id = f"00000000-0000-4000-8000-{self.n:012d}"
        files = {"video": f"{self.app}/{rec_id}/{rec_id}.mp4"}
        if audio:
            files["audio"] = f"{self.app}/{rec_id}/{rec_id}_audio.m4a"
        stored = {}
        for role, key in files.items():
            source = self.bucket.store.root.parent / f"{role}-{self.n}.bin"
            source.write_bytes(f"{role} bytes of {rec_id}".encode())
            stored[role] = [key, self.bucket.put_file(key, source)]
        rec = Recording(
            id=rec_id,
            app_id=self.app,
            meeting_id=MEETING,
            status="UPLOADING",
            invoked_ms=T0 - 10_000,
            started_ms=T0 - 9_000,
            stopped_ms=T0 - 1_000,
            output_file_name=f"{rec_id}.mp4",
            storage_config=storage,
            storage_secrets={"access_key": "AKIA-TEST", "secret": SECRET} if storage else None,
            config={"realtimekit_bucket_config": {"enabled": bucket_on}},
            files=files,
            delivery={"stored": stored, "main": "video", "duration": 7.6, "failures": 0},
        )
        self.store.insert_recording(rec, exclusive=False, now=T0)
        return rec

    def get(self, rec_id: str) -> Recording:
        found = self.store.recording_by_id(rec_id)
        assert found is not None
        return found


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.store.close()


def transient() -> DestinationError:
    return DestinationError("fake bucket 'dest-bucket' folder 'rk': upload failed (temporary): Timeout", transient=True)


def permanent() -> DestinationError:
    message = "fake bucket 'dest-bucket' folder 'rk': upload failed: AccessDenied (HTTP 403)"
    return DestinationError(message, transient=False)


def test_delivered_files_and_links(world: World) -> None:
    rec = world.stored_recording()
    outcome = world.delivery.attempt(rec.id)
    assert outcome.status == "UPLOADED"
    assert world.received == {
        f"rk/{rec.id}.mp4": f"video bytes of {rec.id}".encode(),
        f"rk/{rec.id}_audio.m4a": f"audio bytes of {rec.id}".encode(),
    }
    # The destination got the whole storage_config, secrets included (decrypted from the row).
    assert world.configs[0] == {**STORAGE, "access_key": "AKIA-TEST", "secret": SECRET}
    done = world.get(rec.id)
    assert done.status == "UPLOADED" and done.error is None
    assert done.file_size == len(f"video bytes of {rec.id}") and done.recording_duration == 8
    assert done.download_url is not None and done.download_url.startswith("http://rk.test/client/v4/files/")
    assert done.audio_download_url is not None and done.download_url_expiry_ms == T0 + 3_600_000
    assert world.bucket.exists(rec.files["video"])  # type: ignore[index]
    assert done.delivery is not None and set(done.delivery["delivered"]) == {"video", "audio"}


def test_bucket_disabled_leaves_the_file_only_at_the_destination(world: World) -> None:
    rec = world.stored_recording(bucket_on=False)
    assert world.delivery.attempt(rec.id).status == "UPLOADED"
    done = world.get(rec.id)
    assert (done.download_url, done.audio_download_url, done.download_url_expiry_ms) == (None, None, None)
    assert done.files is None and done.file_size is not None
    assert not any(world.bucket.exists(k) for k in rec.files.values())  # type: ignore[union-attr]
    assert len(world.received) == 2


def test_bucket_only_needs_no_destination(world: World) -> None:
    rec = world.stored_recording(storage=None)
    assert world.delivery.attempt(rec.id).status == "UPLOADED"
    assert world.configs == [] and world.get(rec.id).download_url is not None


def test_neither_bucket_nor_destination_is_errored(world: World) -> None:
    rec = world.stored_recording(storage=None, bucket_on=False)
    outcome = world.delivery.attempt(rec.id)
    assert outcome.status == "ERRORED"
    done = world.get(rec.id)
    assert done.status == "ERRORED" and done.error == NO_DESTINATION
    assert all(world.bucket.exists(k) for k in rec.files.values())  # type: ignore[union-attr]


def test_transient_failures_are_retried_with_backoff_then_delivered(world: World) -> None:
    rec = world.stored_recording()
    world.failures[:] = [transient()]
    first = world.delivery.attempt(rec.id)
    assert first.status == "UPLOADING" and first.retry_at_ms is not None
    assert T0 + 1_000 <= first.retry_at_ms <= T0 + 2_000  # base 2 s, equal jitter: 1..2 s
    waiting = world.get(rec.id)
    assert waiting.status == "UPLOADING"
    assert waiting.delivery is not None and waiting.delivery["failures"] == 1
    assert not world.delivery.due(waiting, T0 + 999) and world.delivery.due(waiting, first.retry_at_ms)
    world.now = first.retry_at_ms
    assert world.delivery.attempt(rec.id).status == "UPLOADED"
    assert len(world.received) == 2


def test_a_destination_that_stays_down_ends_errored_and_keeps_the_bucket_copy(world: World) -> None:
    rec = world.stored_recording(bucket_on=False)
    world.failures[:] = [transient() for _ in range(3)]
    for _ in range(2):
        outcome = world.delivery.attempt(rec.id)
        assert outcome.status == "UPLOADING" and outcome.retry_at_ms is not None
        world.now = outcome.retry_at_ms
    last = world.delivery.attempt(rec.id)
    assert last.status == "ERRORED"
    done = world.get(rec.id)
    assert done.status == "ERRORED"
    assert done.error is not None and "Timeout" in done.error and "gave up after 3 attempts" in done.error
    assert SECRET not in done.error
    assert done.download_url is None and done.download_url_expiry_ms is None  # never swept by retention
    assert all(world.bucket.exists(k) for k in rec.files.values())  # type: ignore[union-attr]
    # An operator's retry-upload: back to UPLOADING with a fresh budget, then delivered.
    reopened = world.delivery.reopen(rec.id)
    assert reopened.status == "UPLOADING" and reopened.error is None
    assert world.delivery.run_to_end(rec.id, sleep=lambda s: None).status == "UPLOADED"
    assert not any(world.bucket.exists(k) for k in rec.files.values())  # type: ignore[union-attr]


def test_a_permanent_failure_is_errored_at_once(world: World) -> None:
    rec = world.stored_recording()
    world.failures[:] = [permanent()]
    outcome = world.delivery.attempt(rec.id)
    assert outcome.status == "ERRORED"
    assert world.get(rec.id).error == permanent().message
    with pytest.raises(Conflict, match="only an ERRORED"):
        world.delivery.reopen(world.stored_recording().id)


def test_retry_needs_kept_files(world: World) -> None:
    rec = world.stored_recording()
    world.store.update_recording(rec.id, lambda r: msgspec.structs.replace(r, status="ERRORED", delivery=None), T0)
    with pytest.raises(InvalidRequest, match="no kept files"):
        world.delivery.reopen(rec.id)
    # Kept once, but the bucket lost it meanwhile: named.
    other = world.stored_recording(audio=False)
    world.failures[:] = [permanent()]
    world.delivery.attempt(other.id)
    world.bucket.delete(other.files["video"])  # type: ignore[index]
    with pytest.raises(InvalidRequest, match="no longer holds"):
        world.delivery.reopen(other.id)


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(attempts=10, base_seconds=2, max_seconds=30)
    rng = random.Random(7)
    for failures, step in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (9, 30)):
        delays = [policy.delay(failures, rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert max(delays) - min(delays) > step / 4  # really random


def test_a_restarted_server_resumes_a_scheduled_delivery(world: World, tmp_path: Path) -> None:
    """The retry schedule lives in the row: a new supervisor (a server restarted after a crash)
    takes the recording over from its dead holder and delivers it when the retry is due."""
    from recordkit.jobs.supervisor import Supervisor
    from recordkit.recorder.registry import RecorderRegistry

    rec = world.stored_recording()
    world.failures[:] = [transient()]
    first = world.delivery.attempt(rec.id)
    assert first.retry_at_ms is not None
    world.store.hold_lease(rec.id, "some-host:1", T0 - 1)  # its holder is gone, the lease lapsed
    recorders = RecorderRegistry.from_settings(Settings(data_dir=tmp_path / "data"))  # nothing is recorded here
    supervisor = Supervisor(
        world.store,
        recorders,
        world.bucket,
        tmp_path / "work",
        3_600_000,
        clock=lambda: world.now,
        retention_every_ms=10**9,
    )
    supervisor.delivery.opener = world.open
    try:
        supervisor.tick()  # not due yet: nothing is submitted
        assert world.get(rec.id).status == "UPLOADING" and not world.received
        world.now = first.retry_at_ms
        supervisor.tick()
    finally:
        supervisor._uploads.shutdown(wait=True)
    assert world.get(rec.id).status == "UPLOADED"
    assert len(world.received) == 2
