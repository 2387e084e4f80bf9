"""The ASGI application factory: ``create_app(settings)``; no global state."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from recordkit.api.errors import on_http_exception, on_recordkit_error, on_unexpected
from recordkit.api.routes import build_routes
from recordkit.domain.service import RecordingsService
from recordkit.errors import RecordKitError
from recordkit.settings import Settings
from recordkit.store.factory import open_store


def create_app(settings: Settings, store: Any = None) -> Starlette:
    store = store if store is not None else open_store(settings)
    service = RecordingsService(store)
    app = Starlette(
        routes=build_routes(service, settings),
        exception_handlers={
            RecordKitError: on_recordkit_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    app.router.redirect_slashes = False  # Cloudflare does not redirect; a wrong path is a 404
    app.state.store = store
    app.state.settings = settings
    logging.getLogger("recordkit").debug("app created for %s", settings.data_dir)
    return app


def app_from_env() -> Starlette:
    """Entry point for a server worker process: settings come from ``RECORDKIT_*`` variables."""
    return create_app(Settings.from_env())
