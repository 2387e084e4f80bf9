"""Delivery: a stored recording's files to its ``storage_config`` destination, then UPLOADED.

A recording reaches this step UPLOADING with its files already in the RecordKit bucket
(``Recording.files``) and ``Recording.delivery`` saying so. One ``Delivery.attempt`` then:

- opens the destination from the public ``storage_config`` and the secrets the store decrypts
  (``recording_secrets``; they live only in this call's memory);
- puts every file not yet delivered under ``path`` + file name (the names already carry
  ``file_name_prefix``), reading it from the bucket;
- on success sets UPLOADED: with the bucket enabled, ``download_url`` (and the audio link) with
  their expiry; with ``realtimekit_bucket_config.enabled=false`` no links, and the bucket copies
  are deleted (the files live only at the destination);
- on a transient failure (network, 5xx, throttling) records the failure and when to try again:
  exponential backoff with jitter, ``RetryPolicy``; the recording stays UPLOADING, so the
  schedule survives a restart. A permanent failure, or the last attempt failing, ends it ERRORED
  with the reason in ``error`` (the destination's own message: no secrets) and keeps the bucket
  copy, so nothing is lost: ``recordkit recordings retry-upload`` delivers it later.

With no ``storage_config`` the bucket is the destination (UPLOADED at once); with neither the
recording ends ERRORED ("no destination"), as issue 4 asks; the bucket copy is kept.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from recordkit.blobs.bucket import Bucket
from recordkit.destinations.base import Destination, DestinationError
from recordkit.destinations.factory import open_destination
from recordkit.domain.endpoints import Endpoints
from recordkit.domain.lifecycle import Event
from recordkit.domain.models import JSONDict, Recording
from recordkit.domain.ports import Clock, RecordingStore
from recordkit.domain.recordings import bucket_enabled, transition
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Conflict, InvalidRequest, RecordKitError, Unavailable
from recordkit.settings import Settings

log = logging.getLogger("recordkit.delivery")

NO_DESTINATION = "no destination: realtimekit_bucket_config.enabled is false and there is no storage_config"


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries; before try n+1 wait ``base * 2**(n-1)`` (capped at ``max_seconds``),
    of which the second half is random (equal jitter: retries of many recordings spread out, and
    no wait is shorter than half its step)."""

    attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        step = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, failures - 1))
        jitter: float = (rng or random).uniform(0, step / 2)
        return step / 2 + jitter

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.upload_attempts,
            base_seconds=settings.upload_retry_base_seconds,
            max_seconds=settings.upload_retry_max_seconds,
        )


@dataclass(frozen=True)
class Outcome:
    status: str  # UPLOADED, ERRORED, or UPLOADING (a retry is scheduled)
    error: str | None = None
    retry_at_ms: int | None = None
    delivered: Mapping[str, str] | None = None  # role -> key / remote path at the destination


