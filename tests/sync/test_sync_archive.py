"""``recordkit sync`` from a live ``recordkit serve`` (the upstream: it speaks RealtimeKit's API) into data dirs.

The upstream's recordings are imported with download links on a local file server (so the tests
control expiry, refusals and timing), plus one real recording made by the upstream's recorder
(its link is the upstream's own signed URL). Each test syncs one upstream app into a fresh data
dir with the real ``recordkit`` command, and reads the archive back through a RecordKit server
on that data dir. Interrupted runs, failures and options: ``test_sync_resume.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from recordkit.client import Client
from tests.support.data import iso
from tests.support.servers import free_port
from tests.support.sync import (
    LINK_FIELDS,
    NOW,
    Upstream,
    archive_server,
    listing,
    make_real_recording,
    meeting,
    recording,
    sync,
    uid,
)

pytestmark = pytest.mark.e2e


def test_sync_copies_everything_a_rerun_nothing_and_picks_up_what_finished(upstream: Upstream, tmp_path: Path) -> None:
    up, fs = upstream, upstream.files
    start = NOW - timedelta(hours=6)
    meets = [meeting(f"a{i}", start - timedelta(days=1)) for i in range(3)]
    content: dict[str, bytes] = {}
    rows: list[dict[str, Any]] = []
    for i in range(8):
        name = f"a-ok-{i}"
        content[name] = os.urandom(3000 + 7919 * i)
        url = fs.add(f"/a/{name}.mp4", content[name])
        audio = None
        if i % 2 == 0:
            content[name + "-audio"] = os.urandom(1000 + 31 * i)
            audio = fs.add(f"/a/{name}.m4a", content[name + "-audio"])
        invoked = start + timedelta(minutes=7 * i)
        rows.append(
            recording(name, meets[i % 3], "UPLOADED", invoked, url=url, audio_url=audio, size=len(content[name]),
                      expiry=NOW + timedelta(days=6))
        )  # fmt: skip
    for i in range(3):  # links that had expired before the sync came
        url = fs.add(f"/a/a-past-{i}.mp4", b"never fetched")
        rows.append(
            recording(f"a-past-{i}", meets[0], "UPLOADED", start + timedelta(minutes=3 + 11 * i), url=url, size=13,
                      expiry=NOW - timedelta(days=1, minutes=i))
        )  # fmt: skip
    fs.refuse["/a/a-refused.mp4"] = 410  # expiry says later, the link says no
    rows.append(
        recording("a-refused", meets[1], "UPLOADED", start + timedelta(minutes=50), url=f"{fs.origin}/a/a-refused.mp4",
                  size=100, expiry=NOW + timedelta(days=2))
    )  # fmt: skip
    rows += [recording(f"a-err-{i}", meets[2], "ERRORED", start + timedelta(minutes=5 + 13 * i)) for i in range(3)]
    live = [recording(f"a-live-{i}", meets[i], "RECORDING", start + timedelta(minutes=61 + i)) for i in range(2)]
    app = up.app("sync-a", [])
    with ThreadPoolExecutor(1) as pool:  # the real recording takes seconds: record while the rest is imported
        real = pool.submit(make_real_recording, up, app)
        up.load(app, rows + live, "sync-a")
        real_id = real.result()

    data = tmp_path / "archive" / "data"
    port = free_port()
    code, runs, _ = sync(up, app, data, "--public-url", f"http://127.0.0.1:{port}", process=True)
    first = runs[-1]
    assert code == 0
    assert {k: first[k] for k in ("listed", "copied", "expired", "metadata_only", "pending", "failed", "gone")} == {
        "listed": 8 + 3 + 1 + 3 + 2 + 1,
        "copied": 9,
        "expired": 4,
        "metadata_only": 3,
        "pending": 2,
        "failed": 0,
        "gone": 0,
    }
    assert first["files"] == 8 + 4 + 2
    assert sorted(p["recording_id"] for p in first["problems"]) == sorted(
        [uid(f"recording a-past-{i}") for i in range(3)] + [uid("recording a-refused")]
    )
    assert all(p["kind"] == "expired" for p in first["problems"])
    assert any("410" in p["message"] for p in first["problems"])
    assert all(fs.hits[f"/a/a-past-{i}.mp4"] == 0 for i in range(3)), "an expired link is not even tried"
    assert not (data / "sync-tmp").exists()

    # The archive, read through a RecordKit server on it: same account, app, meetings and recordings.
    archive, token = archive_server(data, up.tenant.account, port)
    try:
        source = listing(up.server.base_url, up.tenant.token, up.tenant.account, app)
        copied = listing(archive.base_url, token, up.tenant.account, app)
        assert list(copied) == list(source)
        for rec_id, theirs in source.items():
            mine = copied[rec_id]
            assert {k: v for k, v in mine.items() if k not in LINK_FIELDS} == {
                k: v for k, v in theirs.items() if k not in LINK_FIELDS
            }, rec_id
            if (
                mine["status"] == "UPLOADED"
                and theirs["download_url"]
                and rec_id not in {p["recording_id"] for p in first["problems"]}
            ):
                assert mine["download_url"].startswith(archive.origin + "/client/v4/files/" + app + "/" + rec_id)
                got = httpx.get(mine["download_url"], timeout=30)
                assert got.status_code == 200
                assert got.content == httpx.get(theirs["download_url"], timeout=30).content
                assert len(got.content) == mine["file_size"]
                if theirs["audio_download_url"]:
                    audio = httpx.get(mine["audio_download_url"]).content
                    assert audio == httpx.get(theirs["audio_download_url"]).content
                else:
                    assert mine["audio_download_url"] is None
            else:  # expired, errored or not finished: the upstream's metadata as it is
                assert {k: mine[k] for k in LINK_FIELDS} == {k: theirs[k] for k in LINK_FIELDS}, rec_id
        assert copied[real_id]["download_url"].startswith(archive.origin)
        with Client(token, base_url=archive.base_url, account_id=up.tenant.account) as client:
            assert client.realtime_kit.apps.get_app(app).name == "sync-a"
            expired = client.realtime_kit.recordings.get_recordings(app, expired=True, per_page=100)
            assert {r.id for r in expired.data} == {uid(f"recording a-past-{i}") for i in range(3)}

        # A rerun copies nothing and downloads nothing (it looks at the two unfinished ones again).
        hits = fs.hits.copy()
        _, again, _ = sync(up, app, data)
        assert {k: again[-1][k] for k in ("listed", "copied", "files", "expired", "pending", "failed")} == {
            "listed": 2,
            "copied": 0,
            "files": 0,
            "expired": 0,
            "pending": 2,
            "failed": 0,
        }
        assert again[-1]["state"] == {"done": 12, "expired": 4, "pending": 2}
        assert fs.hits == hits

        # The two live recordings finish upstream: the next run copies exactly those.
        finished = []
        for i, row in enumerate(live):
            name = f"a-live-{i}"
            content[name] = os.urandom(5000 + i)
            finished.append(
                {
                    **row,
                    "status": "UPLOADED",
                    "download_url": fs.add(f"/a/{name}.mp4", content[name]),
                    "download_url_expiry": iso(NOW + timedelta(days=7)),
                    "file_size": len(content[name]),
                    "stopped_time": iso(NOW - timedelta(minutes=1)),
                    "recording_duration": 60,
                }
            )
        up.load(app, finished, "sync-a-finished")
        _, third, _ = sync(up, app, data, "--public-url", f"http://127.0.0.1:{port}")
        assert {k: third[-1][k] for k in ("listed", "copied", "pending", "files")} == {
            "listed": 2,
            "copied": 2,
            "pending": 0,
            "files": 2,
        }
        for i in range(2):
            rec_id = uid(f"recording a-live-{i}")
            archived = listing(archive.base_url, token, up.tenant.account, app)[rec_id]
            assert archived["status"] == "UPLOADED"
            assert httpx.get(archived["download_url"]).content == content[f"a-live-{i}"]
    finally:
        archive.stop()


def test_ties_longer_than_a_page_and_the_terminal_path(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, pages of 3: seven recordings at one instant are walked by page number, none skipped
    or seen twice; on a terminal the run shows progress bars and a summary table."""
    from click.testing import CliRunner

    from recordkit.cli import sync as sync_cli
    from recordkit.cli.main import main
    from recordkit.sync import archiver

    up, fs = upstream, upstream.files
    instant = NOW - timedelta(minutes=30)
    meet = meeting("e", instant - timedelta(days=1))
    rows = [recording(f"e-tie-{i}", meet, "ERRORED", instant) for i in range(7)]
    rows += [recording(f"e-late-{i}", meet, "ERRORED", instant + timedelta(seconds=1 + i)) for i in range(2)]
    rows.append(recording("e-early", meet, "ERRORED", instant - timedelta(seconds=1)))
    body = os.urandom(20_000)
    rows.append(recording("e-file", meet, "UPLOADED", instant, url=fs.add("/e/file.mp4", body), size=len(body),
                          expiry=NOW + timedelta(days=1)))  # fmt: skip
    app = up.app("sync-e", rows)
    monkeypatch.setattr(archiver, "PER_PAGE", 3)
    monkeypatch.setattr(sync_cli, "interactive", lambda as_json: True)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("RECORDKIT_", "CLOUDFLARE_"))}
    env["RECORDKIT_SYNC_FROM_TOKEN"] = up.tenant.token
    env["RECORDKIT_DOWNLOAD_TTL_SECONDS"] = "2"  # archive links that need refreshing by the next run
    args = ["sync", "--from-url", up.server.base_url, "--from-account", up.tenant.account, "--from-app", app]
    args += ["--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "copied with files" in result.stdout and "archive so far: done 11" in result.stdout
    state = tmp_path / "data" / "sync-state.sqlite3"
    with contextlib.closing(sqlite3.connect(state)) as conn:
        states = dict(conn.execute("SELECT id, state FROM recordings").fetchall())
        (first_expiry,) = conn.execute("SELECT link_expiry_ms FROM recordings WHERE files IS NOT NULL").fetchone()
    assert states == {r["id"]: "done" for r in rows}
    rec_id = uid("recording e-file")
    assert (tmp_path / "data" / "bucket" / app / rec_id / f"{rec_id}.mp4").read_bytes() == body

    time.sleep(1.1)  # past half the links' lifetime: the next run signs them again
    again = CliRunner().invoke(main, [*args, "--json"], env=env)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["links_refreshed"] == 1 and summary["listed"] == 0
    with contextlib.closing(sqlite3.connect(state)) as conn:
        (second_expiry,) = conn.execute("SELECT link_expiry_ms FROM recordings WHERE files IS NOT NULL").fetchone()
    assert second_expiry >= first_expiry + 1000
    from recordkit.settings import Settings
    from recordkit.store.factory import open_store

    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        archived = store.get_recording(app, rec_id)
    finally:
        store.close()
    assert archived is not None and archived.download_url_expiry_ms == second_expiry
    assert archived.files == {"video": f"{app}/{rec_id}/{rec_id}.mp4"}
