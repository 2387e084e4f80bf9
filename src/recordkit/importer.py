"""``recordkit import``: load recordings from JSON Lines or a whole list response.

Two passes. The first decodes and validates every line (and checks that no id belongs to
another app) without writing; any bad line is reported with its number and nothing is written.
The second writes in batches, each one transaction, so a server running beside the import keeps
answering and writing. Importing the same id again updates it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from recordkit.domain.importing import decode_list_response, decode_recording, to_domain
from recordkit.domain.models import Meeting, Recording
from recordkit.errors import InvalidRequest
from recordkit.store.sqlite import SqliteRecordingStore

BATCH = 5000
MAX_ERRORS = 20

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    lines: int = 0
    written: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

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


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes, int]]:
    for number, line in enumerate(lines, start=1):
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


def _convert(number: int, raw: bytes, app_id: str) -> tuple[Recording, Meeting]:
    try:
        return to_domain(decode_recording(raw), app_id)
    except InvalidRequest as exc:
        raise InvalidRequest(f"line {number}: {exc.message}") from None


def import_file(
    store: SqliteRecordingStore,
    path: Path,
    app_id: str,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> ImportReport:
    report = ImportReport()
    tick = progress or (lambda n: None)
    try:
        _validate(store, path, app_id, report, tick)
    except InvalidRequest as exc:  # a broken list document: no line to blame
        report.errors.append((0, exc.message))
    if report.errors:
        return report
    batch: list[tuple[Recording, Meeting]] = []
    for number, raw, consumed in _rows(path):
        tick(consumed)
        if not raw.strip():
            continue
        batch.append(_convert(number, raw, app_id))
        if len(batch) >= batch_size:
            report.written += store.import_recordings(app_id, batch)
            batch = []
    if batch:
        report.written += store.import_recordings(app_id, batch)
    return report


def _validate(store: SqliteRecordingStore, path: Path, app_id: str, report: ImportReport, tick: Progress) -> None:
    pending: list[tuple[int, str, str]] = []

    def check_owners() -> None:
        clash = store.conflicting_ids(app_id, [p[1] for p in pending], [p[2] for p in pending])
        for number, rec_id, meeting_id in pending:
            for owned in (rec_id, meeting_id):
                if owned in clash and len(report.errors) < MAX_ERRORS:
                    report.errors.append((number, f"id {owned} belongs to another app"))
        pending.clear()

    for number, raw, consumed in _rows(path):
        tick(consumed)
        report.lines += 1
        if not raw.strip():
            continue
        try:
            rec, meeting = _convert(number, raw, app_id)
        except InvalidRequest as exc:
            if len(report.errors) < MAX_ERRORS:
                report.errors.append((number, exc.message.split(": ", 1)[1]))
            continue
        pending.append((number, rec.id, meeting.id))
        if len(pending) >= BATCH:
            check_owners()
    if pending:
        check_owners()
