"""The operations side of one app, built by ``create_app``: readiness, metrics, request ids, access log.

ops = Operations(settings, store, bucket)
routes += ops.routes()          # /livez, /readyz, /metrics
ops.install(app)                # the outermost middleware (api.observe)
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from recordkit.api.observe import Observe
from recordkit.api.ops_routes import ops_routes
from recordkit.domain.opsview import OpsQueries
from recordkit.domain.ports import RecordingStore
from recordkit.ops.health import Readiness, RecorderStatus
from recordkit.ops.metrics import Metrics
from recordkit.settings import Settings

log = logging.getLogger("recordkit.ops")


class Operations:
    def __init__(
        self, settings: Settings, store: RecordingStore, bucket: Any, recorder: RecorderStatus | None = None
    ) -> None:
        self.settings = settings
        queries: OpsQueries = store.ops_queries()
        self.queries = queries
        # The recorder counts only where this process records (``RECORDKIT_RUN_JOBS``).
        self.readiness = Readiness(
            queries, bucket, recorder=recorder if settings.run_jobs else None, data_dir=settings.data_dir
        )
        self.metrics: Metrics | None = None
        if settings.metrics:
            from recordkit.distribution import version

            self.metrics = Metrics(queries, shared_dir=settings.metrics_dir, version=version())

    def routes(self) -> list[BaseRoute]:
        return ops_routes(self.readiness, self.metrics, self.settings.metrics_token)

    def webhook_outcome(self, status: str) -> None:
        """The webhook dispatcher's report of one attempt (delivered, pending, failed, dead)."""
        if self.metrics is not None:
            self.metrics.webhook_outcome(status)

    def install(self, app: Starlette) -> None:
        """Add the middleware last, so that it is the outermost: it also sees the rate limiter's 429s."""
        app.add_middleware(Observe, metrics=self.metrics, access_log=self.settings.log_json, routes=app.routes)
        app.state.ops = self
