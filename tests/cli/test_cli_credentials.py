"""``recordkit init``, ``account create``, ``app create``, ``token create|revoke``, and where data goes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.cli import Api, Seeded, invoke, invoke_json, run
from tests.support.servers import clean_env

HEX32 = re.compile(r"[0-9a-f]{32}")


def is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_init_json_keys_and_shapes(data_dir: Path) -> None:
    made = invoke_json("init", "--data-dir", str(data_dir))
    assert set(made) == {"account_id", "app_id", "token"}
    assert HEX32.fullmatch(made["account_id"])
    assert is_uuid(made["app_id"])
    assert len(made["token"]) >= 32
    assert (data_dir / "recordkit.sqlite3").exists()
    api = Api(data_dir, made["account_id"], made["token"])
    body = api.recordings(made["app_id"])
    assert body == {"success": True, "data": [], "paging": {"total_count": 0, "start_offset": 0, "end_offset": 0}}
    apps = api.get("/apps").json()
    assert [a["id"] for a in apps["data"]] == [made["app_id"]]


def test_each_init_makes_a_new_account(data_dir: Path) -> None:
    first = invoke_json("init", "--data-dir", str(data_dir))
    second = invoke_json("init", "--data-dir", str(data_dir))
    assert first["account_id"] != second["account_id"]
    assert first["app_id"] != second["app_id"]
    assert first["token"] != second["token"]
    # Each token reaches its own account only.
    api1 = Api(data_dir, first["account_id"], first["token"])
    assert api1.get(f"/{first['app_id']}/recordings").status_code == 200
    assert api1.get(f"/{first['app_id']}/recordings", token=second["token"]).status_code == 403


def test_init_human_output(data_dir: Path) -> None:
    result = invoke("init", "--data-dir", str(data_dir))
    assert result.exit_code == 0
    account = re.search(r"account_id:\s+([0-9a-f]{32})", result.stdout)
    app = re.search(r"app_id:\s+(\S+)", result.stdout)
    token = re.search(r"token:\s+(\S+)", result.stdout)
    assert account and app and token
    assert is_uuid(app.group(1))
    assert Api(data_dir, account.group(1), token.group(1)).get(f"/{app.group(1)}/recordings").status_code == 200


def test_account_create(seeded: Seeded) -> None:
    made = invoke_json("account", "create", "--data-dir", seeded.d)
    assert set(made) == {"account_id"}
    assert HEX32.fullmatch(made["account_id"])
    assert made["account_id"] != seeded.account
    again = invoke_json("account", "create", "--data-dir", seeded.d)
    assert again["account_id"] != made["account_id"]


def test_app_create_and_token_for_a_new_account(seeded: Seeded) -> None:
    account = invoke_json("account", "create", "--data-dir", seeded.d)["account_id"]
    made = invoke_json("app", "create", "--data-dir", seeded.d, "--account", account, "--name", "Studio B")
    assert set(made) == {"app_id"}
    assert is_uuid(made["app_id"])
    token = invoke_json("token", "create", "--data-dir", seeded.d, "--account", account)["token"]
    api = Api(seeded.data_dir, account, token)
    apps = api.get("/apps").json()["data"]
    assert [(a["id"], a["name"]) for a in apps] == [(made["app_id"], "Studio B")]
    assert api.recordings(made["app_id"])["paging"]["total_count"] == 0
    # The first account neither sees the app nor reaches the new account.
    assert made["app_id"] not in {a["id"] for a in seeded.api.get("/apps").json()["data"]}
    assert seeded.api.get(f"/{made['app_id']}/recordings").status_code == 404


def test_app_create_in_same_account(seeded: Seeded) -> None:
    made = invoke_json("app", "create", "--data-dir", seeded.d, "--account", seeded.account, "--name", "second")
    ids = {a["id"] for a in seeded.api.get("/apps", per_page=100).json()["data"]}
    assert ids == {seeded.app, made["app_id"]}


def test_app_create_unknown_account_fails_clearly(seeded: Seeded) -> None:
    result = invoke("app", "create", "--data-dir", seeded.d, "--account", "f" * 32, "--name", "x")
    assert result.exit_code != 0
    assert "f" * 32 in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("permission", ["Realtime Admin", "Realtime"])
def test_token_create(seeded: Seeded, permission: str) -> None:
    made = invoke_json(
        "token", "create", "--data-dir", seeded.d, "--account", seeded.account, "--permission", permission
    )
    assert "token" in made
    assert made["token"] != seeded.token and len(made["token"]) >= 32
    assert seeded.api.get(f"/{seeded.app}/recordings", token=made["token"]).status_code == 200
    created = seeded.api.post("/apps", {"name": "made by token"}, token=made["token"])
    assert created.status_code == (200 if permission == "Realtime Admin" else 403), created.text


def test_token_is_stored_only_hashed(seeded: Seeded) -> None:
    made = invoke_json("token", "create", "--data-dir", seeded.d, "--account", seeded.account)
    for path in seeded.data_dir.rglob("*"):
        if path.is_file():
            assert made["token"].encode() not in path.read_bytes(), path
            assert seeded.token.encode() not in path.read_bytes(), path


def test_token_create_bad_permission_and_unknown_account(seeded: Seeded) -> None:
    bad = invoke("token", "create", "--data-dir", seeded.d, "--account", seeded.account, "--permission", "Root")
    assert bad.exit_code == 2
    assert "Root" in bad.stderr
    unknown = invoke("token", "create", "--data-dir", seeded.d, "--account", "0" * 32)
    assert unknown.exit_code != 0
    assert "not found" in unknown.stderr


def test_token_revoke_by_token_and_by_id(seeded: Seeded) -> None:
    one = invoke_json("token", "create", "--data-dir", seeded.d, "--account", seeded.account)
    two = invoke_json("token", "create", "--data-dir", seeded.d, "--account", seeded.account)
    path = f"/{seeded.app}/recordings"
    result = invoke("token", "revoke", one["token"], "--data-dir", seeded.d)
    assert result.exit_code == 0, result.output
    assert seeded.api.get(path, token=one["token"]).status_code == 401
    assert seeded.api.get(path, token=two["token"]).status_code == 200
    assert invoke_json("token", "revoke", two["token_id"], "--data-dir", seeded.d) == {"revoked": True}
    assert seeded.api.get(path, token=two["token"]).status_code == 401
    # The init token is untouched; revoking twice or an unknown token fails clearly.
    assert seeded.api.get(path).status_code == 200
    again = invoke("token", "revoke", one["token"], "--data-dir", seeded.d)
    assert again.exit_code != 0 and "no such active token" in again.stderr
    assert invoke("token", "revoke", "never-issued", "--data-dir", seeded.d).exit_code != 0


def test_data_dir_from_environment(tmp_path: Path) -> None:
    env_dir = tmp_path / "from-env"
    made = invoke_json("init", env={"RECORDKIT_DATA_DIR": str(env_dir)})
    assert (env_dir / "recordkit.sqlite3").exists()
    # Other commands find the same data through the variable.
    app = invoke_json(
        "app", "create", "--account", made["account_id"], "--name", "env", env={"RECORDKIT_DATA_DIR": str(env_dir)}
    )
    api = Api(env_dir, made["account_id"], made["token"])
    assert app["app_id"] in {a["id"] for a in api.get("/apps").json()["data"]}


def test_data_dir_flag_wins_over_environment(tmp_path: Path) -> None:
    env_dir, flag_dir = tmp_path / "env", tmp_path / "flag"
    made = invoke_json("init", "--data-dir", str(flag_dir), env={"RECORDKIT_DATA_DIR": str(env_dir)})
    assert (flag_dir / "recordkit.sqlite3").exists()
    assert not env_dir.exists()
    api = Api(flag_dir, made["account_id"], made["token"])
    assert api.get(f"/{made['app_id']}/recordings").status_code == 200


def test_data_dir_default_is_in_the_working_directory(tmp_path: Path) -> None:
    done = run("init", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert (tmp_path / "recordkit-data" / "recordkit.sqlite3").exists()
    assert HEX32.fullmatch(made["account_id"])


def test_entry_points(tmp_path: Path) -> None:
    """The console script and ``python -m recordkit.cli.main`` are the same program."""
    done = run("--help")
    assert done.returncode == 0
    for command in ("serve", "init", "account", "app", "token", "import"):
        assert command in done.stdout
    assert run("--version").returncode == 0
    module = subprocess.run(
        [sys.executable, "-m", "recordkit.cli.main", "init", "--data-dir", str(tmp_path / "m"), "--json"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert module.returncode == 0, module.stderr
    assert set(json.loads(module.stdout)) == {"account_id", "app_id", "token"}
