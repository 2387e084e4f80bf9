"""Storage secrets inside a meeting's or an app's recording_config are encrypted at rest."""

from __future__ import annotations

from pathlib import Path

from recordkit.domain.models import Meeting
from recordkit.domain.timefmt import now_ms
from recordkit.settings import Settings
from recordkit.store.factory import open_store

CONFIG = {
    "storage_config": {"type": "sftp", "host": "h", "password": "PW-plain-3141", "private_key": "KEY-plain-2718"},
    "max_seconds": 120,
}


def test_secrets_in_recording_configs_never_reach_the_disk_in_clear(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    account = store.create_account(now=now_ms())
    app = store.create_app(account.id, "x", now=now_ms())
    meeting = Meeting(id="11111111-1111-4111-8111-111111111111", app_id=app.id, created_ms=0, updated_ms=0)
    meeting.recording_config = CONFIG
    store.create_meeting(meeting)
    store.set_app_recording_config(app.id, CONFIG)
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("recordkit.sqlite3*"))
    assert b"PW-plain-3141" not in on_disk and b"KEY-plain-2718" not in on_disk
    # ... and the store gives them back whole to the code that needs them (a destination, later).
    found = store.get_meeting(app.id, meeting.id)
    assert found is not None and found.recording_config == CONFIG
    app_found = store.get_app(app.id)
    assert app_found is not None and app_found.recording_config == CONFIG
    store.close()
