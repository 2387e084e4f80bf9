"""A bad RECORDKIT_* value stops a command at once: one line naming the variable and the form it
must have, a non-zero exit, no traceback, nothing made (``recordkit.settings`` declares them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_to_exit
from tests.support.servers import clean_env

SERVE_CASES = [
    # a whole number, a number, a switch, URLs, the port, the workers, the database
    ("RECORDKIT_UPLOAD_ATTEMPTS", "abc", "must be a whole number >= 1 (got 'abc')"),
    ("RECORDKIT_WEBHOOK_TIMEOUT_SECONDS", "soon", "must be a number > 0 and <= 300 (got 'soon')"),
    ("RECORDKIT_LOG_JSON", "ture", "must be one of true/false/1/0/yes/no/on/off (got 'ture')"),
    ("RECORDKIT_PUBLIC_URL", "example.com", "must be an http(s) URL (got 'example.com')"),
    ("RECORDKIT_BUCKET_ENDPOINT_URL", "minio:9000", "must be an http(s) URL (got 'minio:9000')"),
    ("RECORDKIT_PORT", "eighty", "must be a whole number from 1 to 65535 (got 'eighty')"),
    ("RECORDKIT_WORKERS", "0", "must be a whole number from 1 to 64 (got '0')"),
    ("RECORDKIT_DATABASE_POOL_SIZE", "many", "must be a whole number >= 1 (got 'many')"),
    ("RECORDKIT_RATE_LIMIT_OTHER", "lots", "must be REQUESTS/SECONDS such as 1000/60, or off (got 'lots')"),
]


def assert_refused(done: object, expected: str) -> None:
    import subprocess

    assert isinstance(done, subprocess.CompletedProcess)
    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert "Traceback" not in shown, shown
    assert done.stderr.strip() == f"Error: {expected}", shown  # one line, the variable first
    assert done.stdout == "", shown


@pytest.mark.parametrize(("name", "value", "form"), SERVE_CASES, ids=[c[0] for c in SERVE_CASES])
def test_serve_refuses_a_bad_value_in_one_line(tmp_path: Path, name: str, value: str, form: str) -> None:
    data_dir = tmp_path / "data"
    done = run_to_exit("serve", "--data-dir", str(data_dir), env={**clean_env(), name: value}, timeout=30)
    assert_refused(done, f"{name}: {form}")
    assert not data_dir.exists()  # refused before making anything


def test_a_secret_is_named_but_not_repeated(tmp_path: Path) -> None:
    url = "mysql://rk:hunter2-secret@db.example.com/rk"
    done = run_to_exit("serve", "--data-dir", str(tmp_path / "d"), env={**clean_env(), "RECORDKIT_DATABASE_URL": url})
    assert_refused(done, "RECORDKIT_DATABASE_URL: must be a postgresql://user:password@host:port/dbname URL")
    assert "hunter2" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "name", "value", "form"),
    [
        (["init"], "RECORDKIT_RETENTION_INTERVAL_SECONDS", "-1", "must be a number > 0 (got '-1')"),
        (["account", "create"], "RECORDKIT_RUN_JOBS", "maybe", "must be one of true/false/1/0/yes/no/on/off"),
        (["migrate"], "RECORDKIT_METRICS", "of", "must be one of true/false/1/0/yes/no/on/off (got 'of')"),
        (["secrets", "rotate"], "RECORDKIT_MAX_BODY_BYTES", "1MB", "must be a whole number >= 1 (got '1MB')"),
        (["webhooks", "deliveries"], "RECORDKIT_DOWNLOAD_TTL_SECONDS", "1.5", "must be a whole number >= 1"),
        (["token", "create", "--account", "a"], "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS", "inf", "must be a number >= 0"),
    ],
    ids=lambda x: x if isinstance(x, str) and x.startswith("RECORDKIT_") else "",
)
def test_other_commands_refuse_a_bad_value_in_one_line(
    tmp_path: Path, args: list[str], name: str, value: str, form: str
) -> None:
    data_dir = tmp_path / "data"
    done = run_to_exit(*args, "--data-dir", str(data_dir), env={**clean_env(), name: value})
    shown = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in shown, shown
    assert done.stderr.startswith(f"Error: {name}: {form}") and done.stderr.count("\n") == 1, shown
    assert not data_dir.exists()


def test_import_refuses_a_bad_batch(tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text("")
    args = ("import", str(lines), "--account", "a", "--app", "b", "--data-dir", str(tmp_path / "data"))
    done = run_to_exit(*args, env={**clean_env(), "RECORDKIT_IMPORT_BATCH": "lots"})
    assert_refused(done, "RECORDKIT_IMPORT_BATCH: must be a whole number >= 1 (got 'lots')")


def test_the_database_url_flag_is_checked_as_the_variable(tmp_path: Path) -> None:
    done = run_to_exit("init", "--data-dir", str(tmp_path / "d"), "--database-url", "sqlite:///x.db", env=clean_env())
    assert_refused(done, "RECORDKIT_DATABASE_URL: must be a postgresql://user:password@host:port/dbname URL")
