"""``recordkit secrets rotate``: every stored secret re-encrypted under the first key.

Encrypt under key A; with RECORDKIT_SECRET_KEYS="B,A" rotate; then B alone opens everything (and A
alone nothing). Driven through the CLI entry point, checked through the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from recordkit.blobs.bucket import open_signer
from recordkit.cli.main import main
from recordkit.domain.models import Meeting, Recording
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Forbidden, Unavailable
from recordkit.settings import Settings
from recordkit.store.factory import open_store

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
MEETING = "11111111-1111-4111-8111-111111111111"
RECORDING = "22222222-2222-4222-8222-222222222222"
REC_SECRETS = {"access_key": "AKIA-ROTATE-1", "secret": "rotate-secret-value-1"}
CONFIG = {"storage_config": {"type": "sftp", "host": "h", "username": "u", "password": "rotate-pw-value-2"}}


def test_rotate_then_the_new_key_alone_opens_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = open_store(Settings(data_dir=data_dir, secret_keys=(KEY_A,)))
    account = store.create_account(now=now_ms())
    app = store.create_app(account.id, "x", now=now_ms())
    store.set_app_recording_config(app.id, CONFIG)
    meeting = Meeting(id=MEETING, app_id=app.id, created_ms=0, updated_ms=0, recording_config=CONFIG)
    store.create_meeting(meeting)
    rec = Recording(
        id=RECORDING,
        app_id=app.id,
        meeting_id=MEETING,
        status="UPLOADED",
        invoked_ms=0,
        storage_config={"type": "aws", "bucket": "b", "region": "us-east-1"},
        storage_secrets=REC_SECRETS,
    )
    store.insert_recording(rec, exclusive=False, now=0)
    link_signer = open_signer(store.cipher)
    link = link_signer.signature(f"{app.id}/{RECORDING}/x.mp4", 9_999_999_999_999)
    store.close()

    result = CliRunner().invoke(
        main,
        ["secrets", "rotate", "--data-dir", str(data_dir), "--json"],
        env={"RECORDKIT_SECRET_KEYS": f"{KEY_B},{KEY_A}"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"recordings": 1, "meetings": 1, "apps": 1, "unreadable": 0}

    # A download link made under A still verifies while A is configured after B.
    both = open_store(Settings(data_dir=data_dir, secret_keys=(KEY_B, KEY_A)))
    open_signer(both.cipher).verify(f"{app.id}/{RECORDING}/x.mp4", "9999999999999", link, 0)
    both.close()

    only_b = open_store(Settings(data_dir=data_dir, secret_keys=(KEY_B,)))
    try:
        assert only_b.recording_secrets(RECORDING) == REC_SECRETS
        found_app = only_b.get_app(app.id)
        assert found_app is not None and found_app.recording_config == CONFIG
        found_meeting = only_b.get_meeting(app.id, MEETING)
        assert found_meeting is not None and found_meeting.recording_config == CONFIG
        with pytest.raises(Forbidden):  # ... and once A is dropped, so are A's links
            open_signer(only_b.cipher).verify(f"{app.id}/{RECORDING}/x.mp4", "9999999999999", link, 0)
    finally:
        only_b.close()

    only_a = open_store(Settings(data_dir=data_dir, secret_keys=(KEY_A,)))
    try:
        with pytest.raises(Unavailable):
            only_a.recording_secrets(RECORDING)
        with pytest.raises(Unavailable):
            only_a.get_app(app.id)
    finally:
        only_a.close()

    # Nothing readable in the database file, before or after.
    on_disk = b"".join(p.read_bytes() for p in data_dir.glob("recordkit.sqlite3*"))
    for value in (*REC_SECRETS.values(), "rotate-pw-value-2"):
        assert value.encode() not in on_disk


def test_rotate_reports_what_no_key_opens(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = open_store(Settings(data_dir=data_dir, secret_keys=(KEY_A,)))
    account = store.create_account(now=now_ms())
    store.set_app_recording_config(store.create_app(account.id, "x", now=now_ms()).id, CONFIG)
    store.close()
    result = CliRunner().invoke(
        main, ["secrets", "rotate", "--data-dir", str(data_dir)], env={"RECORDKIT_SECRET_KEYS": KEY_B}
    )
    assert result.exit_code == 1
    assert "unreadable with the configured keys: 1" in result.output
    assert "rotate-pw-value-2" not in result.output


def test_generate_key_prints_a_usable_key() -> None:
    result = CliRunner().invoke(main, ["secrets", "generate-key"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())
