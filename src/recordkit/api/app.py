"""The ASGI application factory: ``create_app(settings)``; no global state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from recordkit.api.errors import on_http_exception, on_recordkit_error, on_unexpected
from recordkit.api.guard import TargetGuard
from recordkit.api.operations import Operations
from recordkit.api.ratelimit import RateLimit
from recordkit.api.recordings import file_routes
from recordkit.api.routes import build_routes
from recordkit.api.webhooks import webhook_routes
from recordkit.blobs.bucket import LocalBucket
from recordkit.domain.ports import Store
from recordkit.errors import RecordKitError
from recordkit.jobs.stopping import stop_task
from recordkit.runtime import Runtime
from recordkit.settings import Settings

log = logging.getLogger("recordkit")


def create_app(settings: Settings, store: Store | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """The app of ``runtime`` (by default one built from ``settings``, with ``store`` if given)."""
    runtime = runtime if runtime is not None else Runtime(settings, store=store)
    settings = runtime.settings
    store = runtime.store
    clock = runtime.clock
    bucket = runtime.bucket
    supervisor = runtime.supervisor
    services = runtime.services
    local = bucket.store if isinstance(bucket, LocalBucket) else None
    extra = file_routes(local, runtime.signer, clock)
    operations = Operations(runtime)  # /livez, /readyz, /metrics; request ids, access log
    dispatcher = runtime.webhooks
    extra += webhook_routes(services, runtime.webhook_signer, settings.max_body_bytes)
    extra += operations.routes()
    recorders = runtime.recorders

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if settings.run_jobs:
            for name, recorder in recorders:
                if not recorder.available():
                    log.warning("recordings (recorder %s) cannot be made: %s", name, recorder.status())
            await asyncio.to_thread(supervisor.remove_orphans)
            task = asyncio.create_task(supervisor.run())
        await dispatcher.start(settings.run_jobs)  # the webhook key is made here on first serve
        try:
            yield
        finally:
            await dispatcher.aclose()
            if task is not None:
                supervisor.stop()  # ends the segments; the loop returns after its current tick
                supervisor.poke()
                await stop_task(task, grace_seconds=15)  # asked, then cancelled only if need be

    app = Starlette(
        lifespan=lifespan,
        routes=build_routes(services, settings.max_body_bytes, extra),
        exception_handlers={
            RecordKitError: on_recordkit_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    app.router.redirect_slashes = False  # Cloudflare does not redirect; a wrong path is a 404
    recordings_rate, other_rate = settings.rate_limits()
    if recordings_rate or other_rate:
        app.add_middleware(RateLimit, recordings=recordings_rate, other=other_rate)
    app.add_middleware(TargetGuard)  # a path or query that is not UTF-8, or holds NUL: 400 before all else
    operations.install(app)  # after the rate limiter: the outermost middleware
    app.state.store = store
    app.state.services = services
    app.state.supervisor = supervisor
    app.state.webhooks = dispatcher
    app.state.settings = settings
    app.state.runtime = runtime
    log.debug("app created for %s", settings.data_dir)
    return app


def worker_app(settings: Settings) -> Starlette:
    """A server worker process's app, from the Settings ``recordkit serve`` gave it (cli/server.py)."""
    if settings.log_json:
        from recordkit.ops.logs import configure_json_logging

        configure_json_logging()
    return create_app(settings)


def app_from_env() -> Starlette:
    """For another ASGI server (``uvicorn --factory recordkit.api.app:app_from_env``): the settings
    from the ``RECORDKIT_*`` variables, as ``recordkit serve`` reads them."""
    return worker_app(Settings.from_env())
