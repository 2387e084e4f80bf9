"""Run the ASGI app under granian; worker processes rebuild Settings from the environment."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from typing import Any

from recordkit.settings import Settings


def run_server(settings: Settings, workers: int = 1) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    settings = prepare_workers(settings, workers)
    os.environ.update(settings.to_env())
    options: dict[str, Any] = {}
    if settings.log_json:
        from recordkit.ops.logs import json_logging_config

        options["log_dictconfig"] = json_logging_config()  # granian's own lines too, and the workers'
    server = Granian(
        "recordkit.api.app:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        log_access=False,
        **options,
    )
    server.serve()


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
