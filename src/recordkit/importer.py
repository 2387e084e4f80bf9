"""``recordkit import``: load recordings from JSON Lines or a whole list response.

Two passes. The first decodes, validates and converts every line once (and checks that no id
belongs to another app) into a scratch SQLite file, with one worker process per core on big JSON
Lines files; any bad line is reported with its number and nothing is written. The second moves
the rows in with ``INSERT ... SELECT``, a batch per transaction, so a server running beside the
import keeps answering and writing. Importing the same id again updates it (the last one wins).
"""

from __future__ import annotations

import array
import itertools
import logging
import mmap
import multiprocessing
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, KeysView
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from recordkit.domain.importing import decode_list_response, decode_recording, item_json, to_domain
from recordkit.domain.models import Meeting, Recording
from recordkit.domain.timefmt import now_ms
from recordkit.errors import InvalidRequest
from recordkit.leases import process_alive
from recordkit.settings import DEFAULT_IMPORT_BATCH
from recordkit.store.common.importing import ImportTarget
from recordkit.store.common.staging import Staging

BATCH = 20_000  # rows converted between checks of their ids (pass one)
# Rows per write transaction (pass two): bigger batches touch the id and meeting indexes' pages fewer
# times (1M rows: 87 s in batches of 20,000, 55 s in 100,000); a server beside the import waits for
# the writer lock up to a couple of seconds per batch (its busy timeout is 15 s).
WRITE_BATCH = DEFAULT_IMPORT_BATCH  # `recordkit import` passes RECORDKIT_IMPORT_BATCH (Settings.import_batch)
PARALLEL_FROM_BYTES = 8 << 20  # below this, forking workers costs more than it saves
MAX_ERRORS = 20
SCRATCH_PREFIX = "recordkit-import-"

