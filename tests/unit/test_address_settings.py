"""The address policy's one switch: default off, RECORDKIT_ALLOW_PRIVATE_NETWORK, serve's flag;
carried to worker processes and to the SFTP connect-time check; the first serve says how to allow."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recordkit.cli.main import main
from recordkit.settings import Settings, SettingsError


def test_off_by_default_and_carried_everywhere() -> None:
    assert Settings().allow_private_network is False
    assert Settings.from_env({}).allow_private_network is False
    assert Settings.from_env({}).endpoints().sftp_allow_private is False
    on = Settings.from_env({"RECORDKIT_ALLOW_PRIVATE_NETWORK": "true"})
    assert on.allow_private_network and on.endpoints().sftp_allow_private
    assert Settings.from_env(on.to_env()) == on
    with pytest.raises(SettingsError, match="RECORDKIT_ALLOW_PRIVATE_NETWORK: must be one of true/false"):
        Settings.from_env({"RECORDKIT_ALLOW_PRIVATE_NETWORK": "nonsense"})  # a typo does not quietly mean off


@pytest.mark.parametrize(
    ("args", "env", "allowed"),
    [
        ([], {}, False),
        (["--allow-private-network"], {}, True),
        ([], {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "1"}, True),
        ([], {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "0"}, False),
    ],
)
def test_serve_flag_and_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], env: dict[str, str], allowed: bool
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr("recordkit.cli.server.run_server", lambda settings, listener: seen.append(settings))
    for name in ("RECORDKIT_ALLOW_PRIVATE_NETWORK", "RECORDKIT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:  # serve binds its port before anything else: a free one
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data"), "--port", port, *args], env=env)
    assert result.exit_code == 0, result.output
    assert seen[0].allow_private_network is allowed
    if allowed:
        assert "Private networks are allowed (--allow-private-network)" in result.output
    else:
        assert "recordkit serve --allow-private-network" in result.output
