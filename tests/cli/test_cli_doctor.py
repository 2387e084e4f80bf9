"""``recordkit doctor``: what this machine lacks to serve and record, and how to get it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from recordkit.store.migrations.runner import sqlite_migrations
from tests.support.cli import Seeded, invoke, invoke_json
from tests.support.servers import clean_env, free_port


def checks(report: dict[str, object]) -> dict[str, dict[str, object]]:
    found = report["checks"]
    assert isinstance(found, list)
    return {c["name"]: c for c in found}


def test_a_fresh_machine_is_ready_and_nothing_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    result = invoke("doctor", "--data-dir", str(data_dir), "--port", str(port), "--json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    by_name = checks(report)
    assert report["ok"] is True
    assert {"ffmpeg", "data_dir", "database", "port", "package boto3", "package paramiko"} <= set(by_name)
    assert "version" in str(by_name["ffmpeg"]["detail"])
    assert "not made yet" in str(by_name["database"]["detail"])
    assert by_name["port"]["detail"] == f"127.0.0.1:{port} is free"
    assert not data_dir.exists()  # a check changes nothing


def test_with_no_ffmpeg_on_path_the_wheel_s_is_named(tmp_path: Path) -> None:
    env = {**clean_env(), "PATH": str(Path(sys.executable).parent)}  # the venv's bin: no ffmpeg there
    done = subprocess.run(
        [str(Path(sys.executable).parent / "recordkit"), "doctor", "--data-dir", str(tmp_path / "d"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    ffmpeg = checks(json.loads(done.stdout))["ffmpeg"]
    assert ffmpeg["ok"] is True and "(from imageio-ffmpeg)" in str(ffmpeg["detail"]), ffmpeg


def test_a_missing_ffmpeg_fails_with_the_fix(tmp_path: Path) -> None:
    result = invoke("doctor", "--data-dir", str(tmp_path / "d"), env={"RECORDKIT_FFMPEG": str(tmp_path / "none")})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"FAIL ffmpeg: ffmpeg not found: RECORDKIT_FFMPEG={tmp_path / 'none'} is not an executable file" in lines
    assert any(line.strip().startswith("fix: point RECORDKIT_FFMPEG at an ffmpeg") for line in lines)
    assert lines[-1] == "not ready: see FAIL above"


def test_a_port_in_use_fails(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        report = invoke("doctor", "--data-dir", str(tmp_path / "d"), "--port", str(port), "--json")
    assert report.exit_code == 1
    port_check = checks(json.loads(report.stdout))["port"]
    assert port_check == {
        "name": "port",
        "ok": False,
        "detail": f"port {port} on 127.0.0.1 is already in use (another recordkit serve?); choose another with --port",
        "fix": "choose another --port, or stop what holds it",
    }


def test_an_existing_data_dir_reports_its_database_and_schema(seeded: Seeded) -> None:
    report = invoke_json("doctor", "--data-dir", str(seeded.data_dir), "--port", str(free_port()))
    latest = max(version for version, _, _ in sqlite_migrations())
    assert checks(report)["database"]["detail"] == f"sqlite, schema {latest}"
    assert str(checks(report)["data_dir"]["detail"]).startswith(f"{seeded.data_dir} exists, ")


def test_a_missing_package_is_named_with_its_install_command(tmp_path: Path) -> None:
    # The default install has every package; an install without paramiko is made here by hiding it
    # from the import system (sys.modules[name] = None) in a real `recordkit doctor` process.
    code = (
        "import sys; sys.modules['paramiko'] = None; from recordkit.cli.main import main; "
        f"main(['doctor', '--data-dir', {str(tmp_path / 'd')!r}, '--port', '{free_port()}', '--json'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    paramiko = checks(json.loads(done.stdout))["package paramiko"]
    assert paramiko == {
        "name": "package paramiko",
        "ok": False,
        "detail": "missing: needed by storage_config type sftp",
        "fix": "pip install 'paramiko'",
    }
