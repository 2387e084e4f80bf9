"""``recordkit sync``: archive a RealtimeKit app's recordings (metadata and files) into this data dir.

One run:

1. **Recheck** the recordings left ``pending`` (not final upstream) or ``failed`` by earlier runs:
   each is looked up again through the list endpoint (filtered by its meeting, so the item comes
   with its meeting object) and handled as below; one the upstream no longer lists is ``gone``.
2. **Walk** the upstream's list endpoint oldest first (``sort_order=ASC``) from the cursor (less
   ``OVERLAP_MS``, for recordings that show up late) or ``--since``, skipping ids already handled.
   Pages are fetched by keyset (``start_time`` = the last item's ``invoked_time``), not by page
   number, so recordings the upstream deletes meanwhile (RealtimeKit drops them after 7 days)
   cannot shift a page past unseen items.
3. **Refresh** the RecordKit links of archived recordings past half their lifetime.

Each recording: its meeting and metadata go in through the importer's path (``to_domain`` +
``store.import_recordings``: ids, times and statuses as the upstream has them); a final recording's
files (``download_url``, ``audio_download_url``) are downloaded before ``download_url_expiry``,
checked against ``Content-Length`` and ``file_size``, stored in the RecordKit bucket under
``{app}/{recording}/{file}``, and the archived recording's ``download_url`` becomes RecordKit's own
link to that copy. A recording whose files had expired (or whose link is refused: 403/404/410) keeps
the upstream's metadata as it is, is reported, and is not tried again. State is written as each
recording is finished (``recordkit.sync.state``), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import msgspec

from recordkit.blobs.bucket import Bucket
from recordkit.client import Client
from recordkit.client import models as api
from recordkit.client.errors import (
    DownloadError,
    GoneError,
    NotFoundError,
    PermissionDeniedError,
    RecordKitAPIError,
    RecordKitClientError,
)
from recordkit.client.models import format_time
from recordkit.domain.importing import WireMeeting, WireRecording, to_domain
from recordkit.domain.keys import check_name, object_key
from recordkit.domain.models import Meeting, Recording
from recordkit.domain.ports import RecordingStore
from recordkit.domain.timefmt import now_ms
from recordkit.errors import InvalidRequest, RecordKitError
from recordkit.sync.state import RETRIED, SyncState

OVERLAP_MS = 10 * 60_000  # a rerun lists from this long before the cursor
PER_PAGE = 100
NON_FINAL = frozenset({"INVOKED", "RECORDING", "PAUSED", "UPLOADING"})
REFUSED = (GoneError, NotFoundError, PermissionDeniedError)  # a link that no longer opens
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


# -- what a run tells ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    recording_id: str
    kind: str  # "expired", "failed" or "gone"
    message: str


@dataclass
class SyncReport:
    listed: int = 0  # recordings looked at (new ones, and rechecked ones)
    copied: int = 0  # archived with their files
    metadata_only: int = 0  # final with no file to copy (ERRORED, or no download_url)
    pending: int = 0  # not final upstream yet: metadata copied, files on a later run
    expired: int = 0  # final, but the files had expired: metadata copied, reported
    failed: int = 0  # went wrong; tried again on the next run
    skipped: int = 0  # final in a status --status leaves out
    gone: int = 0  # pending or failed before, and no longer listed upstream
    files: int = 0
    bytes: int = 0
    links_refreshed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out


class Reporter(Protocol):
    """Progress, for a terminal (see ``recordkit.cli.sync``); every method may do nothing."""

    def listing(self, total: int) -> None: ...

    def recording_done(self, recording_id: str, outcome: str) -> None: ...

    def file_started(self, name: str, total: int | None) -> None: ...

    def file_progress(self, done: int, total: int | None) -> None: ...

    def file_done(self) -> None: ...

    def problem(self, problem: Problem) -> None: ...


class QuietReporter:
    def listing(self, total: int) -> None:
        pass

    def recording_done(self, recording_id: str, outcome: str) -> None:
        pass

    def file_started(self, name: str, total: int | None) -> None:
        pass

    def file_progress(self, done: int, total: int | None) -> None:
        pass

    def file_done(self) -> None:
        pass

    def problem(self, problem: Problem) -> None:
        pass


# -- the source and the archive ---------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    base_url: str
    account_id: str
    app_id: str


@dataclass(frozen=True)
class Target:
    account_id: str
    app_id: str


def ensure_target(store: RecordingStore, target: Target, app_name: str, *, now: int) -> bool:
    """Create the destination account and app (with these ids) when missing; True if anything was made."""
    made = False
    if store.get_account(target.account_id) is None:
        store.create_account(target.account_id, now=now)
        made = True
    app = store.get_app(target.app_id)
    if app is None:
        store.create_app(target.account_id, app_name, target.app_id, now=now)
        made = True
    elif app.account_id != target.account_id:
        raise InvalidRequest(f"app {target.app_id} belongs to account {app.account_id}, not {target.account_id}")
    return made


def wire_of(item: api.Recording) -> WireRecording:
    """A list item of the typed client as the importer reads one (times in the wire's form)."""
    m = item.meeting
    meeting = None
    if m is not None:
        meeting = WireMeeting(
            id=m.id,
            created_at=format_time(m.created_at),
            updated_at=format_time(m.updated_at),
            title=m.title,
            status=m.status,
            record_on_start=m.record_on_start,
            live_stream_on_start=m.live_stream_on_start,
            persist_chat=m.persist_chat,
            summarize_on_end=m.summarize_on_end,
            transcribe_on_end=m.transcribe_on_end,
            session_keep_alive_time_in_secs=m.session_keep_alive_time_in_secs,
            recording_config=m.recording_config,
            ai_config=m.ai_config,
        )

    def opt(value: datetime | None) -> str | None:
        return None if value is None else format_time(value)

    def reason(value: api.Reason | None) -> dict[str, Any] | None:
        return None if value is None else msgspec.to_builtins(value)

    return WireRecording(
        id=item.id,
        status=item.status,
        invoked_time=format_time(item.invoked_time),
        meeting=meeting,
        session_id=item.session_id,
        started_time=opt(item.started_time),
        stopped_time=opt(item.stopped_time),
        download_url=item.download_url,
        audio_download_url=item.audio_download_url,
        download_url_expiry=opt(item.download_url_expiry),
        file_size=item.file_size,
        output_file_name=item.output_file_name,
        recording_duration=item.recording_duration,
        storage_config=item.storage_config,
        start_reason=reason(item.start_reason),
        stop_reason=reason(item.stop_reason),
    )


def file_names(item: api.Recording) -> dict[str, tuple[str, str, int | float | None]]:
    """``{role: (url, object name, expected size)}`` of the files a recording has upstream."""
    out: dict[str, tuple[str, str, int | float | None]] = {}
    if item.download_url:
        name = _safe_name(item.output_file_name) or _safe_name(_leaf(item.download_url)) or f"{item.id}.mp4"
        out["video"] = (item.download_url, name, item.file_size)
    if item.audio_download_url:
        name = _safe_name(_leaf(item.audio_download_url)) or f"{item.id}_audio.m4a"
        if name == out.get("video", ("", "", None))[1]:
            name = f"audio_{name}"
        out["audio"] = (item.audio_download_url, name, None)
    return out


def _leaf(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _safe_name(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return check_name(name)
    except InvalidRequest:
        return None


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class _Row:
    rec: Recording
    meeting: Meeting
    state: str
    status: str
    invoked_ms: int
    files: dict[str, Any] | None = None
    link_expiry_ms: int | None = None
    note: str | None = None


class Archiver:
    """Copies one upstream app into one app of this data dir; ``run()`` once per pass."""

    def __init__(
        self,
        client: Client,
        source: Source,
        target: Target,
        *,
        store: RecordingStore,
        bucket: Bucket,
        state: SyncState,
        scratch: Path,
        link_ttl_ms: int,
        statuses: Iterable[str] | None = None,
        since: datetime | None = None,
        reporter: Reporter | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.client = client
        self.recordings = client.realtime_kit.recordings
        self.source = source
        self.target = target
        self.store = store
        self.bucket = bucket
        self.state = state
        self.scratch = scratch
        self.link_ttl_ms = link_ttl_ms
        self.statuses = frozenset(s.upper() for s in statuses) if statuses else None
        self.since_ms = None if since is None else to_ms(since)
        self.reporter: Reporter = reporter or QuietReporter()
        self.clock = clock
        self.key = f"{source.base_url}|{source.account_id}|{source.app_id}|{target.app_id}"
        self._batch: list[_Row] = []
        self._seen_ms: int | None = None  # the latest invoked_time handled since the last flush

    # -- one pass ------------------------------------------------------------------------------

    def run(self) -> SyncReport:
        report = SyncReport()
        started = time.perf_counter()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        try:
            self._recheck(report)
            self._walk(report)
            self._refresh_links(report)
            self.state.finish_run(self.key, self.clock())
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            report.seconds = time.perf_counter() - started
        return report

    def _recheck(self, report: SyncReport) -> None:
        entries = self.state.entries(self.key, RETRIED)
        if not entries:
            return
        by_meeting: dict[str | None, set[str]] = {}
        for entry in entries:
            by_meeting.setdefault(entry.meeting_id, set()).add(entry.id)
        for meeting_id, ids in by_meeting.items():
            found: dict[str, api.Recording] = {}
            if meeting_id is not None:
                for item in self.recordings.iter_recordings(
                    self.source.app_id, account_id=self.source.account_id, meeting_id=meeting_id, sort_order="ASC"
                ):
                    if item.id in ids:
                        found[item.id] = item
            else:
                for rid in ids:
                    for item in self.recordings.iter_recordings(
                        self.source.app_id, account_id=self.source.account_id, search=rid
                    ):
                        if item.id == rid:
                            found[rid] = item
            for rid in sorted(ids):
                again = found.get(rid)
                if again is None:
                    self._gone(rid, report)
                else:
                    report.listed += 1
                    self._handle(again, report)
            self._flush(report)

    def _walk(self, report: SyncReport) -> None:
        cursor = self.state.cursor(self.key)
        start_ms = self.since_ms
        if cursor is not None:
            from_cursor = cursor - OVERLAP_MS
            start_ms = from_cursor if start_ms is None else max(start_ms, from_cursor)
        listed = None if self.statuses is None else sorted(self.statuses | NON_FINAL)
        page_no = 1
        first = True
        while True:
            page = self.recordings.get_recordings(
                self.source.app_id,
                account_id=self.source.account_id,
                sort_order="ASC",
                start_time=None if start_ms is None else from_ms(start_ms),
                status=listed,
                page_no=page_no,
                per_page=PER_PAGE,
            )
            if first:
                self.reporter.listing(page.paging.total_count)
                first = False
            for item in page.data:
                if self.state.state_of(self.key, item.id) is not None:
                    self.reporter.recording_done(item.id, "known")
                    continue
                report.listed += 1
                self._handle(item, report)
            self._flush(report)
            if not page.data or page.paging.end_offset >= page.paging.total_count:
                return
            last_ms = to_ms(page.data[-1].invoked_time)
            if start_ms is not None and last_ms <= start_ms:
                page_no += 1  # a run of equal times longer than a page: step through it by page number
            else:
                start_ms, page_no = last_ms, 1

    def _refresh_links(self, report: SyncReport) -> None:
        now = self.clock()
        for entry in self.state.links_due(self.key, now + self.link_ttl_ms // 2):
            files: dict[str, Any] = entry.files or {}
            links = {role: self.bucket.link(str(info["key"]), now, self.link_ttl_ms) for role, info in files.items()}
            try:
                self.store.update_recording(entry.id, functools.partial(_relinked, links=links), now)
            except RecordKitError:
                continue  # removed from the archive meanwhile
            expiry = min(expiry for _, expiry in links.values()) if links else now + self.link_ttl_ms
            self.state.set_link_expiry(self.key, entry.id, expiry)
            report.links_refreshed += 1

    # -- one recording -------------------------------------------------------------------------

    def _handle(self, item: api.Recording, report: SyncReport) -> None:
        invoked = to_ms(item.invoked_time)
        self._seen_ms = invoked if self._seen_ms is None else max(self._seen_ms, invoked)
        wanted = self.statuses is None or item.status in self.statuses
        if item.is_final and not wanted:
            self._note(item, "skipped", f"status {item.status} not asked for")
            report.skipped += 1
            self.reporter.recording_done(item.id, "skipped")
            return
        try:
            rec, meeting = to_domain(wire_of(item), self.target.app_id)
        except InvalidRequest as exc:
            self._fail(item, f"cannot archive it: {exc.message}", report)
            return
        if not item.is_final:
            if wanted:
                self._batch.append(_Row(rec, meeting, "pending", item.status, invoked))
            else:
                self._note(item, "pending", None)
            report.pending += 1
            self.reporter.recording_done(item.id, "pending")
            return
        files = file_names(item)
        if not files:
            self._batch.append(_Row(rec, meeting, "done", item.status, invoked))
            report.metadata_only += 1
            self.reporter.recording_done(item.id, "metadata")
            return
        now = self.clock()
        expiry = rec.download_url_expiry_ms
        if expiry is not None and expiry <= now:
            message = f"files expired upstream at {format_time(from_ms(expiry))}; metadata archived"
            self._expired(rec, meeting, item, message, report)
            return
        stored: dict[str, tuple[str, int]] = {}
        refused: list[str] = []
        try:
            for role, (url, name, size) in files.items():
                try:
                    stored[role] = self._copy(rec.id, url, name, size)
                except REFUSED as exc:
                    refused.append(f"{role} link refused ({exc.status_code}: {exc.message})")
        except (RecordKitClientError, OSError) as exc:
            for key, _ in stored.values():
                with contextlib.suppress(Exception):
                    self.bucket.delete(key)
            self._fail(item, _describe(exc), report)
            return
        if "video" not in stored:
            for key, _ in stored.values():
                with contextlib.suppress(Exception):
                    self.bucket.delete(key)
            self._expired(rec, meeting, item, "; ".join(refused) + "; metadata archived", report)
            return
        now = self.clock()
        links = {role: self.bucket.link(key, now, self.link_ttl_ms) for role, (key, _) in stored.items()}
        rec.files = {role: key for role, (key, _) in stored.items()}
        rec.download_url, rec.download_url_expiry_ms = links["video"]
        rec.audio_download_url = links["audio"][0] if "audio" in links else None
        note = "; ".join(refused) or None
        if refused:
            report.problems.append(Problem(item.id, "expired", note or ""))
            self.reporter.problem(report.problems[-1])
        info = {role: {"key": key, "size": size} for role, (key, size) in stored.items()}
        self._batch.append(_Row(rec, meeting, "done", item.status, invoked, info, links["video"][1], note))
        report.copied += 1
        report.files += len(stored)
        report.bytes += sum(size for _, size in stored.values())
        self._flush(report)  # the files are in the bucket: record it now, not at the end of the page
        self.reporter.recording_done(item.id, "copied")

    def _copy(self, recording_id: str, url: str, name: str, size: int | float | None) -> tuple[str, int]:
        """Download one file into scratch, check it, put it in the bucket; ``(key, size)``."""
        folder = self.scratch / recording_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.reporter.file_started(name, int(size) if size is not None else None)
        try:
            got = self.client.download(url, path, expected_size=size, on_progress=self.reporter.file_progress)
        finally:
            self.reporter.file_done()
        key = object_key(self.target.app_id, recording_id, name)
        put = self.bucket.put_file(key, path)
        path.unlink(missing_ok=True)
        if put != got.size:
            raise DownloadError(f"{name}: {got.size} bytes downloaded, {put} stored")
        return key, put

    def _expired(self, rec: Recording, meeting: Meeting, item: api.Recording, message: str, report: SyncReport) -> None:
        self._batch.append(_Row(rec, meeting, "expired", item.status, to_ms(item.invoked_time), note=message))
        report.expired += 1
        report.problems.append(Problem(item.id, "expired", message))
        self.reporter.problem(report.problems[-1])
        self.reporter.recording_done(item.id, "expired")

    def _fail(self, item: api.Recording, message: str, report: SyncReport) -> None:
        self._note(item, "failed", message)
        report.failed += 1
        report.problems.append(Problem(item.id, "failed", message))
        self.reporter.problem(report.problems[-1])
        self.reporter.recording_done(item.id, "failed")

    def _gone(self, recording_id: str, report: SyncReport) -> None:
        message = "no longer listed upstream"
        now = self.clock()
        self.state.record(
            self.key, recording_id, "gone", status=None, meeting_id=None, invoked_ms=None, now_ms=now, note=message
        )
        report.gone += 1
        report.problems.append(Problem(recording_id, "gone", message))
        self.reporter.problem(report.problems[-1])

    def _note(self, item: api.Recording, state: str, note: str | None) -> None:
        """A state with nothing to write to the archive (or a failure): recorded at once."""
        self.state.record(
            self.key,
            item.id,
            state,
            status=item.status,
            meeting_id=item.meeting_id,
            invoked_ms=to_ms(item.invoked_time),
            now_ms=self.clock(),
            note=note,
        )

    def _flush(self, report: SyncReport) -> None:
        """Write the batch's recordings and meetings to the archive, then their state, then the cursor
        (every recording handled so far is recorded by then, so a rerun from the cursor misses none)."""
        if self._batch:
            self._write(self._batch, report)
            self._batch = []
        if self._seen_ms is not None:
            self.state.advance(self.key, self._seen_ms)
            self._seen_ms = None

    def _write(self, batch: list[_Row], report: SyncReport) -> None:
        try:
            self.store.import_recordings(
                self.target.app_id, [(row.rec, row.meeting) for row in batch], now=self.clock()
            )
            written = batch
        except RecordKitError:
            written = []
            for row in batch:  # one of them cannot be written (an id of another app?): find which
                try:
                    self.store.import_recordings(self.target.app_id, [(row.rec, row.meeting)], now=self.clock())
                    written.append(row)
                except RecordKitError as exc:
                    self._undo(row, report)
                    problem = Problem(row.rec.id, "failed", f"cannot archive it: {exc.message}")
                    self.state.record(
                        self.key,
                        row.rec.id,
                        "failed",
                        status=row.status,
                        meeting_id=row.meeting.id,
                        invoked_ms=row.invoked_ms,
                        now_ms=self.clock(),
                        note=problem.message,
                    )
                    report.failed += 1
                    report.problems.append(problem)
                    self.reporter.problem(problem)
        now = self.clock()
        for row in written:
            self.state.record(
                self.key,
                row.rec.id,
                row.state,
                status=row.status,
                meeting_id=row.meeting.id,
                invoked_ms=row.invoked_ms,
                now_ms=now,
                files=row.files,
                link_expiry_ms=row.link_expiry_ms,
                note=row.note,
            )

    def _undo(self, row: _Row, report: SyncReport) -> None:
        """A copied recording that could not be written: its files leave the bucket, the counts drop."""
        if row.state == "done" and row.files:
            for info in row.files.values():
                with contextlib.suppress(Exception):
                    self.bucket.delete(str(info["key"]))
            report.copied -= 1
            report.files -= len(row.files)
            report.bytes -= sum(int(info["size"]) for info in row.files.values())
        elif row.state == "done":
            report.metadata_only -= 1
        elif row.state == "pending":
            report.pending -= 1
        elif row.state == "expired":
            report.expired -= 1


def _relinked(rec: Recording, links: dict[str, tuple[str, int]]) -> Recording:
    """The recording with fresh links to its archived files."""
    main = links.get("video")
    return msgspec.structs.replace(
        rec,
        download_url=main[0] if main else rec.download_url,
        download_url_expiry_ms=main[1] if main else rec.download_url_expiry_ms,
        audio_download_url=links["audio"][0] if "audio" in links else rec.audio_download_url,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecordKitAPIError):
        return f"download failed: HTTP {exc.status_code}: {exc.message}"
    return f"download failed: {exc}"
