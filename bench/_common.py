"""Helpers shared by the benchmark scripts: the CLI, servers as subprocesses, memory, tables, JSON.

Nothing here times anything by itself; every script measures what it compares side by side in
one run and reports ratios (the machine is small and noisy).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"

# The benchmarks run as scripts (``python bench/x.py``: Python puts bench/ on the path) and reuse the
# tests' support code (``tests.support``: free ports, the throwaway PostgreSQL), which lives in the
# repository, not in an installed package: the one path entry that makes ``tests`` importable.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

# re-exported for the scripts
from tests.support.data import iso  # noqa: E402, F401
from tests.support.servers import free_port  # noqa: E402, F401


def out_dir() -> Path:
    OUT.mkdir(exist_ok=True)
    return OUT


def rk(*args: str, data_dir: Path) -> dict[str, Any]:
    """Run one ``recordkit`` CLI command with ``--json``; returns its parsed output."""
    cmd = [sys.executable, "-m", "recordkit.cli.main", *args, "--data-dir", str(data_dir), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# The servers under test run as users run them, background jobs included (imported recordings are
# records only: the recording supervisor never picks them up, so it stays idle here).
# One token sends thousands of requests a second here: the per-token rate limits (a feature for
# real clients) would answer most of them 429. The benchmarks measure the server without them.
SERVER_ENV: dict[str, str] = {"RECORDKIT_RATE_LIMIT_RECORDINGS": "off", "RECORDKIT_RATE_LIMIT_OTHER": "off"}


def children(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rindex(b")") + 2 :].split()
        parent_of[int(entry)] = int(fields[1])
    tree, frontier = [pid], [pid]
    while frontier:
        nxt = [p for p, pp in parent_of.items() if pp in frontier]
        tree.extend(nxt)
        frontier = nxt
    return tree


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory line of /proc/PID/status in KiB (VmRSS; RssAnon: heap; RssFile: mapped files)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> tuple[float, list[tuple[int, str, float]]]:
    """Total RSS (MiB) of a process tree and (pid, name, MiB) per process."""
    parts = []
    for p in children(pid):
        try:
            name = Path(f"/proc/{p}/comm").read_text().strip()
        except OSError:
            continue
        parts.append((p, name, rss_kb(p) / 1024))
    return sum(mb for _, _, mb in parts), parts


def tree_rss_split_mb(pid: int) -> dict[str, float]:
    """RSS of a process tree split into anonymous memory and file-backed pages (e.g. SQLite's mmap)."""
    pids = children(pid)
    return {field: sum(rss_kb(p, field) for p in pids) / 1024 for field in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}


class Server:
    """A server subprocess in its own session (so it and its workers are stopped together)."""

    def __init__(self, name: str, cmd: Sequence[str], port: int, log: Path, env: dict[str, str] | None = None):
        self.name, self.cmd, self.port, self.log = name, list(cmd), port, log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, health_path: str = "/", timeout: float = 60.0) -> Server:
        handle = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.cmd, stdout=handle, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT, start_new_session=True
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.proc.returncode}); see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", health_path)
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{self.name} did not answer on port {self.port} within {timeout:.0f}s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script created for it
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def rss_mb(self) -> tuple[float, list[tuple[int, str, float]]]:
        assert self.proc is not None
        return tree_rss_mb(self.proc.pid)

    def rss_split_mb(self) -> dict[str, float]:
        assert self.proc is not None
        return tree_rss_split_mb(self.proc.pid)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def servers(*items: Server) -> Iterator[None]:
    try:
        yield
    finally:
        for item in items:
            item.stop()


# PostgreSQL for the benchmarks: the tests' throwaway cluster (tests/support/postgres.py: fsync off, so
# commits cost no disk flush), with PostgreSQL's default shared_buffers instead of the tests' 32MB.
PG_SETTINGS: dict[str, str] = {"shared_buffers": "128MB"}


def postgres_unavailable() -> str | None:
    """Why no throwaway PostgreSQL can be started here (None: it can)."""
    from tests.support import postgres as pg_support

    reason: str | None = pg_support.unavailable_reason()
    return reason


@contextlib.contextmanager
def pg_cluster(settings: dict[str, str] | None = None) -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (``pg_support.PgCluster``), removed afterwards.
    It quits with this process; ``cluster.new_database(migrated=False)`` gives an empty database's URL."""
    reason = postgres_unavailable()
    if reason:
        raise SystemExit(reason)
    from tests.support import postgres as pg_support

    cluster = pg_support.PgCluster.start(settings=settings if settings is not None else PG_SETTINGS)
    try:
        yield cluster
    finally:
        cluster.stop()


def readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool] | None = None) -> str:
    """A plain aligned text table (first column left-aligned, the others right-aligned)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = right or [i > 0 for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.rjust(w) if a else c.ljust(w) for c, w, a in zip(row, widths, align, strict=True)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def source_version() -> str:
    """The commit the benchmarked code comes from, and whether src/ differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, cwd=ROOT, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    n = len(dirty.splitlines())
    return head + (f" (+ {n} uncommitted or untracked path{'s' if n != 1 else ''} under src/)" if n else "")


def write_json(name: str, data: dict[str, Any]) -> Path:
    path = out_dir() / name
    data = {
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": source_version(),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
