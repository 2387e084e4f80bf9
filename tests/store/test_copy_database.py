"""``recordkit copy-database``: a SQLite data dir moved, whole, into an empty PostgreSQL database.

The copy is judged by what the PostgreSQL store then answers: the same list pages and totals as the
SQLite store, the same meetings, tokens that still authenticate, secrets that still decrypt with the
data dir's key, leases, webhooks and their delivery log, counters exact, and new rows after the
copied keys. A target that already holds data is refused and left alone.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from msgspec.structs import replace

from recordkit.cli.main import main
from recordkit.domain.models import Webhook
from recordkit.domain.query import parse_meeting_query, parse_recording_query
from recordkit.domain.timefmt import now_ms
from recordkit.settings import Settings
from recordkit.store.factory import open_store
from tests.store.test_store_contract import SECRET_VALUES, TITLES, make_meeting, make_recording
from tests.support.cli import invoke

NOW = now_ms()


def pages(store: Any, app_id: str) -> list[tuple[list[bytes], int]]:
    out = []
    for params in (
        {},
        {"sort_order": ["ASC"]},
        {"status": ["UPLOADED,ERRORED"]},
        {"expired": ["true"]},
        {"search": ["standup"]},
    ):
        out.append(store.list_recordings(app_id, parse_recording_query({**params, "per_page": ["100"]}), NOW))
    return out


def test_copy_database_moves_everything_and_refuses_a_used_target(tmp_path: Path, pg_url: str) -> None:
    data_dir = tmp_path / "data"
    made = json.loads(invoke("init", "--data-dir", str(data_dir), "--json").stdout)
    account, app_id, token = made["account_id"], made["app_id"], made["token"]
    sqlite = open_store(Settings(data_dir=data_dir))
    rng = random.Random(3)
    meetings = [make_meeting(rng, app_id, t) for t in TITLES]
    recs = [make_recording(rng, app_id, rng.choice(meetings)) for _ in range(150)]
    sqlite.import_recordings(app_id, [(r, next(m for m in meetings if m.id == r.meeting_id)) for r in recs], now=NOW)
    live_meeting = make_meeting(
        rng, app_id, "live", recording_config={"storage_config": {"type": "sftp", "password": SECRET_VALUES[2]}}
    )
    sqlite.create_meeting(live_meeting)
    hook = Webhook(
        str(uuid.uuid4()), app_id, "hook\x00name", "http://127.0.0.1:9/h", ("recording.statusUpdate",), True, NOW, NOW
    )
    sqlite.create_webhook(hook)
    live = make_recording(rng, app_id, live_meeting, status="INVOKED", storage_secrets={"password": SECRET_VALUES[2]})
    sqlite.insert_recording(live, exclusive=True, now=NOW)
    sqlite.update_recording(live.id, lambda r: replace(r, status="RECORDING"), NOW)
    sqlite.claim_unfinished("host.example:1", NOW, 15_000)
    sqlite.set_app_recording_config(app_id, {"storage_config": {"type": "aws", "secret": SECRET_VALUES[1]}})
    before = {
        "pages": pages(sqlite, app_id),
        "meetings": sqlite.list_meetings(app_id, parse_meeting_query({"per_page": ["100"]})),
        "deliveries": [d.id for d in sqlite.list_deliveries(limit=100)],
        "version": sqlite.app_version(app_id),
    }
    sqlite.close()

    done = invoke("copy-database", "--data-dir", str(data_dir), "--to", pg_url, "--json")
    assert done.exit_code == 0, done.output
    copied = json.loads(done.stdout)["copied"]
    assert copied["recordings"] == 151 and copied["accounts"] == 1 and copied["webhook_deliveries"] == 2

    pg = open_store(Settings(data_dir=data_dir, database_url=pg_url))
    try:
        assert pages(pg, app_id) == before["pages"]
        assert pg.list_meetings(app_id, parse_meeting_query({"per_page": ["100"]})) == before["meetings"]
        assert pg.get_meeting(app_id, live_meeting.id) == live_meeting
        assert [d.id for d in pg.list_deliveries(limit=100)] == before["deliveries"]
        assert pg.app_version(app_id)[1] >= before["version"][1]
        who = pg.authenticate(token)
        assert who is not None and who.account_id == account
        assert pg.recording_secrets(live.id) == {"password": SECRET_VALUES[2]}
        assert pg.get_app(app_id).recording_config["storage_config"]["secret"] == SECRET_VALUES[1]
        assert pg.lease_of(live.id) == ("host.example:1", NOW + 15_000)
        assert pg.list_webhooks(app_id)[0].name == "hook\x00name"
        # new rows go on after the copied keys, and the outbox goes on
        again = make_recording(rng, app_id, live_meeting, status="INVOKED")
        pg.insert_recording(again, exclusive=False, now=NOW)
        assert len(pg.list_deliveries(limit=100)) == 3
        assert pg.list_recordings(app_id, parse_recording_query({}), NOW)[1] == 152
        other = pg.create_app(account, "after the copy", now=NOW)
        assert pg.app_seq(other.id) > pg.app_seq(app_id)
    finally:
        pg.close()

    refused = invoke("copy-database", "--data-dir", str(data_dir), "--to", pg_url)
    assert refused.exit_code == 1 and "already holds" in refused.output


def test_migrate_prints_what_it_applied_on_both_dialects(tmp_path: Path, pg_cluster: Any) -> None:
    fresh = pg_cluster.new_database(migrated=False)
    first = invoke("migrate", "--data-dir", str(tmp_path / "d"), "--database-url", fresh, "--json")
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["dialect"] == "postgresql" and payload["applied"][0] == "0001_initial.sql"
    assert payload["version"] == len(payload["applied"])
    assert (
        json.loads(invoke("migrate", "--data-dir", str(tmp_path / "d"), "--database-url", fresh, "--json").stdout)[
            "applied"
        ]
        == []
    )
    lite = json.loads(invoke("migrate", "--data-dir", str(tmp_path / "d"), "--json").stdout)
    assert lite["dialect"] == "sqlite" and lite["version"] == payload["version"]  # one history, two dialects
    assert [n.split("_")[0] for n in lite["applied"]] == [n.split("_")[0] for n in payload["applied"]]
    assert (tmp_path / "d" / "recordkit.sqlite3").exists()
    bad = invoke("migrate", "--data-dir", str(tmp_path / "d"), "--database-url", "mysql://x")
    assert bad.exit_code == 1 and "postgresql://" in bad.output


def test_every_command_taking_a_data_dir_takes_database_url() -> None:
    import click

    def walk(group: click.Group) -> list[click.Command]:
        out: list[click.Command] = []
        for command in group.commands.values():
            out += walk(command) if isinstance(command, click.Group) else [command]
        return out

    commands = [c for c in walk(main) if any("--data-dir" in getattr(p, "opts", ()) for p in c.params)]
    assert len(commands) > 10
    for command in commands:
        if command.name == "copy-database":
            continue
        assert any("--database-url" in getattr(p, "opts", ()) for p in command.params), command.name


@pytest.mark.parametrize("how", ["flag", "env"])
def test_commands_use_the_database_url(tmp_path: Path, pg_url: str, how: str) -> None:
    import os

    outside = os.environ.get("RECORDKIT_DATABASE_URL")
    data_dir = str(tmp_path / "data")
    env = {"RECORDKIT_DATABASE_URL": pg_url if how == "env" else None}
    flag = ["--database-url", pg_url] if how == "flag" else []
    runner = CliRunner()
    made = runner.invoke(main, ["init", "--data-dir", data_dir, *flag, "--json"], env=env, catch_exceptions=False)
    assert made.exit_code == 0, made.output
    ids = json.loads(made.stdout)
    token = runner.invoke(
        main,
        ["token", "create", "--data-dir", data_dir, *flag, "--account", ids["account_id"], "--json"],
        env=env,
        catch_exceptions=False,
    )
    assert token.exit_code == 0, token.output
    assert not (tmp_path / "data" / "recordkit.sqlite3").exists()  # nothing went to SQLite
    pg = open_store(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    try:
        assert pg.get_app(ids["app_id"]) is not None
        assert pg.authenticate(json.loads(token.stdout)["token"]) is not None
    finally:
        pg.close()
    assert os.environ.get("RECORDKIT_DATABASE_URL") == outside  # the flag sets it for its command only
