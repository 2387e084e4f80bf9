"""Run the ASGI app under granian: one listening socket, bound here and shared by the workers only;
each worker process builds its app from the Settings given to it (nothing goes through os.environ).

granian binds with SO_REUSEPORT (every worker its own socket on Linux), so a second server on the
same port would start and share it, requests alternating between the two. ``listen`` binds the
port without SO_REUSEPORT instead, before anything else is done, and ``run_server`` hands that one
socket to granian's workers: another process cannot bind the port while this one listens (nor this
one while another does). See docs/decisions.md, "Settings in one place; one listening socket".
"""

from __future__ import annotations

import errno
import functools
import socket
from dataclasses import replace
from typing import Any

import click
from granian.server.mp import MPServer

from recordkit.settings import Settings

BACKLOG = 1024  # granian's default


class _OneSocket(MPServer):
    """granian (its worker processes: ``granian.Granian`` on a GIL build of Python, as RecordKit
    runs), serving on a socket bound already (``listen``) rather than binding its own.

    granian keeps its listener in ``_ssp`` (a spec each worker binds, with SO_REUSEPORT, on Linux)
    or ``_shd`` (one socket the workers share, elsewhere). This sets the second from ours: the
    workers, forked, inherit the descriptor; ``_sso`` is the Python socket granian keeps (and
    closes at shutdown). Checked by tests/cli/test_cli_serve.py (a busy port) and
    tests/e2e/test_e2e_workers.py (two workers on one socket)."""

    def __init__(self, listener: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listener = listener

    def _init_shared_socket(self) -> None:
        from granian._granian import SocketHolder

        fd = self._listener.fileno()
        # granian's stubs: SocketHolder() takes (fd, uds, backlog); these attributes start as None
        self._ssp = None
        self._shd = SocketHolder(fd, False, self.backlog)  # type: ignore[call-arg, assignment]
        self._sfd = fd  # type: ignore[assignment]
        self._sso = self._listener


def listen(settings: Settings) -> socket.socket:
    """The server's socket, bound and listening on ``settings.host``:``settings.port``, exclusively.

    SO_REUSEADDR (a restart need not wait for the last run's connections in TIME_WAIT), never
    SO_REUSEPORT. A port already taken is a one-line ClickException naming it."""
    host, port = settings.host, settings.port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a host name"
        raise click.ClickException(f"cannot listen on {host!r} (RECORDKIT_HOST / --host): {reason}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} on {host} is already in use (another recordkit serve?); choose another with --port"
            ) from None
        raise click.ClickException(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run_server(settings: Settings, listener: socket.socket) -> None:
    """Serve on ``listener`` with ``settings.workers`` worker processes until stopped.

    Each worker builds its app with ``worker_app(settings)``: granian forks its workers (the
    start method on Linux), which inherit these Settings as they are; were it to spawn them, the
    loader, a partial of a module function and a frozen dataclass, is pickled whole to each."""
    from granian.constants import Interfaces

    from recordkit.api.app import worker_app

    settings = prepare_workers(settings, settings.workers)
    options: dict[str, Any] = {}
    if settings.log_json:
        from recordkit.ops.logs import json_logging_config

        options["log_dictconfig"] = json_logging_config()  # granian's own lines too, and the workers'
    server = _OneSocket(
        listener,
        "recordkit.api.app:worker_app",  # only names the processes: the loader below makes the app
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        backlog=BACKLOG,
        log_access=False,
        **options,
    )
    server.serve(target_loader=functools.partial(worker_app, settings), wrap_loader=False)


def prepare_workers(settings: Settings, workers: int) -> Settings:
    """With several worker processes, give their metrics a shared folder (emptied of the last run's):
    ``RECORDKIT_METRICS_DIR``, else one under the data dir per host and port, so that servers sharing
    a data dir (two ports on one host; containers on one volume, whose pids may coincide) keep theirs
    apart."""
    if not settings.metrics or (workers <= 1 and settings.metrics_dir is None):
        return settings
    from recordkit.ops.tally import reset_folder

    folder = settings.metrics_dir or settings.data_dir / "metrics" / f"{socket.gethostname()}-{settings.port}"
    reset_folder(folder)
    return replace(settings, metrics_dir=folder.resolve())
