"""``recordkit recordings ...`` when the server is not there or misbehaves, and ``download -o``, against
a real local HTTP server scripted per path (``tests.support.scripted.ScriptedServer``) or a port nothing listens on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recordkit.client import Client, RecordKitConnectionError, RetryPolicy
from tests.support.cli import invoke
from tests.support.scripted import Answer, ScriptedServer, envelope_error, json_answer
from tests.support.servers import free_port

ACCOUNT = "0f3c52b6c6e84b1fb4d1e1b3a9e0d7c2"
APP = "8968a361-b681-438c-81ae-a40e1e767eaa"
REC = "3f2a9a86-5a52-4f52-9d0a-2b0b3c2f5c11"
KIT = f"/client/v4/accounts/{ACCOUNT}/realtime/kit/{APP}"
CONTENT = bytes(range(256)) * 40


def recording(server: ScriptedServer, *, name: str = "weekly-sync_rec.mp4") -> dict[str, object]:
    return {
        "id": REC,
        "audio_download_url": None,
        "download_url": f"{server.origin}/files/{REC}.mp4?expires=1&signature=abc",
        "download_url_expiry": "2099-01-01T00:00:00.000Z",
        "file_size": len(CONTENT),
        "invoked_time": "2026-11-28T09:59:58.117Z",
        "output_file_name": name,
        "session_id": None,
        "started_time": "2026-11-28T10:00:01.000Z",
        "status": "UPLOADED",
        "stopped_time": "2026-11-28T10:30:00.000Z",
        "recording_duration": 1799,
        "storage_config": None,
    }


def rk(server_url: str, *args: str) -> tuple[int, str, str]:
    result = invoke(
        "recordings", *args, env={"RECORDKIT_URL": server_url, "RECORDKIT_TOKEN": "tok",
                                  "RECORDKIT_ACCOUNT": ACCOUNT, "RECORDKIT_APP": APP},
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def server() -> ScriptedServer:
    with ScriptedServer() as srv:
        srv.script(f"{KIT}/recordings/{REC}", json_answer(200, {"success": True, "data": recording(srv)}))
        srv.script(f"/files/{REC}.mp4", Answer(200, CONTENT, {"content-type": "video/mp4"}))
        yield srv  # type: ignore[misc]


# -- no server -------------------------------------------------------------------------------------


def test_no_server_is_said_at_once_with_how_to_start_one(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    caplog.set_level(logging.INFO, logger="recordkit.client")
    code, out, err = rk(url, "list")
    assert code == 1 and out == ""
    assert f"no RecordKit server answers at {url} (connection refused)" in err
    assert f"start one with `recordkit serve --data-dir ./recordkit-data --port {url.rsplit(':', 1)[1]}`" in err
    assert "Traceback" not in err
    assert [r for r in caplog.records if "retry" in r.getMessage()] == []  # one attempt, no backoff


def test_the_hint_names_the_port_only_when_it_is_not_the_default() -> None:
    from recordkit.cli.remote import no_answer

    def refused(url: str) -> RecordKitConnectionError:
        return RecordKitConnectionError("refused", method="GET", url=f"{url}/accounts/a", refused=True)

    line = no_answer("http://127.0.0.1:8787", refused("http://127.0.0.1:8787/client/v4"))
    assert line == (
        "no RecordKit server answers at http://127.0.0.1:8787 (connection refused); "
        "start one with `recordkit serve --data-dir ./recordkit-data`, or point --url (env RECORDKIT_URL) at one"
    )
    remote = no_answer("https://rk.example.com/client/v4", refused("https://rk.example.com/client/v4"))
    assert "(connection refused)" in remote and "recordkit serve" not in remote  # not ours to start
    elsewhere = RecordKitConnectionError("GET https://files.example.com/x.mp4: refused", refused=True,
                                         url="https://files.example.com/x.mp4")  # fmt: skip
    assert no_answer("http://127.0.0.1:8787", elsewhere) == str(elsewhere)  # a download link's host


def test_the_client_retries_a_refused_connection_unless_told_not_to() -> None:
    base = f"http://127.0.0.1:{free_port()}/client/v4"
    fast = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)
    with (
        Client("tok", base_url=base, account_id=ACCOUNT, retry=fast) as client,
        pytest.raises(RecordKitConnectionError) as retried,
    ):
        client.realtime_kit.recordings.get_recordings(APP)
    assert (retried.value.attempts, retried.value.refused) == (3, True)  # the library default: retried
    assert retried.value.url == f"{base}/accounts/{ACCOUNT}/realtime/kit/{APP}/recordings"
    at_once = RetryPolicy(max_retries=2, backoff_base=0.01, retry_refused=False)
    with (
        Client("tok", base_url=base, account_id=ACCOUNT, retry=at_once) as client,
        pytest.raises(RecordKitConnectionError) as failed,
    ):
        client.realtime_kit.recordings.get_recordings(APP)
    assert (failed.value.attempts, failed.value.refused) == (1, True)


def test_the_commands_still_retry_a_server_error(server: ScriptedServer) -> None:
    path = f"{KIT}/recordings/{REC}"
    server.script(
        path, envelope_error(503, "try later"), json_answer(200, {"success": True, "data": recording(server)})
    )
    code, out, err = rk(server.origin, "get", REC, "--json")
    assert code == 0, err
    assert REC in out and len(server.requests_to(path)) == 2


# -- download -o -----------------------------------------------------------------------------------


def test_download_into_a_folder_that_ends_with_a_slash_creates_it(server: ScriptedServer, tmp_path: Path) -> None:
    folder = tmp_path / "recordings" / "2026"
    code, out, err = rk(server.origin, "download", REC, "-o", f"{folder}/")
    assert code == 0, err
    assert (folder / "weekly-sync_rec.mp4").read_bytes() == CONTENT
    assert sorted(p.name for p in folder.iterdir()) == ["weekly-sync_rec.mp4"]
    assert f"{folder / 'weekly-sync_rec.mp4'}: {len(CONTENT):,} bytes" in out


def test_download_into_an_existing_folder_or_to_a_file(server: ScriptedServer, tmp_path: Path) -> None:
    there = tmp_path / "there"
    there.mkdir()
    code, _, err = rk(server.origin, "download", REC, "-o", str(there), "--json")
    assert code == 0, err
    assert (there / "weekly-sync_rec.mp4").read_bytes() == CONTENT
    named = tmp_path / "new" / "mine.mp4"  # no slash, not a folder: this file (its folder made)
    code, _, err = rk(server.origin, "download", REC, "-o", str(named))
    assert code == 0, err
    assert named.read_bytes() == CONTENT and sorted(p.name for p in named.parent.iterdir()) == ["mine.mp4"]


def test_download_into_a_path_that_is_a_file_is_a_clear_error(server: ScriptedServer, tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    code, _, err = rk(server.origin, "download", REC, "-o", f"{blocker}/")
    assert code == 1 and "Traceback" not in err
    assert f"{blocker} is a file, not a folder" in err and blocker.read_text() == "a file, not a folder"