log = logging.getLogger("recordkit.import")

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    lines: int = 0
    written: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)  # scratch folders of killed imports, removed

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(line number, raw JSON of one recording, bytes consumed) for JSON Lines or a list response."""
    with path.open("rb") as handle:
        first = handle.readline()
        whole = first.lstrip().startswith(b"{") and _is_list_document(first)
        if whole is None:  # the first line is not JSON alone: a pretty-printed list response?
            raw = first + handle.read()
            try:
                items = decode_list_response(raw)
            except InvalidRequest:
                if not _looks_like_json_lines(raw):
                    raise
                # JSON Lines with a broken first line: check line by line, so errors carry their numbers.
                yield from _numbered(raw.splitlines(keepends=True))
                return
            for index, item in enumerate(items, start=1):
                yield index, bytes(item), len(raw) if index == 1 else 0
            return
        if whole:
            raw = first + handle.read()
            for index, item in enumerate(decode_list_response(raw), start=1):
                yield index, bytes(item), len(raw) if index == 1 else 0
            return
        yield from _numbered(itertools.chain([first] if first else [], handle))


def _numbered(lines: Iterable[bytes], first: int = 1) -> Iterator[tuple[int, bytes, int]]:
    for number, line in enumerate(lines, start=first):
        yield number, (line if line.strip() else b""), len(line)


def _looks_like_json_lines(raw: bytes) -> bool:
    """A file that is neither one JSON document nor starts with a good line: is it JSON Lines?

    Yes when it has a single non-blank line, or when the first later line that is JSON by itself is
    a recording (an object with an ``id``); a pretty-printed document's lines are not JSON alone.
    """
    lines = [line for line in raw.splitlines() if line.strip()]
    if len(lines) <= 1:
        return True
    for line in lines[1:]:
        try:
            value = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue
        return isinstance(value, dict) and "id" in value
    return False


def _is_list_document(first: bytes) -> bool | None:
    try:
        value = msgspec.json.decode(first)
    except msgspec.DecodeError:
        return None
    return isinstance(value, dict) and "data" in value and "id" not in value


def _convert(
    number: int, raw: bytes, app_id: str, meetings: dict[str, Any] | None = None
) -> tuple[Recording, Meeting, bytes]:
    try:
        wire = decode_recording(raw)
        rec, meeting = to_domain(wire, app_id, meetings)
        return rec, meeting, item_json(wire, rec)
    except InvalidRequest as exc:
        raise InvalidRequest(f"line {number}: {exc.message}") from None


def import_file(
    store: ImportTarget,
    path: Path,
    app_id: str,
    progress: Progress | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    clock: Callable[[], int] = now_ms,
) -> ImportReport:
    """Check and convert every line (pass one, on every core), then write them (pass two).

    Killed in pass one, nothing was written. Killed in pass two, the file's meetings and whole
    batches of recordings are in (a batch is a run of ``invoked_time``; its rows and its counters
    commit together: never part of a line, never a count off) and the rest is not; importing the
    file again completes it (the same ids are updated, not added). ``clock`` (ms) dates pass two:
    rows already expired by its lapse cut are flagged ``lapsed``."""
    batch_size = batch_size or WRITE_BATCH
    report = ImportReport()
    tick = progress or (lambda n: None)
    report.swept = sweep_scratch()
    if report.swept:
        log.info("removed the scratch folders of killed imports: %s", ", ".join(report.swept))
    with tempfile.TemporaryDirectory(prefix=_scratch_prefix(os.getpid())) as scratch:
        try:
            stagings, disjoint = _stage_file(store, path, app_id, report, tick, Path(scratch), workers)
        except InvalidRequest as exc:  # a broken list document: no line to blame
            report.errors.append((0, exc.message))
            return report
        if report.errors:
            report.errors = sorted(report.errors)[:MAX_ERRORS]
            return report
        size = max(path.stat().st_size, 1)
        total = max(sum(rows for _, rows in stagings), 1)
        report.written = store.import_staged(
            app_id,
            [path for path, _ in stagings],
            batch_size,
            progress=lambda rows: tick(size * rows // total),
            disjoint=disjoint,
            now=clock(),
        )
    return report


def _scratch_prefix(pid: int) -> str:
    return f"{SCRATCH_PREFIX}{socket.gethostname()}-{pid}-"


def sweep_scratch(root: Path | None = None) -> list[str]:
    """Remove the scratch folders (pass one's staging files, up to the size of the input) that
    imports killed on this host left in the temp dir (``TMPDIR``); returns their names. A folder is
    its import's while that process lives: ``recordkit-import-<host>-<pid>-...``."""
    folder = Path(root or tempfile.gettempdir())
    mine = f"{SCRATCH_PREFIX}{socket.gethostname()}-"
    removed = []
    for entry in folder.glob(f"{mine}*"):
        pid_text = entry.name[len(mine) :].split("-", 1)[0]
        if not pid_text.isdigit() or process_alive(int(pid_text)) or not entry.is_dir():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


def _stage_file(
    store: ImportTarget,
    path: Path,
    app_id: str,
    report: ImportReport,
    tick: Progress,
    scratch: Path,
    workers: int | None,
) -> tuple[list[tuple[Path, int]], bool]:
    """The staging files in file order with their row counts, and whether no recording id is in
    more than one of them (then a later part never replaces an earlier part's row)."""
    size = path.stat().st_size
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or size < PARALLEL_FROM_BYTES or not _plain_json_lines(path):
        staging = Staging(scratch / "staging-0.sqlite3")
        try:
            lines, _ = _stage_rows(store, _rows(path), app_id, report.errors, tick, staging)
            report.lines += lines
        finally:
            staging.finish()
        return [(staging.path, staging.rows)], True
    chunks = _chunks(path, workers)
    done = multiprocessing.get_context("fork").Value("q", 0)
    global _FORKED
    _FORKED = (store, path, app_id, done)
    jobs = [
        (i, start, end, first_line, scratch / f"staging-{i}.sqlite3")
        for i, (start, end, first_line) in enumerate(chunks)
    ]
    results: list[tuple[int, int, int, list[tuple[int, str]], bytes]] = []
    with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("fork")) as pool:
        pending = [pool.submit(_stage_chunk, job) for job in jobs]
        reported = 0
        while not all(f.done() for f in pending):
            time.sleep(0.1)
            now = done.value
            tick(now - reported)
            reported = now
        results = [f.result() for f in pending]
        tick(done.value - reported)
    _FORKED = None
    out = []
    fingerprints: set[int] = set()
    hashed = 0
    for index, lines, rows, errors, hashes in sorted(results):
        report.lines += lines
        report.errors.extend(errors)
        out.append((jobs[index][4], rows))
        ids = array.array("q", hashes)
        fingerprints.update(ids)
        hashed += len(ids)
    # Equal hashes (a shared id, or rarely a collision) only cost pass two its cheap path.
    return out, len(fingerprints) == hashed


_FORKED: tuple[ImportTarget, Path, str, Any] | None = None