def leaf(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def stored_files(rec: Recording) -> dict[str, tuple[str, int]]:
    """``{role: (bucket key, size)}`` of a recording whose files reached the bucket ({} if none)."""
    stored = (rec.delivery or {}).get("stored") or {}
    return {role: (str(value[0]), int(value[1])) for role, value in stored.items()}


def full_storage_config(public: JSONDict, secrets: JSONDict | None) -> JSONDict:
    return {**public, **(secrets or {})}


def probe_storage(config: JSONDict, endpoints: Endpoints) -> str:
    """Preflight: check ``config`` and write + delete a probe object; returns the destination's description.

    A bad config or bad credentials is InvalidRequest (400), a destination that is down right now
    Unavailable (503); the messages name the destination, never a secret."""
    try:
        destination = open_destination(config, endpoints)
        destination.probe()
    except DestinationError as exc:
        cls = Unavailable if exc.transient else InvalidRequest
        raise cls(f"storage_config: preflight failed: {exc.message}") from None
    return destination.describe()


class Delivery:
    """One recording's delivery step, for the supervisor (on its upload threads) and the CLI."""

    def __init__(
        self,
        store: RecordingStore,
        bucket: Bucket,
        *,
        work_dir: Path,
        download_ttl_ms: int,
        endpoints: Endpoints | None = None,
        policy: RetryPolicy | None = None,
        clock: Clock = now_ms,
        opener: Callable[..., Destination] = open_destination,
    ) -> None:
        self.store = store
        self.bucket = bucket
        self.work_dir = work_dir
        self.download_ttl_ms = download_ttl_ms
        self.endpoints = endpoints or Endpoints()
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.opener = opener

    # -- the step ----------------------------------------------------------------------------------

    def attempt(self, rec_id: str) -> Outcome:
        """Deliver what is not delivered yet; write the outcome (UPLOADED, ERRORED or a retry time)."""
        rec = self.store.recording_by_id(rec_id)
        if rec is None or rec.status != "UPLOADING":
            return Outcome(rec.status if rec is not None else "ERRORED", error="not uploading")
        stored = stored_files(rec)
        if not stored:
            raise Conflict(f"recording {rec_id}: no stored files to deliver")
        if rec.storage_config is None:
            if bucket_enabled(rec.config):
                return self._finish(rec, {})
            return self._give_up(rec, NO_DESTINATION)
        delivered: dict[str, str] = dict((rec.delivery or {}).get("delivered") or {})
        scratch = self.work_dir / f"{rec.id}.deliver"  # where a bucket on S3 is read back to
        try:
            secrets = self.store.recording_secrets(rec.id)
            destination = self.opener(full_storage_config(rec.storage_config, secrets), self.endpoints)
            for role, (key, _size) in stored.items():
                if role in delivered:
                    continue
                with self.bucket.local_copy(key, scratch) as path:
                    delivered[role] = destination.put(path, leaf(key))
                log.info("recording %s: %s delivered to %s", rec.id, leaf(key), destination.describe())
        except DestinationError as exc:
            return self._failed(rec, exc.message, transient=exc.transient, delivered=delivered)
        except InvalidRequest as exc:  # the config cannot work (an unreadable key, a path): no retry helps
            return self._failed(rec, f"storage_config: {exc.message}", transient=False, delivered=delivered)
        except FileNotFoundError:
            return self._failed(rec, "the bucket copy is missing", transient=False, delivered=delivered)
        except RecordKitError as exc:  # the S3 bucket of RecordKit's own is down: may be fixed meanwhile
            return self._failed(rec, exc.message, transient=True, delivered=delivered)
        except Exception as exc:  # unexpected: retried like a transient failure, logged in full
            log.exception("recording %s: delivery failed unexpectedly", rec.id)
            return self._failed(rec, f"delivery failed: {type(exc).__name__}", transient=True, delivered=delivered)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return self._finish(rec, delivered)

    def due(self, rec: Recording, now: int) -> bool:
        """Whether the next attempt of a stored recording may run now."""
        next_ms = (rec.delivery or {}).get("next_ms")
        return next_ms is None or int(next_ms) <= now

    # -- outcomes ----------------------------------------------------------------------------------

    def _failed(self, rec: Recording, message: str, *, transient: bool, delivered: dict[str, str]) -> Outcome:
        failures = int((rec.delivery or {}).get("failures") or 0) + 1
        if transient and failures < self.policy.attempts:
            now = self.clock()
            retry_at = now + int(self.policy.delay(failures) * 1000)

            def later(r: Recording) -> Recording:
                _still_uploading(r)
                state = {**(r.delivery or {}), "failures": failures, "next_ms": retry_at, "last_error": message}
                state["delivered"] = delivered
                return msgspec.structs.replace(r, delivery=state)

            self.store.update_recording(rec.id, later, now)
            log.warning(
                "recording %s: delivery attempt %d of %d failed, retrying in %.1f s: %s",
                rec.id,
                failures,
                self.policy.attempts,
                (retry_at - now) / 1000,
                message,
            )
            return Outcome("UPLOADING", error=message, retry_at_ms=retry_at, delivered=delivered)
        reason = message if not transient else f"{message} (gave up after {failures} attempts)"
        return self._give_up(rec, reason, failures=failures, delivered=delivered)

    def _give_up(
        self, rec: Recording, reason: str, *, failures: int | None = None, delivered: dict[str, str] | None = None
    ) -> Outcome:
        """ERRORED with ``reason``; the bucket copy stays (``files``) for ``retry-upload``."""
        now = self.clock()

        def errored(r: Recording) -> Recording:
            out = transition(r, Event.UPLOAD_FAILED, now)
            out.error = reason
            state = {**(r.delivery or {}), "last_error": reason, "next_ms": None}
            if failures is not None:
                state["failures"] = failures
            if delivered is not None:
                state["delivered"] = delivered
            out.delivery = state
            return out

        self.store.update_recording(rec.id, errored, now)
        log.error("recording %s: delivery failed, the files stay in the bucket: %s", rec.id, reason)
        return Outcome("ERRORED", error=reason, delivered=delivered)

    def _finish(self, rec: Recording, delivered: dict[str, str]) -> Outcome:
        stored = stored_files(rec)
        state = rec.delivery or {}
        main = str(state.get("main") or next(iter(stored)))
        keep = bucket_enabled(rec.config)
        if not keep:
            # Say what reached the destination before the bucket copies go, so a crash in between
            # finds them delivered rather than lost.
            def noted(r: Recording) -> Recording:
                _still_uploading(r)
                return msgspec.structs.replace(r, delivery={**(r.delivery or {}), "delivered": delivered})

            self.store.update_recording(rec.id, noted, self.clock())
            for key, _size in stored.values():
                self.bucket.delete(key)
        now = self.clock()
        links: dict[str, tuple[str, int]] = {}
        if keep:
            for role in {main, "audio"} & set(stored):
                links[role] = self.bucket.link(stored[role][0], now, self.download_ttl_ms)

        def uploaded(r: Recording) -> Recording:
            out = transition(r, Event.FILE_STORED, now)
            key, size = stored[main]
            out.file_size = size
            out.recording_duration = round(float(state.get("duration") or 0))
            out.output_file_name = leaf(key)
            out.error = None
            out.delivery = {**(r.delivery or {}), "delivered": delivered, "next_ms": None}
            if keep:
                out.files = {role: k for role, (k, _) in stored.items()}
                out.download_url, out.download_url_expiry_ms = links[main]
                if "audio" in links:
                    out.audio_download_url = links["audio"][0]
            else:
                out.files = None
                out.download_url = out.audio_download_url = None
                out.download_url_expiry_ms = None
            return out

        self.store.update_recording(rec.id, uploaded, now)
        log.info("recording %s: uploaded (%s)", rec.id, leaf(stored[main][0]))
        return Outcome("UPLOADED", delivered=delivered)

    # -- an operator's re-run ---------------------------------------------------------------------

    def reopen(self, rec_id: str) -> Recording:
        """ERRORED with kept files -> UPLOADING with a fresh attempt budget (``retry-upload``).

        InvalidRequest when the recording has no kept files, Conflict when it is not ERRORED."""
        rec = self.store.recording_by_id(rec_id)
        if rec is None:
            from recordkit.errors import NotFound

            raise NotFound(f"recording {rec_id} not found")
        if rec.status != "ERRORED":
            raise Conflict(f"recording {rec_id} is {rec.status}; only an ERRORED recording can be retried")
        stored = stored_files(rec)
        if not stored or not rec.files:
            raise InvalidRequest(
                f"recording {rec_id} has no kept files: it ended ERRORED before its files were stored "
                f"({rec.error or 'no reason recorded'})"
            )
        missing = [leaf(key) for key, _ in stored.values() if not self.bucket.exists(key)]
        if missing:
            raise InvalidRequest(f"recording {rec_id}: the bucket no longer holds {', '.join(missing)}")
        now = self.clock()

        def reopened(r: Recording) -> Recording:
            out = transition(r, Event.RETRY_UPLOAD, now)
            out.error = None
            out.delivery = {**(r.delivery or {}), "failures": 0, "next_ms": None, "delivered": {}}
            return out

        result: Recording = self.store.update_recording(rec_id, reopened, now)
        return result

    def run_to_end(self, rec_id: str, sleep: Callable[[float], None] = time.sleep) -> Outcome:
        """Attempts until UPLOADED or ERRORED, waiting out the backoff in between (the CLI's way)."""
        while True:
            outcome = self.attempt(rec_id)
            if outcome.status != "UPLOADING" or outcome.retry_at_ms is None:
                return outcome
            sleep(max(0.0, (outcome.retry_at_ms - self.clock()) / 1000))


def _still_uploading(rec: Recording) -> None:
    if rec.status != "UPLOADING":
        raise Conflict(f"recording {rec.id} is {rec.status} now")
