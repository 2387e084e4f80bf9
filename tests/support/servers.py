"""Processes: ``recordkit`` commands and ``recordkit serve`` servers on 127.0.0.1, free ports, waiting.

Every command runs with no outside ``RECORDKIT_*`` variable, without rate limits and with private
networks allowed (:func:`clean_env`); a data dir whose server runs on PostgreSQL hands its database
to every command given that ``--data-dir`` (:func:`use_database`, :func:`database_env`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now (also what a "server that is down" looks like)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "recordkit"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "recordkit.cli.main"]


# Servers under test run without rate limits (suites send hundreds of requests a second with one
# token); test_e2e_rate_limits.py turns them on with its own values.
NO_RATE_LIMITS = {"RECORDKIT_RATE_LIMIT_RECORDINGS": "off", "RECORDKIT_RATE_LIMIT_OTHER": "off"}
# ... and with private networks allowed (webhook receivers, SFTP servers and recorded pages on
# 127.0.0.1); test_e2e_address_policy.py turns the address policy back on.
ALLOW_PRIVATE = {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "true"}


def clean_env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECORDKIT_")},
        **NO_RATE_LIMITS,
        **ALLOW_PRIVATE,
    }


# The PostgreSQL database of each data dir whose server runs on one (tests/e2e/conftest.py):
# ``run_cli`` hands it, as RECORDKIT_DATABASE_URL, to every command given that ``--data-dir``.
DATABASES: dict[str, str] = {}


def use_database(data_dir: Path, url: str | None) -> None:
    if url:
        DATABASES[str(data_dir)] = url


def database_env(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """RECORDKIT_DATABASE_URL for a command line whose ``--data-dir`` runs on PostgreSQL, else nothing."""
    if "--data-dir" in args[:-1]:
        url = DATABASES.get(str(args[list(args).index("--data-dir") + 1]))
        if url:
            return {"RECORDKIT_DATABASE_URL": url}
    return {}


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*cli_command(), *args],
        capture_output=True,
        text=True,
        env={**clean_env(), **database_env(args)},
        timeout=60,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"recordkit {' '.join(args)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def cli_json(*args: str) -> dict[str, Any]:
    out = run_cli(*args, "--json").stdout
    value = json.loads(out)
    assert isinstance(value, dict), out
    return value


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the process group we created for it, if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # worker processes left behind, if any
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Server:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float
    database_url: str | None = None  # PostgreSQL; None: SQLite in data_dir

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/client/v4"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(proc: subprocess.Popen[bytes], origin: str, log: Callable[[], str], timeout: float) -> None:
    """Until ``GET /healthz`` answers 200; fails if the server exits first or is not up in ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"recordkit serve exited with {proc.returncode}:\n{log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{origin}/healthz", timeout=0.5).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"recordkit serve not ready after {timeout} s:\n{log()}")
        time.sleep(0.02)


def serve(data_dir: Path, log_path: Path, env: dict[str, str], port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    """``recordkit serve`` on ``data_dir`` and 127.0.0.1 (a free port unless given), in a process group
    of its own, its output appended to ``log_path``; returns once it is healthy."""
    port = port or free_port()
    args = [*cli_command(), "serve", "--data-dir", str(data_dir), "--port", str(port), "--host", HOST]
    with log_path.open("ab") as log:
        log.write(f"\n--- start on port {port} ---\n".encode())
        log.flush()
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env={**clean_env(), **env}, start_new_session=True
        )
    try:
        wait_healthy(proc, f"http://{HOST}:{port}", lambda: log_path.read_text(errors="replace"), STARTUP_TIMEOUT)
    except BaseException:
        stop_process(proc)
        raise
    return proc, port


@dataclass
class RkServer:
    """One ``recordkit serve`` on a data dir; ``kill9`` and ``start`` again to simulate a crash."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        use_database(self.data_dir, self.env.get("RECORDKIT_DATABASE_URL"))  # for cli_json / run_cli

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/client/v4"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> RkServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc, self.port = serve(self.data_dir, self.log_path, self.env, self.port)
        return self

    def group_pids(self) -> list[int]:
        """Processes still in the server's process group (its master and workers), zombies excluded."""
        if self.proc is None:
            return []
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if fields[0] != "Z" and int(fields[2]) == self.proc.pid:
                    out.append(int(entry.name))
        return out

    def kill9(self) -> None:
        """``kill -9`` the whole process group, as a crash would; wait until it is gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.group_pids(), f"processes survived kill -9: {self.group_pids()}"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def db_status(self, recording_id: str) -> str | None:
        """A recording's status read from the database (only while the server is down)."""
        url = self.env.get("RECORDKIT_DATABASE_URL")
        if url:  # PostgreSQL
            import psycopg

            with psycopg.connect(url) as pg:
                found = pg.execute("SELECT status FROM recordings WHERE id = %s", (recording_id,)).fetchone()
            return None if found is None else str(found[0])
        conn = sqlite3.connect(self.data_dir / "recordkit.sqlite3")
        try:
            row = conn.execute("SELECT status FROM recordings WHERE id = ?", (recording_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else str(row[0])
