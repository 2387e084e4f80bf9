"""``OpsQueries`` (readiness and the metrics' store numbers) on SQLite and PostgreSQL: the same
answers from both, from the counters and the partial indexes."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from recordkit.domain.models import Meeting, Recording, Webhook
from recordkit.domain.opsview import OpsQueries
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Unavailable
from recordkit.security.cipher import SecretCipher
from recordkit.store.sqlite import SqliteRecordingStore

NOW = now_ms()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    cipher = SecretCipher([Fernet.generate_key()])
    if request.param == "sqlite":
        made: Any = SqliteRecordingStore(tmp_path / "data" / "recordkit.sqlite3", cipher)
    else:
        url: str = request.getfixturevalue("pg_url")
        from recordkit.store.postgres import PostgresRecordingStore

        made = PostgresRecordingStore(url, cipher)
    yield made
    made.close()


def _tenant(store: Any) -> tuple[str, str]:
    account = store.create_account(now=NOW)
    app = store.create_app(account.id, "ops", now=NOW)
    meeting = Meeting(id=str(uuid.uuid4()), app_id=app.id, created_ms=NOW, updated_ms=NOW, title="ops")
    store.create_meeting(meeting)
    return app.id, meeting.id


def _recording(app_id: str, meeting_id: str, status: str, invoked_ms: int) -> Recording:
    return Recording(id=str(uuid.uuid4()), app_id=app_id, meeting_id=meeting_id, status=status, invoked_ms=invoked_ms)


def test_the_snapshot_counts_recordings_and_unfinished_jobs(store: Any) -> None:
    ops: OpsQueries = store.ops_queries()
    empty = ops.snapshot(NOW)
    assert empty.recordings == {} and empty.jobs == {}

    app_id, meeting_id = _tenant(store)
    made = [
        ("INVOKED", NOW - 5_000),
        ("INVOKED", NOW - 9_000),
        ("RECORDING", NOW - 60_000),
        ("UPLOADING", NOW - 1_000),
        ("UPLOADED", NOW - 600_000),
        ("ERRORED", NOW - 700_000),
    ]
    for status, invoked in made:
        store.insert_recording(_recording(app_id, meeting_id, status, invoked), exclusive=False, now=NOW)

    snap = ops.snapshot(NOW)
    assert snap.recordings == {"INVOKED": 2, "RECORDING": 1, "UPLOADING": 1, "UPLOADED": 1, "ERRORED": 1}
    assert snap.jobs == {"INVOKED": (2, NOW - 9_000), "RECORDING": (1, NOW - 60_000), "UPLOADING": (1, NOW - 1_000)}


def test_the_snapshot_leaves_imported_recordings_out_of_the_job_queue(store: Any, tmp_path: Path) -> None:
    """Imported rows are records only (no worker runs them): counted, never a job."""
    from recordkit.importer import import_file

    app_id, _ = _tenant(store)
    meeting = {
        "id": str(uuid.uuid4()),
        "title": "imported",
        "created_at": "2024-05-01T00:00:00.000Z",
        "updated_at": "2024-05-01T00:00:00.000Z",
        "status": "ACTIVE",
    }
    row = {"id": str(uuid.uuid4()), "status": "RECORDING", "invoked_time": "2024-05-10T10:00:00.000Z"}
    line = json.dumps({**row, "meeting": meeting}) + "\n"
    path = tmp_path / "one.jsonl"
    path.write_text(line)
    assert import_file(store, path, app_id, workers=1).written == 1
    snap = store.ops_queries().snapshot(NOW)
    assert snap.recordings == {"RECORDING": 1}
    assert snap.jobs == {}


def test_the_webhook_backlog_is_the_pending_deliveries(store: Any) -> None:
    if not hasattr(store, "create_webhook"):
        pytest.skip(f"{type(store).__name__} has no webhook outbox yet")
    ops = store.ops_queries()
    assert ops.snapshot(NOW).webhooks is not None
    app_id, meeting_id = _tenant(store)
    store.create_webhook(
        Webhook(
            id=str(uuid.uuid4()),
            app_id=app_id,
            name="ops",
            url="http://127.0.0.1:9/hook",
            events=("recording.statusUpdate",),
            enabled=True,
            created_ms=NOW,
            updated_ms=NOW,
        )
    )
    before = now_ms()
    store.insert_recording(_recording(app_id, meeting_id, "INVOKED", NOW), exclusive=False, now=NOW)
    later = now_ms() + 1
    snap = ops.snapshot(later)
    assert snap.webhooks is not None
    assert (snap.webhooks.pending, snap.webhooks.due) == (1, 1)
    assert snap.webhooks.oldest_pending_ms is not None and before - 5 <= snap.webhooks.oldest_pending_ms <= later
    assert ops.snapshot(before - 60_000).webhooks.due == 0  # type: ignore[union-attr]  # not yet due then


def test_check_reads_the_schema_version(store: Any) -> None:
    state = store.ops_queries().check()
    assert state.current == state.expected > 0 and not state.behind


def test_sqlite_check_fails_when_the_file_is_gone_although_connections_hold_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "recordkit.sqlite3"
    store = SqliteRecordingStore(path, SecretCipher([Fernet.generate_key()]))
    try:
        ops = store.ops_queries()
        assert not ops.check().behind
        store.create_account(now=NOW)  # the store's own connection stays open on the file
        path.rename(tmp_path / "moved.sqlite3")
        with pytest.raises(Unavailable, match="database"):
            ops.check()
        (tmp_path / "moved.sqlite3").rename(path)
        assert not ops.check().behind

        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 2")
        conn.close()
        state = ops.check()
        assert state.behind and (state.current, state.expected) == (2, ops.check().expected)
    finally:
        store.close()
