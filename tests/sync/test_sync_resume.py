"""``recordkit sync``: a run killed with ``kill -9`` mid-download resumes; a size mismatch fails the
recording and the next run retries it; ``--status``, ``--since``, ``--watch``, ``--to-account`` /
``--to-app``; bad input; the token command a first run prints. The upstream is a live
``recordkit serve`` (``conftest.py``)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from recordkit.client import Client
from tests.support.data import iso
from tests.support.servers import clean_env, cli_command, free_port
from tests.support.sync import NOW, Upstream, archive_server, meeting, recording, sync, uid

pytestmark = pytest.mark.e2e


def test_sync_killed_mid_download_resumes(upstream: Upstream, tmp_path: Path) -> None:
    up, fs = upstream, upstream.files
    start = NOW - timedelta(hours=3)
    meet = meeting("b", start - timedelta(days=2))
    content: dict[str, bytes] = {}
    rows = []
    for i in range(8):
        name = f"b-{i}"
        content[name] = os.urandom(40_000 + 1000 * i)
        url = fs.add(f"/b/{name}.mp4", content[name])
        rows.append(
            recording(name, meet, "UPLOADED", start + timedelta(minutes=i), url=url, size=len(content[name]),
                      expiry=NOW + timedelta(days=5))
        )  # fmt: skip
    app = up.app("sync-b", rows)
    held = "/b/b-5.mp4"
    reached = fs.hold(held)
    hits = fs.hits.copy()
    data = tmp_path / "data"
    env = {**clean_env(), "RECORDKIT_SYNC_FROM_TOKEN": up.tenant.token}
    args = [
        *cli_command(), "sync", "--from-url", up.server.base_url, "--from-account", up.tenant.account,
        "--from-app", app, "--data-dir", str(data), "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert reached.wait(60), "the sync never got to the held file"
        time.sleep(0.2)  # the half sent is on its way into the scratch file
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    conn = sqlite3.connect(data / "sync-state.sqlite3")
    done = {r[0] for r in conn.execute("SELECT id FROM recordings WHERE state = 'done'")}
    conn.close()
    assert done == {uid(f"recording b-{i}") for i in range(5)}, "what was finished before the kill is recorded"
    fs.release(held)

    code, runs, _ = sync(up, app, data)
    assert code == 0
    assert runs[-1]["copied"] == 3 and runs[-1]["listed"] == 3
    assert runs[-1]["state"] == {"done": 8}
    for i in range(8):
        path = f"/b/b-{i}.mp4"
        assert fs.hits[path] - hits[path] == (2 if path == held else 1), path
        rec_id = uid(f"recording b-{i}")
        stored = data / "bucket" / app / rec_id / f"{rec_id}.mp4"
        assert stored.read_bytes() == content[f"b-{i}"]
    assert not (data / "sync-tmp").exists()
    assert not list((data / "bucket").rglob("*.partial"))


def test_sync_size_mismatch_fails_and_is_retried(upstream: Upstream, tmp_path: Path) -> None:
    up, fs = upstream, upstream.files
    start = NOW - timedelta(hours=2)
    meet = meeting("c", start - timedelta(days=1))
    good, bad = os.urandom(5000), os.urandom(6000)
    rows = [
        recording("c-good", meet, "UPLOADED", start, url=fs.add("/c/good.mp4", good), size=len(good),
                  expiry=NOW + timedelta(days=3)),
        recording("c-bad", meet, "UPLOADED", start + timedelta(minutes=1), url=fs.add("/c/bad.mp4", bad),
                  size=len(bad) + 1, expiry=NOW + timedelta(days=3)),
    ]  # fmt: skip
    app = up.app("sync-c", rows)
    data = tmp_path / "data"
    code, runs, stderr = sync(up, app, data, ok=False)
    assert code == 1, stderr
    assert runs[-1]["copied"] == 1 and runs[-1]["failed"] == 1
    problem = runs[-1]["problems"][0]
    assert problem["recording_id"] == uid("recording c-bad") and "file_size says 6001" in problem["message"]
    assert not (data / "bucket" / app / uid("recording c-bad")).exists()

    up.load(app, [{**rows[1], "file_size": len(bad)}], "sync-c-fixed")
    code, runs, _ = sync(up, app, data)
    assert runs[-1]["copied"] == 1 and runs[-1]["listed"] == 1 and runs[-1]["failed"] == 0
    assert runs[-1]["state"] == {"done": 2}
    rec_id = uid("recording c-bad")
    assert (data / "bucket" / app / rec_id / f"{rec_id}.mp4").read_bytes() == bad


def test_sync_status_since_watch_and_overrides(upstream: Upstream, tmp_path: Path) -> None:
    up = upstream
    start = NOW - timedelta(hours=1)
    meet = meeting("d", start - timedelta(days=1), title="filtered")
    rows = [recording(f"d-err-{i}", meet, "ERRORED", start + timedelta(minutes=i)) for i in range(4)]
    rows.append(recording("d-up", meet, "UPLOADED", start + timedelta(minutes=10), url="http://127.0.0.1:9/x.mp4",
                          size=1, expiry=NOW - timedelta(hours=1)))  # fmt: skip
    rows.append(recording("d-live", meet, "PAUSED", start + timedelta(minutes=11)))
    app = up.app("sync-d", rows)
    data = tmp_path / "data"
    other_account, other_app = "ab" * 16, "4d1f6e7e-2f0a-4c43-9d5e-1a2b3c4d5e6f"
    since = iso(start + timedelta(minutes=2))
    _, runs, _ = sync(
        up, app, data, "--status", "errored", "--since", since, "--watch", "0.001", "--max-runs", "2",
        "--to-account", other_account, "--to-app", other_app,
    )  # fmt: skip
    assert len(runs) == 2
    assert {k: runs[0][k] for k in ("listed", "metadata_only", "skipped", "pending", "copied")} == {
        "listed": 3,  # UPLOADED is not asked for: the list endpoint leaves it out
        "metadata_only": 2,
        "skipped": 0,
        "pending": 1,
        "copied": 0,
    }
    assert runs[1]["listed"] == 1 and runs[1]["pending"] == 1  # the paused one is looked at again
    archive, token = archive_server(data, other_account, free_port())
    try:
        with Client(token, base_url=archive.base_url, account_id=other_account) as client:
            got = client.realtime_kit.recordings.get_recordings(other_app, per_page=100)
            assert sorted(r.id for r in got.data) == sorted(uid(f"recording d-err-{i}") for i in (2, 3))
            assert {r.meeting.title for r in got.data if r.meeting} == {"filtered"}
    finally:
        archive.stop()

    # Bad input is refused before anything happens.
    code, _, stderr = sync(up, app, tmp_path / "other", "--status", "DONE", ok=False)
    assert code == 2 and "--status" in stderr
    bad_token = subprocess.run(
        [*cli_command(), "sync", "--from-url", up.server.origin, "--from-account", up.tenant.account,
         "--from-app", app, "--from-token", "wrong", "--data-dir", str(tmp_path / "other")],
        capture_output=True, text=True, env=clean_env(), timeout=60, check=False,
    )  # fmt: skip
    assert bad_token.returncode == 1 and "401" in bad_token.stderr and "Traceback" not in bad_token.stderr


def test_sync_prints_a_token_command_that_works_as_pasted(upstream: Upstream, tmp_path: Path) -> None:
    up = upstream
    app = up.app("sync-hint", [])
    data = tmp_path / "my archive" / "data"  # a space: the printed command must quote it
    elsewhere = tmp_path / "elsewhere"  # pasted in another folder: ./recordkit-data would be the wrong one
    elsewhere.mkdir()
    done = subprocess.run(
        [*cli_command(), "sync", "--from-url", up.server.origin, "--from-account", up.tenant.account,
         "--from-app", app, "--data-dir", str(data)],
        capture_output=True, text=True, env={**clean_env(), "RECORDKIT_SYNC_FROM_TOKEN": up.tenant.token},
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    hint = re.search(r"make a token with: (.+)$", done.stderr, re.M)
    assert hint is not None, done.stderr
    command = shlex.split(hint.group(1))
    assert command[:3] == ["recordkit", "token", "create"] and "--data-dir" in command
    assert Path(command[command.index("--data-dir") + 1]) == data.absolute()
    pasted = subprocess.run(
        [*cli_command(), *command[1:], "--json"],
        capture_output=True, text=True, env=clean_env(), cwd=elsewhere, timeout=60, check=False,
    )  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    token = json.loads(pasted.stdout)["token"]
    archive, _ = archive_server(data, up.tenant.account, free_port())
    try:
        with Client(token, base_url=archive.base_url, account_id=up.tenant.account) as client:
            assert client.realtime_kit.recordings.get_recordings(app).paging.total_count == 0
    finally:
        archive.stop()
    assert not (elsewhere / "recordkit-data").exists()
