"""The operations side of one app, built by ``create_app``: readiness, metrics, request ids, access log.

ops = Operations(runtime)
routes += ops.routes()          # /livez, /readyz, /metrics
ops.install(app)                # the outermost middleware (api.observe)
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from recordkit.api.observe import Observe
from recordkit.api.ops_routes import ops_routes
from recordkit.ops.health import Readiness
from recordkit.runtime import Runtime

log = logging.getLogger("recordkit.ops")


class Operations:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.settings = settings
        self.queries = runtime.ops_queries
        # The recorders count only where this process records (``RECORDKIT_RUN_JOBS``).
        self.readiness = Readiness(
            self.queries,
            runtime.bucket,
            recorders=runtime.recorders if settings.run_jobs else None,
            data_dir=settings.data_dir,
        )
        self.metrics = runtime.metrics

    def routes(self) -> list[BaseRoute]:
        return ops_routes(self.readiness, self.metrics, self.settings.metrics_token)

    def install(self, app: Starlette) -> None:
        """Add the middleware last, so that it is the outermost: it also sees the rate limiter's 429s."""
        app.add_middleware(Observe, metrics=self.metrics, access_log=self.settings.log_json, routes=app.routes)
        app.state.ops = self