def _stage_chunk(job: tuple[int, int, int, int, Path]) -> tuple[int, int, int, list[tuple[int, str]], bytes]:
    """In a forked worker: convert one byte range of a JSON Lines file into its own staging file.

    Also returns the hashes of its recording ids (forked workers share the parent's string hashing),
    so that the parent can tell whether two parts hold one id."""
    index, start, end, first_line, staging_path = job
    assert _FORKED is not None
    store, path, app_id, done = _FORKED
    store.reset_connections()  # never share the parent's SQLite connections across fork

    def tick(n: int) -> None:
        with done.get_lock():
            done.value += n

    errors: list[tuple[int, str]] = []
    staging = Staging(staging_path)
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            lines = _bounded_lines(handle, end - start)
            count, ids = _stage_rows(store, _numbered(lines, first_line), app_id, errors, tick, staging)
    finally:
        staging.finish()
    return index, count, staging.rows, errors, array.array("q", map(hash, ids)).tobytes()


def _bounded_lines(handle: Any, limit: int) -> Iterator[bytes]:
    while limit > 0:
        line = handle.readline()
        if not line:
            return
        limit -= len(line)
        yield line


def _plain_json_lines(path: Path) -> bool:
    """JSON Lines whose first line is a recording: the form that can be split between workers."""
    with path.open("rb") as handle:
        first = handle.readline()
    return bool(first.strip()) and _is_list_document(first) is False


def _chunks(path: Path, parts: int) -> list[tuple[int, int, int]]:
    """``(start, end, first line number)`` byte ranges cut at line ends."""
    size = path.stat().st_size
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        cuts = [0]
        for i in range(1, parts):
            at = data.find(b"\n", size * i // parts)
            if at == -1 or at + 1 >= size:
                break
            if at + 1 > cuts[-1]:
                cuts.append(at + 1)
        cuts.append(size)
        out = []
        line = 1
        for start, end in itertools.pairwise(cuts):
            out.append((start, end, line))
            line += data[start:end].count(b"\n")
    return out


def _stage_rows(
    store: ImportTarget,
    rows: Iterable[tuple[int, bytes, int]],
    app_id: str,
    errors: list[tuple[int, str]],
    tick: Progress,
    staging: Staging,
) -> tuple[int, KeysView[str]]:
    """Convert rows into ``staging``; returns the number of lines seen and the recording ids staged.
    Errors go to ``errors``."""
    stamp = now_ms()
    app = store.app_seq(app_id)
    pending: list[tuple[int, str, str]] = []
    recordings: list[tuple[Any, ...]] = []
    meetings: list[tuple[Any, ...]] = []
    seen_meetings: dict[str, Meeting] = {}
    seen_recordings: dict[str, int] = {}  # id -> the rowid its latest line is staged as
    converted_meetings: dict[str, Any] = {}
    lines = 0
    consumed_since = 0

    def flush() -> None:
        clash = store.conflicting_ids(app_id, [p[1] for p in pending], [p[2] for p in pending])
        for number, rec_id, meeting_id in pending:
            for owned in (rec_id, meeting_id):
                if owned in clash and len(errors) < MAX_ERRORS:
                    errors.append((number, f"id {owned} belongs to another app"))
        pending.clear()
        if not errors:
            staging.add(recordings, meetings)
        recordings.clear()
        meetings.clear()

    for number, raw, consumed in rows:
        lines += 1
        consumed_since += consumed
        if consumed_since > 1 << 20:
            tick(consumed_since)
            consumed_since = 0
        if not raw.strip():
            continue
        try:
            rec, meeting, rendered = _convert(number, raw, app_id, converted_meetings)
        except InvalidRequest as exc:
            if len(errors) < MAX_ERRORS:
                errors.append((number, exc.message.split(": ", 1)[1]))
            continue
        if errors:
            continue  # keep checking, stop converting
        earlier = seen_recordings.get(rec.id)
        if earlier is not None:
            staging.supersede(earlier)
        seen_recordings[rec.id] = staging.next_rowid + len(recordings)
        pending.append((number, rec.id, meeting.id))
        if seen_meetings.get(meeting.id) != meeting:
            seen_meetings[meeting.id] = meeting
            meetings.append(store.meeting_row(meeting))
        recordings.append(store.recording_row(rec, stamp, app, rendered))
        if len(pending) >= BATCH:
            flush()
    if pending:
        flush()
    tick(consumed_since)
    return lines, seen_recordings.keys()
