"""Run the ASGI app under granian; worker processes rebuild Settings from the environment."""

from __future__ import annotations

import os

from recordkit.settings import Settings


def run_server(settings: Settings, workers: int = 1) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ.update(settings.to_env())
    server = Granian(
        "recordkit.api.app:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        log_access=False,
    )
    server.serve()
