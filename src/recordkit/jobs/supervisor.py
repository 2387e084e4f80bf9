"""The recording supervisor: makes the media of every unfinished recording match its status.

The database holds the truth (status, set by the API through the lifecycle table); this loop,
running inside ``recordkit serve``, reconciles the recorders with it: INVOKED gets a recorder,
PAUSED ends the current segment, RECORDING (again) starts the next one, UPLOADING joins the
segments, stores the files in the bucket, delivers them to the recording's ``storage_config``
destination (``jobs.delivery``) and sets UPLOADED. Each recording is leased to one process; a
lease whose holder died is taken over, and a recording whose recorder died with it is stopped
(what was recorded is uploaded; with nothing recorded it ends ERRORED, INTERNAL_ERROR).

Joining, storing and delivering run on two upload threads, never on the tick. A failed step is
retried with backoff (``RetryPolicy``); the schedule is kept in the recording's row
(``Recording.delivery``), which stays UPLOADING meanwhile, so a restart resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from recordkit.blobs.bucket import Bucket
from recordkit.domain.endpoints import Endpoints
from recordkit.domain.keys import object_key
from recordkit.domain.lifecycle import Clock, Event, recorded_ms
from recordkit.domain.models import Recording
from recordkit.domain.ports import Clock as ClockPort
from recordkit.domain.ports import RecordingStore
from recordkit.domain.recordings import transition
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Conflict, RecordKitError
from recordkit.jobs.delivery import Delivery, RetryPolicy, stored_files
from recordkit.leases import owner_id
from recordkit.recorder.port import MediaInfo, MediaSpec, Recorder, RecorderError, SegmentHandle, Watermark
from recordkit.recorder.registry import RecorderRegistry

log = logging.getLogger("recordkit.supervisor")

LEASE_MS = 15_000
RETENTION_EVERY_MS = 60_000
LAPSE_EVERY_MS = 600_000  # flagging expired rows: their index only needs to be roughly current


@dataclass
class Live:
    """This process's recorder for one recording."""

    spec: MediaSpec
    recorder: Recorder  # the one the registry chose for it: it ends the segments it started
    segment: SegmentHandle | None = None  # the running segment, or None while paused
    paths: list[Path] = field(default_factory=list)


def media_spec(rec: Recording) -> MediaSpec:
    config = rec.config or {}
    if rec.kind == "track":
        return MediaSpec(kind="track", tracks=tuple(config.get("tracks") or ("all",)))
    video = config.get("video_config") or {}
    audio = config.get("audio_config") or {}
    watermark = None
    if video.get("watermark"):
        mark = video["watermark"]
        size = mark.get("size") or {}
        watermark = Watermark(
            position=mark.get("position") or "left top",
            width=int(size.get("width") or 160),
            height=int(size.get("height") or 90),
        )
    return MediaSpec(
        video_codec=video.get("codec") or "H264",
        width=int(video.get("width") or 1280),
        height=int(video.get("height") or 720),
        audio_codec=audio.get("codec") or "AAC",
        channels=1 if audio.get("channel") == "mono" else 2,
        export_audio=bool(audio.get("export_file", True)),
        export_video=bool(video.get("export_file", True)),
        watermark=watermark,
    )


