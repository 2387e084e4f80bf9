"""The recording supervisor: makes the media of every unfinished recording match its status.

The database holds the truth (status, set by the API through the lifecycle table); this loop,
running inside ``recordkit serve``, reconciles the recorders with it: INVOKED gets a recorder,
PAUSED ends the current segment, RECORDING (again) starts the next one, UPLOADING joins the
segments, stores the files in the bucket and sets UPLOADED. Each recording is leased to one
process; a lease whose holder died is taken over, and a recording whose recorder died with it is
stopped (what was recorded is uploaded; with nothing recorded it ends ERRORED, INTERNAL_ERROR).
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
from typing import Any

from recordkit.blobs.keys import object_key
from recordkit.blobs.local import LocalBlobStore
from recordkit.blobs.signing import UrlSigner
from recordkit.domain.lifecycle import Clock, Event, recorded_ms
from recordkit.domain.models import Recording
from recordkit.domain.recordings import transition
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Conflict, RecordKitError
from recordkit.recorder.port import MediaInfo, MediaSpec, RecorderError, Watermark
from recordkit.store.sqlite.recordings import owner_id

log = logging.getLogger("recordkit.supervisor")

LEASE_MS = 15_000
RETENTION_EVERY_MS = 60_000
LAPSE_EVERY_MS = 600_000  # flagging expired rows: their index only needs to be roughly current
UPLOAD_ATTEMPTS = 5  # an upload that fails unexpectedly this often ends ERRORED (never UPLOADING forever)


@dataclass
class Live:
    """This process's recorder for one recording."""

    spec: MediaSpec
    segment: Any = None  # the running segment handle, or None while paused
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
        store: Any,
        recorder: Any,
        bucket: LocalBlobStore,
        signer: UrlSigner,
        work_dir: Path,
        public_url: str,
        download_ttl_ms: int,
        clock: Any = now_ms,
        retention_every_ms: int = RETENTION_EVERY_MS,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.bucket = bucket
        self.signer = signer
        self.work_dir = work_dir
        self.public_url = public_url
        self.download_ttl_ms = download_ttl_ms
        self.clock = clock
        self.retention_every_ms = retention_every_ms
        self.owner = owner_id()
        self.live: dict[str, Live] = {}
        self._wake: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._last_retention = 0
        self._last_lapse = 0
        self._stopping = False
        # Joining and storing files can take long: it runs off the tick, so that the other
        # recordings' pauses and stops reach their encoders meanwhile (a stale encoder would put
        # paused or post-stop media into the file).
        self._uploads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recordkit-upload")
        self._uploading: set[str] = set()
        self._upload_failures: dict[str, int] = {}

    # -- the loop -----------------------------------------------------------------------------

    def poke(self) -> None:
        """Something changed (an API call): reconcile now rather than at the next tick."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
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
                        self.recorder.stop_segment(live.segment)
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
                log.warning("recording %s: %s", rec.id, self.recorder.failure(live.segment))
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
                self.recorder.stop_segment(live.segment)
                live.segment = None
            return
        if rec.status == "UPLOADING":
            self._upload(rec)

    def _dir(self, rec_id: str) -> Path:
        return self.work_dir / rec_id

    def _start(self, rec: Recording) -> None:
        live = Live(spec=media_spec(rec))
        try:
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
        live.segment = self.recorder.start_segment(live.spec, path)
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
        """Stop the encoder now; join and store the files on an upload thread."""
        if rec.id in self._uploading:
            return
        fresh = self.store.recording_by_id(rec.id)
        if fresh is None or fresh.status != "UPLOADING":
            return  # stored since this tick read it
        live = self.live.pop(rec.id, None)
        if live is not None and live.segment is not None:
            self.recorder.stop_segment(live.segment)
        spec = live.spec if live is not None else media_spec(rec)
        self._uploading.add(rec.id)
        try:
            self._uploads.submit(self._upload_files, fresh, spec)
        except RuntimeError:  # shutting down: the next start uploads it
            self._uploading.discard(rec.id)

    def _upload_files(self, rec: Recording, spec: MediaSpec) -> None:
        try:
            self._join_and_store(rec, spec)
            self._upload_failures.pop(rec.id, None)
        except Exception as exc:  # unexpected: retried at a later tick, a bounded number of times
            failures = self._upload_failures.get(rec.id, 0) + 1
            self._upload_failures[rec.id] = failures
            if failures < UPLOAD_ATTEMPTS:
                log.exception("recording %s: upload failed (attempt %d), will retry", rec.id, failures)
            else:
                log.exception("recording %s: upload failed %d times, giving up", rec.id, failures)
                with contextlib.suppress(RecordKitError):
                    self._finish_failed(rec.id, f"upload failed: {exc}")
                self._upload_failures.pop(rec.id, None)
        finally:
            self._uploading.discard(rec.id)  # after the status was written

    def _join_and_store(self, rec: Recording, spec: MediaSpec) -> None:
        segments = self._segments(rec.id)
        base = Path(rec.output_file_name or rec.id).stem
        try:
            outputs = self.recorder.finalize(spec, segments, self._dir(rec.id) / "out", base)
            stored = self._store_files(rec, outputs)
        except (RecorderError, OSError) as exc:
            log.error("recording %s: upload failed: %s", rec.id, exc)
            self._finish_failed(rec.id, str(exc))
        else:
            self._finish_stored(rec.id, outputs, stored)
        shutil.rmtree(self._dir(rec.id), ignore_errors=True)

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

    def _finish_stored(self, rec_id: str, outputs: dict[str, MediaInfo], stored: dict[str, tuple[str, int]]) -> None:
        main_role = "video" if "video" in stored else ("audio" if "audio" in stored else next(iter(stored)))
        now = self.clock()
        expiry = now + self.download_ttl_ms

        def change(rec: Recording) -> Recording:
            out = transition(rec, Event.FILE_STORED, now)
            key, size = stored[main_role]
            out.files = {role: key for role, (key, _) in stored.items()}
            out.file_size = size
            out.recording_duration = round(outputs[main_role].duration_s)
            out.output_file_name = key.rsplit("/", 1)[-1]
            out.download_url_expiry_ms = expiry
            out.download_url = self.signer.url(self.public_url, key, expiry)
            if "audio" in stored:
                out.audio_download_url = self.signer.url(self.public_url, stored["audio"][0], expiry)
            return out

        self.store.update_recording(rec_id, change, now)
        log.info("recording %s: uploaded (%s)", rec_id, stored[main_role][0])

    def _finish_failed(self, rec_id: str, error: str) -> None:
        def change(rec: Recording) -> Recording:
            out = transition(rec, Event.UPLOAD_FAILED, self.clock())
            out.error = error
            return out

        self.store.update_recording(rec_id, change, self.clock())

    def _drop(self, rec_id: str) -> None:
        live = self.live.pop(rec_id, None)
        if live is not None and live.segment is not None:
            self.recorder.stop_segment(live.segment)

    # -- retention and orphans ------------------------------------------------------------------

    def sweep_retention(self, now: int) -> int:
        """Delete bucket copies past their expiry; the recording rows stay (``expired=true``)."""
        removed = 0
        for rec in self.store.expired_files(now):
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
