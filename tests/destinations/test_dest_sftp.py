"""SFTP destination against an asyncssh SFTP server (password and public-key users)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from recordkit.errors import InvalidRequest
from tests.support.destinations import check_failure, random_file, unique
from tests.support.servers import free_port
from tests.support.storage_servers import SftpServer, new_ssh_key


def password_config(server: SftpServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sftp",
        "host": server.host,
        "port": server.port,
        "username": server.password_user,
        "auth_method": "PASSWORD",
        "password": server.password,
        **extra,
    }


def key_config(server: SftpServer, private_key: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sftp",
        "host": server.host,
        "port": server.port,
        "username": server.key_user,
        "auth_method": "KEY",
        "private_key": private_key,
        **extra,
    }


def test_password_user_uploads_under_path_and_prefix(sftp_server: SftpServer, tmp_path: Path) -> None:
    folder = unique("up")
    dest = open_destination(password_config(sftp_server, path=f"{folder}/2026/"), file_name_prefix="acme")
    source, data = random_file(tmp_path, 300 * 1024)
    remote = dest.put(source, "meeting.mp4")
    assert remote == f"{folder}/2026/acme_meeting.mp4"
    assert sftp_server.read(remote) == data
    assert [f for f in sftp_server.files() if folder in f] == [f"/{remote}"]  # no .partial left behind


@pytest.mark.parametrize(
    ("kind", "form"), [("ed25519", "openssh"), ("rsa", "pem"), ("ecdsa", "pem"), ("rsa", "openssh")]
)
def test_key_user_uploads(sftp_server: SftpServer, tmp_path: Path, kind: str, form: str) -> None:
    key = sftp_server.keys[kind]
    text = key.private_openssh if form == "openssh" else key.private_pem
    folder = unique("keys")
    dest = open_destination(key_config(sftp_server, text, path=folder))
    source, data = random_file(tmp_path, 200 * 1024)
    remote = dest.put(source, "rec.mp4")
    assert remote == f"{folder}/rec.mp4"
    assert sftp_server.read(remote) == data


def test_absolute_path_and_large_file(sftp_server: SftpServer, tmp_path: Path) -> None:
    folder = f"/{unique('abs')}/deep/er"
    dest = open_destination(password_config(sftp_server, path=folder))
    source, data = random_file(tmp_path, 9 * 1024 * 1024)
    remote = dest.put(source, "big.mp4")
    assert remote == f"{folder}/big.mp4"
    assert sftp_server.read(remote) == data


def test_put_replaces_and_delete_removes(sftp_server: SftpServer, tmp_path: Path) -> None:
    folder = unique("del")
    dest = open_destination(password_config(sftp_server, path=f"/{folder}"))
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    remote = dest.put(first, "x.mp4")
    assert dest.put(second, "x.mp4") == remote == f"/{folder}/x.mp4"
    assert sftp_server.read(remote) == data
    dest.delete(remote)
    assert not any(folder in f for f in sftp_server.files())
    dest.delete(remote)
    with pytest.raises(InvalidRequest, match=r"not under storage_config\.path"):
        dest.delete(f"{folder}/x.mp4")  # relative: not where this destination writes


def test_probe_writes_and_deletes(sftp_server: SftpServer) -> None:
    folder = unique("probe")
    dest = open_destination(password_config(sftp_server, path=folder))
    dest.probe()
    assert (sftp_server.root / folder).is_dir()
    assert not any(folder in f for f in sftp_server.files())


def test_wrong_password_is_permanent_and_secret_free(sftp_server: SftpServer) -> None:
    wrong = "not-the-password-0123"
    dest = open_destination(password_config(sftp_server, password=wrong))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(wrong, sftp_server.password))
    assert "authentication failed" in caught.value.message
    assert f"{sftp_server.password_user}@127.0.0.1:{sftp_server.port}" in caught.value.message


def test_unknown_key_is_permanent_and_secret_free(sftp_server: SftpServer) -> None:
    stranger = new_ssh_key("ed25519").private_openssh
    dest = open_destination(key_config(sftp_server, stranger))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(stranger,))


def test_server_down_is_transient(sftp_server: SftpServer, tmp_path: Path) -> None:
    dest = open_destination(password_config(sftp_server, port=free_port()))
    source, _ = random_file(tmp_path, 10)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=(sftp_server.password,))
    assert "ConnectionRefusedError" in caught.value.message
    assert time.monotonic() - started < 20


def test_known_hosts(sftp_server: SftpServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sftp_server.known_hosts_line())
    open_destination(password_config(sftp_server), Endpoints(sftp_known_hosts=str(known))).probe()

    known.write_text(sftp_server.known_hosts_line(new_ssh_key("ed25519")))  # someone else's key
    with pytest.raises(DestinationError) as caught:
        open_destination(password_config(sftp_server), Endpoints(sftp_known_hosts=str(known))).probe()
    check_failure(caught.value, transient=False, secrets=(sftp_server.password,))
    assert "host key does not match" in caught.value.message

    known.write_text("")  # not listed at all
    with pytest.raises(DestinationError) as caught:
        open_destination(password_config(sftp_server), Endpoints(sftp_known_hosts=str(known))).probe()
    check_failure(caught.value, transient=False)
    assert "not in the known_hosts file" in caught.value.message


def test_private_hosts_can_be_refused(sftp_server: SftpServer) -> None:
    dest = open_destination(password_config(sftp_server), Endpoints(sftp_allow_private=False))
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False)
    assert "private or local address" in caught.value.message


def test_a_file_in_the_way_is_permanent(sftp_server: SftpServer, tmp_path: Path) -> None:
    name = unique("file")
    (sftp_server.root / name).write_bytes(b"x")
    dest = open_destination(password_config(sftp_server, path=f"{name}/sub"))
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=False)
