"""What README.md shows matches what the program does (examples are read out of the README itself)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from recordkit.api.app import create_app
from recordkit.domain.timefmt import now_ms
from recordkit.settings import Settings
from recordkit.store.factory import open_store

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match is not None, f"README.md has no section {title!r}"
    return match.group(1)


def test_the_list_sections_error_example_is_the_servers_answer(tmp_path: Path) -> None:
    example = re.search(r"for example `(\w+)=([^`]*)` gets\s+`(\{.*?\})`", _section("List recordings"), re.S)
    assert example is not None, "the 'List recordings' section lost its error example"
    name, value, shown = example.group(1), example.group(2), json.loads(example.group(3))

    settings = Settings(data_dir=tmp_path / "data", run_jobs=False)
    store = open_store(settings)
    account = store.create_account(now=now_ms())
    app_id = store.create_app(account.id, "readme", now=now_ms()).id
    _, token = store.create_token(account.id, "Realtime Admin", now=now_ms())
    store.close()
    app = create_app(settings)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rk") as client:
            return await client.get(
                f"/client/v4/accounts/{account.id}/realtime/kit/{app_id}/recordings",
                params={name: value},
                headers={"Authorization": f"Bearer {token}"},
            )

    try:
        answer = asyncio.run(ask())
    finally:
        app.state.store.close()
    assert answer.status_code == shown["error"]["code"]
    assert answer.json() == shown


def test_the_recording_section_says_what_each_video_codec_is_paired_with() -> None:
    from recordkit.recorder.port import MediaSpec

    first = _section("Make a recording").split("\n\n", 1)[0]
    flat = " ".join(first.split())
    for codec in ("H264", "VP8"):
        # What the recorder makes of each audio_config.codec with this video codec (VP8: Vorbis, always).
        audio = {MediaSpec(video_codec=codec, audio_codec=a).effective_audio_codec for a in ("AAC", "MP3")}
        said = re.search(rf"{codec} with ([\w ]+?) in (\w+)", flat)
        assert said is not None, f"README does not say what {codec} is paired with: {flat}"
        assert {w.upper() for w in said.group(1).split(" or ")} == audio, (codec, said.group(0))
        assert said.group(2).lower() == MediaSpec(video_codec=codec).container
