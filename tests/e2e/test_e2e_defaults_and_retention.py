"""App defaults under meeting and start-body settings (start > meeting > app), and the retention sweep.

Both against a live ``recordkit serve`` through the official SDK, checking the real files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.media import ffprobe, streams
from tests.support.recording import Kit, Tenant
from tests.support.servers import RkServer, cli_json, database_env

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

RECORDING_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 45.0


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]
) -> Iterator[tuple[RkServer, Tenant]]:
    srv = RkServer(
        tmp_path_factory.mktemp("rec-defaults"),
        env={**databases(), "RECORDKIT_DOWNLOAD_TTL_SECONDS": "3", "RECORDKIT_RETENTION_INTERVAL_SECONDS": "0.5"},
    )
    tenant = Tenant.create(srv)
    srv.start()
    try:
        yield srv, tenant
    finally:
        srv.stop()


def _record(kit: Kit, meeting: str, seconds: float = 2.0, **body: object) -> object:
    rec = kit.start(meeting, **body)
    kit.wait(rec.id, {"RECORDING"}, RECORDING_TIMEOUT)
    time.sleep(seconds)
    kit.act(rec.id, "stop")
    final = kit.wait(rec.id, {"UPLOADED", "ERRORED"}, UPLOAD_TIMEOUT)
    assert final.status == "UPLOADED", final
    return final


def test_start_body_overrides_meeting_which_overrides_app(server: tuple[RkServer, Tenant], tmp_path: Path) -> None:
    _, tenant = server
    app_config = {
        "video_config": {"codec": "H264", "width": 320, "height": 240},
        "audio_config": {"codec": "MP3", "channel": "stereo"},
        "file_name_prefix": "appdefault",
    }
    shown = cli_json(*tenant.app_config_args(json.dumps(app_config)))
    assert shown["recording_config"]["video_config"]["width"] == 320
    with tenant.sdk() as client:
        kit = Kit(tenant, client)
        # The meeting overrides the channel and the prefix; the start body overrides the height.
        meeting = kit.meeting(
            "defaults", recording_config={"audio_config": {"channel": "mono"}, "file_name_prefix": "meetingwide"}
        )
        final = _record(kit, meeting, video_config={"height": 160})
    assert final.output_file_name.startswith("meetingwide_")
    target = tmp_path / "defaults.mp4"
    target.write_bytes(httpx.get(final.download_url, timeout=30).content)
    info = ffprobe(target)
    (video,) = streams(info, "video")
    (audio,) = streams(info, "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 160)
    assert (audio["codec_name"], audio["channels"]) == ("mp3", 1)


def test_retention_sweep_deletes_the_bucket_copy_and_keeps_the_row(server: tuple[RkServer, Tenant]) -> None:
    srv, tenant = server
    with tenant.sdk() as client:
        kit = Kit(tenant, client)
        meeting = kit.meeting("retention")
        final = _record(kit, meeting, seconds=1.5, video_config={"width": 160, "height": 120})
        bucket = srv.data_dir / "bucket" / tenant.app / final.id
        assert any(bucket.iterdir()), "the file is in the bucket while the link is valid"
        assert httpx.get(final.download_url, timeout=30).status_code == 200
        deadline = time.monotonic() + 20
        while bucket.exists() and any(bucket.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not bucket.exists() or not any(bucket.iterdir()), "the sweep removed the expired copy"
        gone = httpx.get(final.download_url, timeout=30)
        assert gone.status_code == 410
        assert gone.json() == {"success": False, "error": {"code": 410, "message": gone.json()["error"]["message"]}}
        # The row stays, UPLOADED, and the expired filter agrees with the sweep.
        assert kit.get(final.id).status == "UPLOADED"
        expired = client.realtime_kit.recordings.get_recordings(tenant.app, account_id=tenant.account, expired=True)
        assert final.id in [r.id for r in expired.data or []]
        fresh = client.realtime_kit.recordings.get_recordings(tenant.app, account_id=tenant.account, expired=False)
        assert final.id not in [r.id for r in fresh.data or []]


def test_app_config_refuses_bad_values(server: tuple[RkServer, Tenant]) -> None:
    _, tenant = server
    from click.testing import CliRunner

    from recordkit.cli.main import main

    args = tenant.app_config_args('{"max_seconds": 5}')
    result = CliRunner().invoke(main, args, env=database_env(args))  # the server's store
    assert result.exit_code != 0
    assert "recording_config.max_seconds" in result.output
