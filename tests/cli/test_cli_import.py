"""``recordkit import``: JSON Lines and whole list responses, updates, refusals, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Api, Seeded, invoke, invoke_json, meeting, recording, uid
from tests.support.data import write_jsonl

STATUSES = ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED")


def do_import(seeded: Seeded, path: Path, app: str | None = None, account: str | None = None, *extra: str) -> Any:
    return invoke(
        "import", str(path), "--data-dir", seeded.d, "--account", account or seeded.account, "--app", app or seeded.app,
        *extra,
    )  # fmt: skip


def ok_import(seeded: Seeded, path: Path, app: str | None = None, account: str | None = None) -> dict[str, Any]:
    result = do_import(seeded, path, app, account, "--json")
    assert result.exit_code == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def new_app(seeded: Seeded, name: str) -> str:
    made = invoke_json("app", "create", "--data-dir", seeded.d, "--account", seeded.account, "--name", name)
    return str(made["app_id"])


def twelve(prefix: str = "r") -> list[dict[str, Any]]:
    standup = meeting("standup", "Weekly Standup")
    review = meeting("review", "Design Review")
    return [recording(f"{prefix}{i}", standup if i % 2 else review, STATUSES[i % 6], minute=7 * i) for i in range(12)]


def expected_item(row: dict[str, Any]) -> dict[str, Any]:
    item = json.loads(json.dumps(row))
    if item["storage_config"] is not None:
        item["storage_config"] = {
            k: v
            for k, v in item["storage_config"].items()
            if k not in ("access_key", "secret", "password", "private_key")
        }
    return item


def test_import_json_lines(seeded: Seeded, tmp_path: Path) -> None:
    rows = twelve()
    report = ok_import(seeded, write_jsonl(tmp_path / "r.jsonl", rows))
    assert report["imported"] == 12
    body = seeded.api.recordings(seeded.app)
    assert body["paging"] == {"total_count": 12, "start_offset": 1, "end_offset": 12}
    by_id = {r["id"]: r for r in body["data"]}
    for row in rows:
        assert by_id[row["id"]] == expected_item(row)
    assert seeded.api.total(seeded.app, status="UPLOADED") == 2
    assert seeded.api.total(seeded.app, search="standup") == 6


def test_import_human_output(seeded: Seeded, tmp_path: Path) -> None:
    result = do_import(seeded, write_jsonl(tmp_path / "r.jsonl", twelve()))
    assert result.exit_code == 0
    assert "imported 12 recordings" in result.stdout


def test_blank_lines_are_skipped(seeded: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", twelve(), extra_lines={1: "", 5: "   ", 9: ""})
    assert ok_import(seeded, path)["imported"] == 12
    assert seeded.api.total(seeded.app) == 12


def test_import_whole_list_response_compact_and_pretty(seeded: Seeded, tmp_path: Path) -> None:
    rows = twelve()
    doc = {"success": True, "data": rows, "paging": {"total_count": 12, "start_offset": 1, "end_offset": 12}}
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(doc))
    assert ok_import(seeded, compact)["imported"] == 12
    assert seeded.api.total(seeded.app) == 12

    second = invoke_json("app", "create", "--data-dir", seeded.d, "--account", seeded.account, "--name", "pretty")[
        "app_id"
    ]
    other_rows = twelve("p")
    for r in other_rows:
        r["meeting"] = meeting("pretty-" + r["meeting"]["title"], r["meeting"]["title"])
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"data": other_rows, "paging": {}, "success": True}, indent=2))
    assert len(pretty.read_text().splitlines()) > 100
    assert ok_import(seeded, pretty, app=second)["imported"] == 12
    got = {r["id"]: r for r in seeded.api.recordings(second)["data"]}
    assert got == {r["id"]: expected_item(r) for r in other_rows}


def test_list_response_from_the_api_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    """What the list endpoint returns can be imported elsewhere and comes back identical."""
    ok_import(seeded, write_jsonl(tmp_path / "r.jsonl", twelve()))
    exported = seeded.api.recordings(seeded.app)
    dump = tmp_path / "export.json"
    dump.write_text(json.dumps(exported, indent=4))
    other_dir = tmp_path / "elsewhere"
    fresh = invoke_json("init", "--data-dir", str(other_dir))
    result = invoke(
        "import", str(dump), "--data-dir", str(other_dir), "--account", fresh["account_id"], "--app", fresh["app_id"]
    )
    assert result.exit_code == 0, result.output
    again = Api(other_dir, fresh["account_id"], fresh["token"]).recordings(fresh["app_id"])
    assert again == exported


def test_reimport_updates_instead_of_duplicating(seeded: Seeded, tmp_path: Path) -> None:
    rows = twelve()
    ok_import(seeded, write_jsonl(tmp_path / "a.jsonl", rows))
    before = {s: seeded.api.total(seeded.app, status=s) for s in STATUSES}
    assert sum(before.values()) == 12
    changed = json.loads(json.dumps(rows))
    for r in changed:
        r["status"] = "ERRORED"
        r["invoked_time"] = r["invoked_time"].replace("2024-05-10", "2024-06-01")
        r["meeting"]["title"] = r["meeting"]["title"] + " (renamed)"
    assert ok_import(seeded, write_jsonl(tmp_path / "b.jsonl", changed))["imported"] == 12
    assert seeded.api.total(seeded.app) == 12
    # Counters behind total_count follow the update: old status and day emptied, new ones filled.
    assert seeded.api.total(seeded.app, status="ERRORED") == 12
    for status in ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "PAUSED"):
        assert seeded.api.total(seeded.app, status=status) == 0
    assert seeded.api.total(seeded.app, start_time="2024-05-01T00:00:00Z", end_time="2024-05-31T00:00:00Z") == 0
    assert seeded.api.total(seeded.app, start_time="2024-06-01T00:00:00Z", end_time="2024-06-02T00:00:00Z") == 12
    assert seeded.api.total(seeded.app, search="renamed") == 12
    assert seeded.api.total(seeded.app, search="weekly standup") == 6
    got = {r["id"]: r for r in seeded.api.recordings(seeded.app)["data"]}
    assert got == {r["id"]: expected_item(r) for r in changed}
    # The same file twice: still twelve.
    ok_import(seeded, write_jsonl(tmp_path / "b.jsonl", changed))
    assert seeded.api.total(seeded.app) == 12


def test_duplicate_ids_within_one_file_keep_the_last(seeded: Seeded, tmp_path: Path) -> None:
    m = meeting("dup")
    first = recording("same", m, "RECORDING", minute=1)
    last = recording("same", m, "UPLOADED", minute=2)
    ok_import(seeded, write_jsonl(tmp_path / "d.jsonl", [first, last]))
    body = seeded.api.recordings(seeded.app)
    assert body["paging"]["total_count"] == 1
    assert body["data"][0]["status"] == "UPLOADED"
    assert seeded.api.total(seeded.app, status="RECORDING") == 0


BAD_LINES = {
    "malformed-json": ('{"id": "oops", ', "malformed JSON"),
    "truncated-object": ('{"id": "' + uid("x") + '", "status": "UPLOADED"', "malformed JSON"),
    "bad-uuid": (None, "id"),
    "bad-meeting-uuid": (None, "meeting.id"),
    "unknown-status": (None, "status"),
    "lowercase-status": (None, "status"),
    "bad-timestamp": (None, "invoked_time"),
    "bad-optional-timestamp": (None, "stopped_time"),
    "missing-invoked-time": (None, "invoked_time"),
    "missing-meeting": (None, "meeting"),
    "wrong-type": (None, "file_size"),
    "not-an-object": ("[1, 2, 3]", ""),
}


def _bad_row(kind: str) -> str:
    text, _ = BAD_LINES[kind]
    if text is not None:
        return text
    row = recording("bad", meeting("bad"))
    if kind == "bad-uuid":
        row["id"] = "not-a-uuid"
    elif kind == "bad-meeting-uuid":
        row["meeting"]["id"] = "1234"
    elif kind == "unknown-status":
        row["status"] = "DONE"
    elif kind == "lowercase-status":
        row["status"] = "uploaded"
    elif kind == "bad-timestamp":
        row["invoked_time"] = "yesterday at noon"
    elif kind == "bad-optional-timestamp":
        row["stopped_time"] = "2024-02-30T00:00:00Z"
    elif kind == "missing-invoked-time":
        del row["invoked_time"]
    elif kind == "missing-meeting":
        del row["meeting"]
    elif kind == "wrong-type":
        row["file_size"] = "big"
    return json.dumps(row)


@pytest.mark.parametrize("kind", list(BAD_LINES))
@pytest.mark.parametrize("line", [1, 4, 9])
def test_bad_line_is_reported_and_nothing_is_written(seeded: Seeded, tmp_path: Path, kind: str, line: int) -> None:
    rows = twelve()
    ok_import(seeded, write_jsonl(tmp_path / "first.jsonl", rows[:6]))
    before = seeded.api.recordings(seeded.app)
    # Updates of imported rows and new rows, with one bad line among them.
    updated = json.loads(json.dumps(rows))
    for r in updated:
        r["status"] = "ERRORED"
    path = write_jsonl(tmp_path / "bad.jsonl", updated, extra_lines={line: _bad_row(kind)})
    result = do_import(seeded, path)
    assert result.exit_code != 0
    assert f"line {line}:" in result.stderr, result.stderr
    _, field = BAD_LINES[kind]
    assert field in result.stderr.split(f"line {line}:", 1)[1].splitlines()[0]
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.output
    assert seeded.api.recordings(seeded.app) == before


def test_every_bad_line_is_reported_with_its_number(seeded: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        twelve(),
        extra_lines={2: _bad_row("bad-uuid"), 3: "", 6: _bad_row("unknown-status"), 11: "{nope"},
    )
    result = do_import(seeded, path)
    assert result.exit_code != 0
    for number in (2, 6, 11):
        assert f"line {number}:" in result.stderr
    assert "line 3:" not in result.stderr
    assert seeded.api.total(seeded.app) == 0


def test_bad_line_json_report(seeded: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", twelve(), extra_lines={3: _bad_row("unknown-status")})
    result = do_import(seeded, path, None, None, "--json")
    assert result.exit_code != 0
    report = json.loads(result.stdout)
    assert report["imported"] == 0
    assert [e["line"] for e in report["errors"]] == [3]
    assert report["errors"][0]["error"].startswith("status")


def test_broken_list_document_writes_nothing(seeded: Seeded, tmp_path: Path) -> None:
    doc = json.dumps({"success": True, "data": twelve()}, indent=2)
    broken = tmp_path / "broken.json"
    broken.write_text(doc[: len(doc) // 2])
    result = do_import(seeded, broken)
    assert result.exit_code != 0
    assert "nothing was imported" in result.stderr
    bad_item = tmp_path / "bad-item.json"
    rows = twelve()
    rows[5]["status"] = "FINISHED"
    bad_item.write_text(json.dumps({"success": True, "data": rows}, indent=2))
    result = do_import(seeded, bad_item)
    assert result.exit_code != 0
    assert "status" in result.stderr
    assert seeded.api.total(seeded.app) == 0


def test_ids_of_another_app_are_refused(seeded: Seeded, tmp_path: Path) -> None:
    rows = twelve()
    ok_import(seeded, write_jsonl(tmp_path / "mine.jsonl", rows))
    second = invoke_json("app", "create", "--data-dir", seeded.d, "--account", seeded.account, "--name", "two")[
        "app_id"
    ]
    # Same recording ids, fresh meetings: the recordings belong to the first app.
    moved = json.loads(json.dumps(rows[:3]))
    for r in moved:
        r["meeting"] = meeting("fresh")
    result = do_import(seeded, write_jsonl(tmp_path / "steal.jsonl", moved), app=second)
    assert result.exit_code != 0
    assert "belongs to another app" in result.stderr
    assert "line 1:" in result.stderr
    assert seeded.api.total(second) == 0
    # Fresh recording ids in a meeting of the first app: the meeting is not moved either.
    fresh = [recording("fresh-rec", rows[0]["meeting"])]
    result = do_import(seeded, write_jsonl(tmp_path / "steal2.jsonl", fresh), app=second)
    assert result.exit_code != 0
    assert rows[0]["meeting"]["id"] in result.stderr
    assert seeded.api.total(second) == 0
    # The first app is untouched.
    got = {r["id"]: r for r in seeded.api.recordings(seeded.app)["data"]}
    assert got == {r["id"]: expected_item(r) for r in rows}


def test_ids_of_another_accounts_app_are_refused(seeded: Seeded, tmp_path: Path) -> None:
    rows = twelve()
    ok_import(seeded, write_jsonl(tmp_path / "mine.jsonl", rows))
    other = invoke_json("init", "--data-dir", seeded.d)
    result = do_import(
        seeded, write_jsonl(tmp_path / "x.jsonl", rows), app=other["app_id"], account=other["account_id"]
    )
    assert result.exit_code != 0
    assert "belongs to another app" in result.stderr
    api = Api(seeded.data_dir, other["account_id"], other["token"])
    assert api.total(other["app_id"]) == 0


def test_unknown_app_errors_clearly(seeded: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", twelve())
    unknown = "7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a10"
    result = do_import(seeded, path, app=unknown)
    assert result.exit_code != 0
    assert unknown in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.output
    # A real app named under the wrong account is not found either.
    other = invoke_json("account", "create", "--data-dir", seeded.d)["account_id"]
    result = do_import(seeded, path, account=other)
    assert result.exit_code != 0
    assert "not found" in result.stderr
    assert seeded.api.total(seeded.app) == 0


def test_missing_file_is_a_usage_error(seeded: Seeded, tmp_path: Path) -> None:
    result = do_import(seeded, tmp_path / "nope.jsonl")
    assert result.exit_code == 2
    assert "nope.jsonl" in result.stderr


def test_times_are_normalised_and_secrets_kept_out(seeded: Seeded, tmp_path: Path) -> None:
    m = meeting("times")
    row = recording(
        "times",
        m,
        "UPLOADED",
        invoked_time="2024-05-10T12:00:00+02:00",
        started_time="2024-05-10T10:00:03.5",
        download_url_expiry="2030-01-01T00:00:00.123456Z",
        storage_config={
            "type": "sftp",
            "auth_method": "KEY",
            "host": "sftp.example.com",
            "port": 22,
            "username": "u",
            "private_key": "PRIVATE-KEY-MATERIAL-123",
            "password": "KEY-PASSPHRASE-456",
        },
    )
    result = do_import(seeded, write_jsonl(tmp_path / "t.jsonl", [row]))
    assert result.exit_code == 0, result.output
    assert "PRIVATE-KEY-MATERIAL-123" not in result.output
    item = seeded.api.recordings(seeded.app)["data"][0]
    assert item["invoked_time"] == "2024-05-10T10:00:00.000Z"
    assert item["started_time"] == "2024-05-10T10:00:03.500Z"
    assert item["download_url_expiry"] == "2030-01-01T00:00:00.123Z"
    assert item["storage_config"] == {
        "type": "sftp",
        "auth_method": "KEY",
        "host": "sftp.example.com",
        "port": 22,
        "username": "u",
    }
    for path in seeded.data_dir.rglob("*"):
        if path.is_file():
            assert b"PRIVATE-KEY-MATERIAL-123" not in path.read_bytes()  # encrypted at rest


def test_meeting_id_alone_is_enough(seeded: Seeded, tmp_path: Path) -> None:
    row = recording("bare", meeting("bare"))
    meeting_id = row.pop("meeting")["id"]
    row["meeting_id"] = meeting_id
    assert ok_import(seeded, write_jsonl(tmp_path / "m.jsonl", [row]))["imported"] == 1
    item = seeded.api.recordings(seeded.app, meeting_id=meeting_id)["data"][0]
    assert item["id"] == row["id"]
    assert item["meeting"]["id"] == meeting_id


def test_broken_first_line_of_json_lines_has_its_number(seeded: Seeded, tmp_path: Path) -> None:
    """A first line that is not JSON must not make the file pass for a broken list document."""
    single = tmp_path / "single.jsonl"
    single.write_text('{"id": "abc", "status": \n')
    result = do_import(seeded, single)
    assert result.exit_code != 0
    assert "line 1: malformed JSON" in result.stderr
    two_bad = write_jsonl(tmp_path / "two.jsonl", twelve(), extra_lines={1: "{oops", 2: "nope"})
    result = do_import(seeded, two_bad)
    assert result.exit_code != 0
    assert "line 1: malformed JSON" in result.stderr
    assert "line 2: malformed JSON" in result.stderr
    assert "line 3:" not in result.stderr
    assert seeded.api.total(seeded.app) == 0


def test_broken_pretty_document_is_one_error_not_one_per_line(seeded: Seeded, tmp_path: Path) -> None:
    doc = json.dumps({"success": True, "data": twelve()}, indent=2)
    broken = tmp_path / "broken.json"
    broken.write_text(doc.replace('"status": "UPLOADED"', '"status" "UPLOADED"', 1))
    result = do_import(seeded, broken)
    assert result.exit_code != 0
    assert "not a list response" in result.stderr
    assert "line " not in result.stderr
    assert seeded.api.total(seeded.app) == 0


def test_a_file_of_blank_lines_imports_nothing(seeded: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n   \n")
    result = invoke(
        "import",
        str(path),
        "--data-dir",
        str(seeded.data_dir),
        "--account",
        seeded.account,
        "--app",
        seeded.app,
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["imported"] == 0
