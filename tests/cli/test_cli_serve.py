"""``recordkit serve``: on an empty data dir it makes credentials and says how to use them."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run_to_exit
from tests.support.servers import clean_env, cli_command, free_port


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(data_dir: Path, log: Path, *extra: str) -> Iterator[Running]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cli_command(), "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            start_new_session=True,
        )
    running = Running(proc, port, log)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{running.output()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"serve not ready after 10 s:\n{running.output()}")
            time.sleep(0.02)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_serve_on_empty_data_dir_prints_credentials_curl_and_sdk(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    with serve(data_dir, tmp_path / "first.log") as running:
        out = running.output()
        account = re.search(r"account_id:\s+([0-9a-f]{32})\b", out)
        app = re.search(r"app_id:\s+([0-9a-f-]{36})\b", out)
        token = re.search(r"token:\s+(\S+)", out)
        assert account and app and token, out
        account_id, app_id, secret = account.group(1), app.group(1), token.group(1)
        base = f"http://127.0.0.1:{running.port}/client/v4"
        list_url = f"{base}/accounts/{account_id}/realtime/kit/{app_id}/recordings"

        # The curl line: a working command.
        curl_lines = re.search(r"^\s*(curl .*?\\\n\s*\S+)$", out, re.MULTILINE)
        assert curl_lines, out
        argv = shlex.split(curl_lines.group(1).replace("\\\n", " "))
        assert argv[0] == "curl"
        assert f"Authorization: Bearer {secret}" in argv
        assert list_url in argv
        resp = httpx.get(argv[-1], headers={"Authorization": f"Bearer {secret}"})
        assert resp.status_code == 200
        assert resp.json() == {
            "success": True,
            "data": [],
            "paging": {"total_count": 0, "start_offset": 0, "end_offset": 0},
        }

        # The SDK snippet: runs as printed.
        assert "pip install cloudflare" in out
        snippet = re.search(
            r"^(\s*from cloudflare import Cloudflare\n.*?\n.*?get_recordings\(.*?\)\))$", out, re.M | re.S
        )
        assert snippet, out
        code = textwrap.dedent(snippet.group(1))
        assert f'api_token="{secret}"' in code and f'base_url="{base}"' in code
        assert f'get_recordings("{app_id}", account_id="{account_id}")' in code
        ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
        assert ran.returncode == 0, ran.stderr
        assert "total_count=0" in ran.stdout

    # A second start on the same data dir makes nothing new and prints no token.
    with serve(data_dir, tmp_path / "second.log") as running:
        out = running.output()
        assert secret not in out and "token:" not in out
        again = httpx.get(
            f"http://127.0.0.1:{running.port}/client/v4/accounts/{account_id}/realtime/kit/apps",
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert again.status_code == 200
        assert [a["id"] for a in again.json()["data"]] == [app_id]


def test_the_first_start_s_examples_carry_the_public_url(tmp_path: Path) -> None:
    # Behind a proxy or in a container the listening address is not what users reach.
    public = "https://recordings.example.com"
    with serve(tmp_path / "fresh", tmp_path / "first.log", "--public-url", public) as running:
        out = running.output()
    welcome = out.split("[INFO]")[0]
    assert f'base_url="{public}/client/v4"' in welcome and f'"{public}/client/v4/accounts/' in welcome, out
    assert f"127.0.0.1:{running.port}" not in welcome, out


def test_serve_after_init_prints_no_credentials(tmp_path: Path) -> None:
    data_dir = tmp_path / "inited"
    done = subprocess.run(
        [*cli_command(), "init", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with serve(data_dir, tmp_path / "serve.log") as running:
        assert "token:" not in running.output()


def test_serve_refuses_a_port_in_use_and_the_first_server_keeps_it(tmp_path: Path) -> None:
    """granian binds with SO_REUSEPORT; without the one exclusive socket a second serve would share
    the port with the first and the two would take turns answering."""
    with serve(tmp_path / "first", tmp_path / "first.log") as running:
        for host in ("127.0.0.1", "0.0.0.0"):
            second = tmp_path / f"second-{host}"
            args = ("serve", "--data-dir", str(second), "--host", host, "--port", str(running.port))
            done = run_to_exit(*args, env=clean_env(), timeout=30)
            shown = done.stdout + done.stderr
            assert done.returncode != 0, shown
            assert "Traceback" not in shown, shown
            assert done.stderr == (
                f"Error: port {running.port} on {host} is already in use (another recordkit serve?); "
                "choose another with --port\n"
            ), shown
            assert not second.exists()  # refused before making a data dir or credentials
        assert running.proc.poll() is None
        for _ in range(6):
            assert httpx.get(f"http://127.0.0.1:{running.port}/livez", timeout=5).status_code == 200
