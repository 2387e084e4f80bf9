"""The client's retries, timeouts, errors and downloads against a real local HTTP server that misbehaves on cue."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from recordkit.client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    DownloadError,
    GoneError,
    RateLimitError,
    RecordKitAPIError,
    RecordKitConnectionError,
    RecordKitTimeoutError,
    RetryPolicy,
    ServerError,
)
from tests.support.scripted import Answer, ScriptedServer, envelope_error, json_answer

ACCOUNT = "0f3c52b6c6e84b1fb4d1e1b3a9e0d7c2"
APP = "8968a361-b681-438c-81ae-a40e1e767eaa"
KIT = f"/client/v4/accounts/{ACCOUNT}/realtime/kit/{APP}"
LIST = f"{KIT}/recordings"
FAST = RetryPolicy(max_retries=3, backoff_base=0.02, backoff_max=0.05)

ITEM = {
    "id": "3f2a9a86-5a52-4f52-9d0a-2b0b3c2f5c11",
    "audio_download_url": None,
    "download_url": "https://files.example.com/r.mp4",
    "download_url_expiry": "2026-12-05T10:00:00.000Z",
    "file_size": 1048576,
    "invoked_time": "2026-11-28T09:59:58.117Z",
    "output_file_name": "r.mp4",
    "session_id": None,
    "started_time": "2026-11-28T10:00:01.000Z",
    "status": "UPLOADED",
    "stopped_time": "2026-11-28T10:30:00.000Z",
    "meeting": {
        "id": "6e0f1b8e-51a3-4c8b-8a55-b1f0b0e6a0f3",
        "created_at": "2026-11-01T08:00:00.000Z",
        "updated_at": "2026-11-01T08:00:00.000Z",
        "live_stream_on_start": False,
        "persist_chat": False,
        "record_on_start": False,
        "session_keep_alive_time_in_secs": 60,
        "status": "ACTIVE",
        "summarize_on_end": False,
        "title": "Weekly sync",
    },
    "recording_duration": 1799,
    "storage_config": None,
}
PAGE = {"success": True, "data": [ITEM], "paging": {"total_count": 1, "start_offset": 1, "end_offset": 1}}


@pytest.fixture
def server() -> ScriptedServer:
    with ScriptedServer() as srv:
        yield srv  # type: ignore[misc]


def client_for(server: ScriptedServer, **kwargs: object) -> Client:
    kwargs.setdefault("retry", FAST)
    return Client("tok", base_url=server.base_url, account_id=ACCOUNT, **kwargs)  # type: ignore[arg-type]


def test_429_with_retry_after_then_503_then_success(server: ScriptedServer) -> None:
    server.script(
        LIST,
        envelope_error(429, "slow down", **{"retry-after": "1"}),
        envelope_error(503, "try later"),
        json_answer(200, PAGE),
    )
    with client_for(server) as client:
        page = client.realtime_kit.recordings.get_recordings(APP, status=["UPLOADED", "ERRORED"], per_page=5)
    assert [r.id for r in page.data] == [ITEM["id"]]
    assert page.paging.total_count == 1
    seen = server.requests_to(LIST)
    assert len(seen) == 3
    assert seen[1].at - seen[0].at >= 0.95, "retry-after: 1 was not honoured"
    assert seen[2].at - seen[1].at < 0.9  # backoff, not retry-after, after the 503
    assert "status=UPLOADED&status=ERRORED" in seen[0].path and "per_page=5" in seen[0].path
    assert seen[0].headers["authorization"] == "Bearer tok"


def test_retry_after_ms_and_http_date(server: ScriptedServer) -> None:
    server.script(
        LIST,
        envelope_error(429, "slow", **{"retry-after-ms": "300"}),
        envelope_error(429, "slow", **{"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}),  # in the past: at once
        json_answer(200, PAGE),
    )
    with client_for(server) as client:
        client.realtime_kit.recordings.get_recordings(APP)
    seen = server.requests_to(LIST)
    assert len(seen) == 3
    assert 0.28 <= seen[1].at - seen[0].at < 0.9
    assert seen[2].at - seen[1].at < 0.25


def test_bounded_attempts_then_typed_errors(server: ScriptedServer) -> None:
    server.script(LIST, envelope_error(503, "down for maintenance"))
    with client_for(server) as client, pytest.raises(ServerError) as info:
        client.realtime_kit.recordings.get_recordings(APP)
    assert len(server.requests_to(LIST)) == 4  # 1 + max_retries
    assert info.value.status_code == 503 and info.value.code == 503
    assert info.value.message == "down for maintenance"

    server.seen.clear()
    server.script(LIST, envelope_error(429, "slow down", **{"retry-after": "0"}))
    with (
        client_for(server, retry=RetryPolicy(max_retries=1, backoff_base=0.01)) as client,
        pytest.raises(RateLimitError) as limited,
    ):
        client.realtime_kit.recordings.get_recordings(APP)
    assert len(server.requests_to(LIST)) == 2
    assert limited.value.retry_after == 0.0
    assert isinstance(limited.value, RecordKitAPIError)


@pytest.mark.parametrize(
    ("answer", "kind", "code", "message"),
    [
        (envelope_error(400, "per_page: must be a number >= 0"), BadRequestError, 400, "per_page: must be"),
        (envelope_error(501, "RecordKit does not implement GET .../presets"), ServerError, 501, "RecordKit does"),
        (envelope_error(409, "Recording already in progress", **{"x-should-retry": "false"}), ConflictError, 409, "R"),
        (
            json_answer(
                401,
                {
                    "success": False,
                    "errors": [{"code": 10000, "message": "Authentication error"}],
                    "messages": [],
                    "result": None,
                },
            ),
            AuthenticationError,
            10000,
            "Authentication error",
        ),
        (Answer(502, b"<html>bad gateway</html>"), ServerError, None, "<html>bad gateway</html>"),
    ],
)
def test_errors_that_are_not_retried_or_give_up(
    server: ScriptedServer, answer: Answer, kind: type[RecordKitAPIError], code: int | None, message: str
) -> None:
    server.script(LIST, answer)
    with client_for(server, retry=RetryPolicy(max_retries=2, backoff_base=0.01)) as client, pytest.raises(kind) as info:
        client.realtime_kit.recordings.get_recordings(APP)
    assert info.value.code == code
    assert info.value.message.startswith(message)
    retried = answer.status >= 502
    assert len(server.requests_to(LIST)) == (3 if retried else 1)


def test_x_should_retry_true_makes_a_409_retried(server: ScriptedServer) -> None:
    path = f"{KIT}/recordings/{ITEM['id']}"
    server.script(
        path,
        envelope_error(409, "busy", **{"x-should-retry": "true"}),
        json_answer(200, {"success": True, "data": {k: v for k, v in ITEM.items() if k != "meeting"}}),
    )
    with client_for(server) as client:
        rec = client.realtime_kit.recordings.stop_recording(APP, ITEM["id"])
    assert rec.id == ITEM["id"]
    seen = server.requests_to(path)
    assert [s.method for s in seen] == ["PUT", "PUT"]
    assert seen[0].body == b'{"action":"stop"}'


def test_timeouts_retry_gets_but_not_posts(server: ScriptedServer) -> None:
    server.script(LIST, Answer(200, b"{}", delay=0.6))
    with client_for(server, timeout=0.2, retry=RetryPolicy(max_retries=2, backoff_base=0.01)) as client:
        with pytest.raises(RecordKitTimeoutError):
            client.realtime_kit.recordings.get_recordings(APP)
        assert len(server.requests_to(LIST)) == 3
        with pytest.raises(RecordKitTimeoutError):
            client.realtime_kit.recordings.start_recording(APP, ITEM["meeting"]["id"])  # type: ignore[index]
        assert [s.method for s in server.requests_to(LIST)].count("POST") == 1  # a start is never sent twice


def test_posts_are_retried_on_503(server: ScriptedServer) -> None:
    server.script(
        f"{KIT}/meetings",
        envelope_error(503, "later"),
        json_answer(201, {"success": True, "data": ITEM["meeting"]}),
    )
    with client_for(server) as client:
        meeting = client.realtime_kit.meetings.create_meeting(APP, title="Weekly sync")
    assert meeting.title == "Weekly sync"
    assert len(server.requests_to(f"{KIT}/meetings")) == 2


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    retry = RetryPolicy(max_retries=2, backoff_base=0.05, backoff_max=0.05)
    client = Client("tok", base_url=f"http://127.0.0.1:{port}/client/v4", account_id=ACCOUNT, retry=retry)
    with client, pytest.raises(RecordKitConnectionError) as info:
        client.realtime_kit.apps.get_apps()
    assert "after 3 attempts" in str(info.value)
    assert time.monotonic() - started >= 0.07  # two backoffs


def test_async_client_retries_the_same_way(server: ScriptedServer, tmp_path: Path) -> None:
    server.script(
        LIST,
        envelope_error(429, "slow down", **{"retry-after": "0.3"}),
        envelope_error(503, "later"),
        json_answer(200, PAGE),
    )

    content = bytes(range(256)) * 100
    server.script(
        "/files/a.mp4",
        envelope_error(503, "later"),
        Answer(200, content, cut_after=10_000),
        Answer(200, content, ranges=True),
    )

    async def run(target: Path) -> tuple[list[str], int]:
        async with AsyncClient("tok", base_url=server.base_url, account_id=ACCOUNT, retry=FAST) as client:
            ids = [r.id async for r in client.realtime_kit.recordings.iter_recordings(APP)]
            got = await client.download(f"{server.origin}/files/a.mp4", target, expected_size=len(content))
            return ids, got.size

    target = tmp_path / "a.mp4"
    assert asyncio.run(run(target)) == ([ITEM["id"]], len(content))
    seen = server.requests_to(LIST)
    assert len(seen) == 3 and seen[1].at - seen[0].at >= 0.28
    assert target.read_bytes() == content
    assert [s.headers.get("range") for s in server.requests_to("/files/a.mp4")] == [None, None, "bytes=10000-"]


def test_token_from_the_environment(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.script(LIST, json_answer(200, PAGE))
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.setenv("RECORDKIT_TOKEN", "from-env")
    with Client(base_url=server.base_url, account_id=ACCOUNT) as client:
        client.realtime_kit.recordings.get_recordings(APP)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-env")
    with Client(base_url=server.base_url, account_id=ACCOUNT) as client:
        client.realtime_kit.recordings.get_recordings(APP)
    assert [s.headers["authorization"] for s in server.requests_to(LIST)] == ["Bearer from-env", "Bearer cf-env"]


def test_download_resumes_after_a_cut_and_checks_sizes(server: ScriptedServer, tmp_path: Path) -> None:
    content = bytes(range(256)) * 400  # 102,400 bytes
    server.script(
        "/files/r.mp4",
        Answer(200, content, {"accept-ranges": "bytes"}, cut_after=30_000),
        Answer(200, content, {"accept-ranges": "bytes"}, ranges=True),
    )
    progress: list[tuple[int, int | None]] = []
    with client_for(server) as client:
        got = client.download(
            f"{server.origin}/files/r.mp4?sig=1",
            tmp_path / "r.mp4",
            expected_size=len(content),
            on_progress=lambda done, total: progress.append((done, total)),
        )
    assert (tmp_path / "r.mp4").read_bytes() == content
    assert got.size == len(content) and got.content_length == len(content)
    seen = server.requests_to("/files/r.mp4")
    assert len(seen) == 2 and seen[1].headers["range"] == "bytes=30000-"
    assert "authorization" not in seen[0].headers  # signed links get no credentials
    assert progress[-1] == (len(content), len(content))

    # file_size disagrees with what the server has: DownloadError, and nothing left behind
    server.script("/files/short.mp4", Answer(200, content[:1000]))
    with client_for(server) as client, pytest.raises(DownloadError, match="file_size says 2000"):
        client.download(f"{server.origin}/files/short.mp4", tmp_path / "short.mp4", expected_size=2000)
    assert not list(tmp_path.glob("short.mp4*"))

    server.script("/files/old.mp4", envelope_error(410, "download link expired"))
    with client_for(server) as client, pytest.raises(GoneError, match="download link expired"):
        client.download(f"{server.origin}/files/old.mp4?expires=1&signature=x", tmp_path / "old.mp4")
    assert len(server.requests_to("/files/old.mp4")) == 1
    assert not list(tmp_path.glob("old.mp4*"))


def test_a_given_http_client_is_used_and_left_open(server: ScriptedServer) -> None:
    server.script(LIST, json_answer(200, PAGE))
    http = httpx.Client(headers={"x-extra": "1"})
    with Client("tok", base_url=server.base_url, account_id=ACCOUNT, http_client=http) as client:
        client.realtime_kit.recordings.get_recordings(APP)
    assert not http.is_closed
    http.close()
    assert server.requests_to(LIST)[0].headers["x-extra"] == "1"
