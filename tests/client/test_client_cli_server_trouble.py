"""``recordkit recordings ...`` when the server is not there or misbehaves, and ``download -o``, against
a real local HTTP server scripted per path (``client_support.ScriptedServer``) or a port nothing listens on."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_support import Answer, ScriptedServer, invoke, json_answer

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
    return invoke(
        "recordings", *args, env={"RECORDKIT_URL": server_url, "RECORDKIT_TOKEN": "tok",
                                  "RECORDKIT_ACCOUNT": ACCOUNT, "RECORDKIT_APP": APP},
    )  # fmt: skip


@pytest.fixture
def server() -> ScriptedServer:
    with ScriptedServer() as srv:
        srv.script(f"{KIT}/recordings/{REC}", json_answer(200, {"success": True, "data": recording(srv)}))
        srv.script(f"/files/{REC}.mp4", Answer(200, CONTENT, {"content-type": "video/mp4"}))
        yield srv  # type: ignore[misc]


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
