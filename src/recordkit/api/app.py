"""The ASGI application factory: ``create_app(settings)``; no global state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from recordkit.api.errors import on_http_exception, on_recordkit_error, on_unexpected
from recordkit.api.guard import TargetGuard
from recordkit.api.operations import Operations
from recordkit.api.ratelimit import RateLimit
from recordkit.api.recordings import file_routes
from recordkit.api.routes import build_routes
from recordkit.api.webhooks import webhook_routes
from recordkit.blobs.bucket import LocalBucket, open_bucket, open_signer
from recordkit.domain.models import JSONDict
from recordkit.domain.services import Services
from recordkit.domain.timefmt import now_ms
from recordkit.errors import RecordKitError
from recordkit.jobs.delivery import RetryPolicy, probe_storage
from recordkit.jobs.stopping import stop_task
from recordkit.jobs.supervisor import Supervisor
from recordkit.jobs.webhooks import WebhookDispatcher, WebhookPolicy
from recordkit.recorder.ffmpeg import FfmpegRecorder
from recordkit.security.netpolicy import AddressPolicy
from recordkit.security.webhook_keys import WebhookSigner, key_path
from recordkit.settings import Settings
from recordkit.store.factory import open_store


def create_app(settings: Settings, store: Any = None) -> Starlette:
    store = store if store is not None else open_store(settings)
    clock = now_ms
    signer = open_signer(store.cipher)
    bucket = open_bucket(settings, signer)
    endpoints = settings.endpoints()
    recorder = FfmpegRecorder(settings.ffmpeg)
    supervisor = Supervisor(
        store,
        recorder,
        bucket,
        settings.work_dir,
        settings.download_ttl_seconds * 1000,
        endpoints=endpoints,
        policy=RetryPolicy.from_settings(settings),
        retention_every_ms=int(settings.retention_interval_seconds * 1000),
    )

    def preflight(config: JSONDict) -> None:
        probe_storage(config, endpoints)

    addresses = AddressPolicy(allow_private=settings.allow_private_network)  # url, SFTP host, webhook URLs
    services = Services.build(
        store,
        store,
        clock,
        on_change=supervisor.poke,
        preflight=preflight if settings.storage_preflight else None,
        addresses=addresses,
    )
    local = bucket.store if isinstance(bucket, LocalBucket) else None
    extra = file_routes(local, signer, clock)
    hook_signer = WebhookSigner(key_path(settings.data_dir))
    operations = Operations(settings, store, bucket, recorder)  # /livez, /readyz, /metrics; request ids, access log
    dispatcher = WebhookDispatcher(
        store, hook_signer, WebhookPolicy.from_settings(settings), on_outcome=operations.webhook_outcome
    )
    extra += webhook_routes(services, hook_signer, settings.max_body_bytes)
    extra += operations.routes()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if settings.run_jobs:
            if not recorder.available():
                logging.getLogger("recordkit").warning("recordings cannot be made: %s", recorder.status())
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
    logging.getLogger("recordkit").debug("app created for %s", settings.data_dir)
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
