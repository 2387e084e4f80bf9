"""SFTP destination against an asyncssh SFTP server (password and public-key users): what only SFTP
does (key users, known_hosts, the address policy, folders). The behaviours every kind shares are in
test_contract.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recordkit.destinations import DestinationError, Endpoints, open_destination
from tests.support.destinations import check_failure, random_file, unique
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


def test_probe_writes_and_deletes(sftp_server: SftpServer) -> None:
    folder = unique("probe")
    dest = open_destination(password_config(sftp_server, path=folder))
    dest.probe()
    assert (sftp_server.root / folder).is_dir()
    assert not any(folder in f for f in sftp_server.files())


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