class Supervisor:
    def __init__(
        self,
        store: RecordingStore,
        recorders: RecorderRegistry,
        bucket: Bucket,
        work_dir: Path,
        download_ttl_ms: int,
        *,
        endpoints: Endpoints | None = None,
        policy: RetryPolicy | None = None,
        clock: ClockPort = now_ms,
        retention_every_ms: int = RETENTION_EVERY_MS,
    ) -> None:
        self.store = store
        self.recorders = recorders
        self.bucket = bucket
        self.work_dir = work_dir
        self.download_ttl_ms = download_ttl_ms
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.retention_every_ms = retention_every_ms
        self.delivery = Delivery(
            store,
            bucket,
            work_dir=work_dir,
            download_ttl_ms=download_ttl_ms,
            endpoints=endpoints,
            policy=self.policy,
            clock=clock,
        )
        self.owner = owner_id()
        self.live: dict[str, Live] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._last_retention = 0
        self._last_lapse = 0
        self._stopping = False
        # Joining and storing files can take long: it runs off the tick, so that the other
        # recordings' pauses and stops reach their encoders meanwhile (a stale encoder would put
        # paused or post-stop media into the file).
        self._uploads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recordkit-upload")
        self._uploading: set[str] = set()
        self._unexpected: dict[str, int] = {}  # failures no step expected (a database error, say)

    # -- the loop -----------------------------------------------------------------------------

    def poke(self) -> None:
        """Something changed (an API call): reconcile now rather than at the next tick.

        Called from any thread (the API's handlers run in a thread pool): an ``asyncio.Event`` is
        set on its own loop only, else the loop does not wake before its timeout (up to 0.5 s, in
        which a paused recording's encoder kept writing)."""
        wake, loop = self._wake, self._loop
        if wake is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
                loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not self._stopping:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # the loop must survive anything; the log says what happened
                log.exception("supervisor tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            self._wake.clear()

    def stop(self) -> None:
        """Server shutdown: end every segment cleanly (the recordings resume or recover later)."""
        self._stopping = True
        with self._lock:
            for live in self.live.values():
                if live.segment is not None:
                    with contextlib.suppress(Exception):
                        live.recorder.stop_segment(live.segment)
        self._uploads.shutdown(wait=False, cancel_futures=True)  # unfinished uploads resume after a restart

    def tick(self) -> None:
        with self._lock:
            now = self.clock()
            recordings, taken = self.store.claim_unfinished(self.owner, now, LEASE_MS)
            for rec in recordings:
                try:
                    self.reconcile(rec, rec.id in taken)
                except Conflict:
                    pass  # the API moved it meanwhile; the next tick sees the new status
                except RecordKitError:
                    log.exception("recording %s: reconcile failed", rec.id)
            current = {r.id for r in recordings}
            for rec_id in list(self.live):
                if rec_id not in current:
                    self._drop(rec_id)
            if now - self._last_retention >= self.retention_every_ms:
                self._last_retention = now
                self.sweep_retention(now)
            if now - self._last_lapse >= LAPSE_EVERY_MS:
                self._last_lapse = now
                self.store.flag_lapsed(now)

    # -- one recording -------------------------------------------------------------------------

    def reconcile(self, rec: Recording, taken_over: bool) -> None:
        live = self.live.get(rec.id)
        if rec.status == "INVOKED":
            if live is None:
                self._start(rec)
            return
        if rec.status in ("RECORDING", "PAUSED") and live is None:
            self._recover(rec)  # its recorder died with another process (or with us, before a restart)
            return
        if rec.status == "RECORDING":
            assert live is not None
            if live.segment is None:
                self._new_segment(rec, live)
            elif not live.segment.running():
                log.warning("recording %s: %s", rec.id, live.recorder.failure(live.segment))
                live.segment = None
                self._change(rec.id, Event.STOP, internal=True)
                return
            max_seconds = int((rec.config or {}).get("max_seconds") or 86400)
            clock = Clock(rec.started_ms, rec.stopped_ms, rec.paused_since_ms, rec.paused_total_ms)
            if recorded_ms(clock, self.clock()) >= max_seconds * 1000:
                self._change(rec.id, Event.MAX_SECONDS)
            return
        if rec.status == "PAUSED":
            assert live is not None
            if live.segment is not None:
                live.recorder.stop_segment(live.segment)
                live.segment = None
            return
        if rec.status == "UPLOADING":
            self._upload(rec)

    def _dir(self, rec_id: str) -> Path:
        return self.work_dir / rec_id

    def _start(self, rec: Recording) -> None:
        try:
            live = Live(spec=media_spec(rec), recorder=self.recorders.for_recording(rec))
            self._new_segment(rec, live)
        except RecorderError as exc:
            log.error("recording %s: recorder could not start: %s", rec.id, exc)
            self._change(rec.id, Event.RECORDER_FAILED, error=str(exc))
            shutil.rmtree(self._dir(rec.id), ignore_errors=True)
            return
        self.live[rec.id] = live
        self._change(rec.id, Event.RECORDER_STARTED)
        log.info("recording %s: recording (%s)", rec.id, live.spec.container)

    def _new_segment(self, rec: Recording, live: Live) -> None:
        path = self._dir(rec.id) / f"segment-{len(self._segments(rec.id)) + 1:04d}.mkv"
        live.segment = live.recorder.start_segment(live.spec, path)
        live.paths.append(path)

    def _segments(self, rec_id: str) -> list[Path]:
        folder = self._dir(rec_id)
        return sorted(folder.glob("segment-*.mkv")) if folder.is_dir() else []

    def _recover(self, rec: Recording) -> None:
        if self._segments(rec.id):
            log.warning("recording %s: recorder lost; uploading what was recorded", rec.id)
            self._change(rec.id, Event.STOP, internal=True)
        else:
            log.warning("recording %s: recorder lost before anything was recorded", rec.id)
            self._change(rec.id, Event.RECORDER_LOST, error="recorder lost")

    def _change(self, rec_id: str, event: Event, *, internal: bool = False, error: str | None = None) -> Recording:
        def change(rec: Recording) -> Recording:
            out = transition(rec, event, self.clock())
            if internal:
                out.stop_reason = {"reason": "INTERNAL_ERROR"}
            if error is not None:
                out.error = error
            return out

        result: Recording = self.store.update_recording(rec_id, change, self.clock())
        return result

    def _upload(self, rec: Recording) -> None:
        """Stop the encoder now; join, store and deliver the files on an upload thread when due."""
        if rec.id in self._uploading:
            return
        if not self.delivery.due(rec, self.clock()):
            return  # a retry is scheduled for later
        fresh = self.store.recording_by_id(rec.id)
        if fresh is None or fresh.status != "UPLOADING":
            return  # stored since this tick read it
        live = self.live.pop(rec.id, None)
        if live is not None and live.segment is not None:
            live.recorder.stop_segment(live.segment)
        spec = live.spec if live is not None else media_spec(rec)
        recorder = live.recorder if live is not None else None  # None: the registry's, at the upload
        self._uploading.add(rec.id)
        try:
            self._uploads.submit(self._upload_files, fresh, spec, recorder)
        except RuntimeError:  # shutting down: the next start uploads it
            self._uploading.discard(rec.id)

    def _upload_files(self, rec: Recording, spec: MediaSpec, recorder: Recorder | None) -> None:
        try:
            if not stored_files(rec) and not self._join_and_store(rec, spec, recorder):
                return
            self.delivery.attempt(rec.id)
            self._unexpected.pop(rec.id, None)
        except Conflict:
            pass  # moved meanwhile (an operator's command, another process)
        except Exception as exc:  # retried at later ticks, a bounded number of times
            failures = self._unexpected.get(rec.id, 0) + 1
            self._unexpected[rec.id] = failures
            log.exception("recording %s: upload failed unexpectedly (%d)", rec.id, failures)
            if failures >= self.policy.attempts:
                self._unexpected.pop(rec.id, None)
                with contextlib.suppress(RecordKitError):
                    self._finish_failed(rec.id, f"upload failed: {type(exc).__name__}")
        finally:
            self._uploading.discard(rec.id)  # after the status was written

    def _join_and_store(self, rec: Recording, spec: MediaSpec, recorder: Recorder | None) -> bool:
        """Join the segments and put the files in the bucket; True once they are there (and noted)."""
        segments = self._segments(rec.id)
        base = Path(rec.output_file_name or rec.id).stem
        try:
            joiner = recorder if recorder is not None else self.recorders.for_recording(rec)
            outputs = joiner.finalize(spec, segments, self._dir(rec.id) / "out", base)
        except (RecorderError, OSError) as exc:
            log.error("recording %s: upload failed: %s", rec.id, exc)
            self._finish_failed(rec.id, str(exc))
            shutil.rmtree(self._dir(rec.id), ignore_errors=True)
            return False
        try:
            stored = self._store_files(rec, outputs)
        except Exception as exc:  # the bucket (S3, say) is down: retried with backoff, segments kept
            self._store_failed(rec, exc)
            return False
        main = "video" if "video" in stored else ("audio" if "audio" in stored else next(iter(stored)))

        def noted(r: Recording) -> Recording:
            if r.status != "UPLOADING":
                raise Conflict(f"recording {r.id} is {r.status} now")
            state = {
                "stored": {role: [key, size] for role, (key, size) in stored.items()},
                "main": main,
                "duration": outputs[main].duration_s,
                "failures": 0,
                "next_ms": None,
            }
            return msgspec.structs.replace(r, files={role: key for role, (key, _) in stored.items()}, delivery=state)

        self.store.update_recording(rec.id, noted, self.clock())
        shutil.rmtree(self._dir(rec.id), ignore_errors=True)
        return True

    def _store_failed(self, rec: Recording, exc: Exception) -> None:
        message = exc.message if isinstance(exc, RecordKitError) else f"{type(exc).__name__}: {exc}"
        failures = int((rec.delivery or {}).get("failures") or 0) + 1
        if failures >= self.policy.attempts:
            log.error("recording %s: storing the files failed %d times, giving up: %s", rec.id, failures, message)
            self._finish_failed(rec.id, f"storing the files failed: {message}")
            return
        retry_at = self.clock() + int(self.policy.delay(failures) * 1000)

        def later(r: Recording) -> Recording:
            if r.status != "UPLOADING":
                raise Conflict(f"recording {r.id} is {r.status} now")
            state = {**(r.delivery or {}), "failures": failures, "next_ms": retry_at, "last_error": message}
            return msgspec.structs.replace(r, delivery=state)

        self.store.update_recording(rec.id, later, self.clock())
        log.warning("recording %s: storing the files failed (attempt %d), will retry: %s", rec.id, failures, message)

    def _store_files(self, rec: Recording, outputs: dict[str, MediaInfo]) -> dict[str, tuple[str, int]]:
        """Copy the finished files into the bucket: ``{role: (object key, size)}``."""
        stem = Path(rec.output_file_name or rec.id).stem
        stored: dict[str, tuple[str, int]] = {}
        for role, info in outputs.items():
            if role == "video":
                name = rec.output_file_name or f"{rec.id}{info.path.suffix}"
            elif role == "audio":
                name = f"{stem}_audio{info.path.suffix}"
            else:  # track:<name>
                name = f"{role.removeprefix('track:')}_{rec.id}{info.path.suffix}"
            key = object_key(rec.app_id, rec.id, name)
            stored[role] = (key, self.bucket.put_file(key, info.path))
        return stored

    def _finish_failed(self, rec_id: str, error: str) -> None:
        def change(rec: Recording) -> Recording:
            out = transition(rec, Event.UPLOAD_FAILED, self.clock())
            out.error = error
            return out

        self.store.update_recording(rec_id, change, self.clock())

    def _drop(self, rec_id: str) -> None:
        live = self.live.pop(rec_id, None)
        if live is not None and live.segment is not None:
            live.recorder.stop_segment(live.segment)

    # -- retention and orphans ------------------------------------------------------------------

    def sweep_retention(self, now: int) -> int:
        """Delete bucket copies past their expiry; the recording rows stay (``expired=true``).

        Every process sweeps; each recording's purge is leased first (``claim_purge``), so one
        process deletes its files, once. One that dies mid-way leaves a lease that lapses (or, on
        this host, is taken over at once), and the next sweep deletes again: deleting is idempotent."""
        removed = 0
        for rec in self.store.expired_files(now):
            if not self.store.claim_purge(rec.id, self.owner, now, LEASE_MS):
                continue  # purged meanwhile, or another process is purging it
            for key in (rec.files or {}).values():
                self.bucket.delete(key)
            self.store.mark_purged(rec.id, now)
            removed += 1
        return removed

    def remove_orphans(self) -> int:
        """Work folders of recordings that are finished (or unknown) are leftovers of a crash."""
        removed = 0
        if not self.work_dir.is_dir():
            return 0
        for folder in self.work_dir.iterdir():
            rec = self.store.recording_by_id(folder.name)
            if rec is None or rec.status in ("UPLOADED", "ERRORED"):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
