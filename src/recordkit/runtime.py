"""The composition root: every part of a RecordKit process, built from ``Settings``, once.

``Runtime(settings)`` builds nothing yet; each part is built the first time it is asked for, then
kept, so that a CLI command pays only for what it uses (``recordkit webhooks list`` opens the store,
never the bucket or ffmpeg) and ``recordkit --help`` imports none of it (the commands import this
module inside their bodies). ``api.app.create_app`` takes one, or makes one from its settings.

    runtime = Runtime(settings)            # or Runtime(settings, store=a_store, clock=a_clock)
    runtime.store                          # the metadata store (SQLite or PostgreSQL), opened here
    runtime.bucket, runtime.signer         # RecordKit's bucket, the download links' signer
    runtime.recorders                      # name -> Recorder (recorder/registry.py)
    runtime.destination(config)            # a storage_config's destination (destinations/)
    runtime.supervisor, runtime.webhooks   # the jobs: recordings, uploads, sweeps; webhook sends
    runtime.metrics                        # Prometheus metrics (None unless RECORDKIT_METRICS)
    runtime.services, runtime.addresses    # the domain services; the one address policy
    runtime.close()                        # the store, if it was opened

Layers: above the jobs, ops and adapters, under the api and the cli (pyproject, import-linter).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from recordkit.domain.ports import Clock, Store
from recordkit.domain.timefmt import now_ms
from recordkit.settings import Settings

if TYPE_CHECKING:
    from recordkit.blobs.bucket import Bucket
    from recordkit.blobs.signing import UrlSigner
    from recordkit.destinations.base import Destination
    from recordkit.domain.endpoints import Endpoints
    from recordkit.domain.models import JSONDict
    from recordkit.domain.opsview import OpsQueries
    from recordkit.domain.services import Services
    from recordkit.jobs.delivery import Delivery, RetryPolicy
    from recordkit.jobs.supervisor import Supervisor
    from recordkit.jobs.webhooks import WebhookDispatcher
    from recordkit.ops.metrics import Metrics
    from recordkit.recorder.registry import RecorderRegistry
    from recordkit.security.netpolicy import AddressPolicy
    from recordkit.security.webhook_keys import WebhookSigner


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Clock = now_ms,
        recorders: RecorderRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._given_store = store  # a caller's store (tests, benchmarks): not closed by close()
        if store is not None:
            self.__dict__["store"] = store
        if recorders is not None:
            self.__dict__["recorders"] = recorders

    # -- the adapters ------------------------------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        from recordkit.store.factory import open_store

        return open_store(self.settings)

    @cached_property
    def signer(self) -> UrlSigner:
        from recordkit.blobs.bucket import open_signer

        return open_signer(self.store.cipher)

    @cached_property
    def bucket(self) -> Bucket:
        from recordkit.blobs.bucket import open_bucket

        return open_bucket(self.settings, self.signer)

    @cached_property
    def recorders(self) -> RecorderRegistry:
        from recordkit.recorder.registry import RecorderRegistry

        return RecorderRegistry.from_settings(self.settings)

    @cached_property
    def endpoints(self) -> Endpoints:
        return self.settings.endpoints()

    def destination(self, config: JSONDict) -> Destination:
        """The destination a ``storage_config`` names, with this server's endpoints."""
        from recordkit.destinations.factory import open_destination

        return open_destination(config, self.endpoints)

    def preflight(self, config: JSONDict) -> None:
        """Probe a ``storage_config`` before a recording starts (``RECORDKIT_STORAGE_PREFLIGHT``)."""
        from recordkit.jobs.delivery import probe_storage

        probe_storage(config, self.endpoints)

    @cached_property
    def ops_queries(self) -> OpsQueries:
        return self.store.ops_queries()

    @cached_property
    def webhook_signer(self) -> WebhookSigner:
        from recordkit.security.webhook_keys import WebhookSigner, key_path

        return WebhookSigner(key_path(self.settings.data_dir))

    # -- the jobs ----------------------------------------------------------------------------------

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        from recordkit.jobs.delivery import RetryPolicy

        return RetryPolicy.from_settings(self.settings)

    @cached_property
    def supervisor(self) -> Supervisor:
        """Recordings' media, their uploads and deliveries, the retention and lapse sweeps."""
        from recordkit.jobs.supervisor import Supervisor

        settings = self.settings
        return Supervisor(
            self.store,
            self.recorders,
            self.bucket,
            settings.work_dir,
            settings.download_ttl_seconds * 1000,
            endpoints=self.endpoints,
            policy=self.retry_policy,
            clock=self.clock,
            retention_every_ms=int(settings.retention_interval_seconds * 1000),
        )

    def delivery(self) -> Delivery:
        """A delivery step of its own (``recordkit recordings deliver``; the supervisor has one)."""
        from recordkit.jobs.delivery import Delivery

        return Delivery(
            self.store,
            self.bucket,
            work_dir=self.settings.work_dir,
            download_ttl_ms=self.settings.download_ttl_seconds * 1000,
            endpoints=self.endpoints,
            policy=self.retry_policy,
            clock=self.clock,
        )

    @cached_property
    def webhooks(self) -> WebhookDispatcher:
        """The webhook sender; each attempt's outcome is counted in the metrics."""
        from recordkit.jobs.webhooks import WebhookDispatcher, WebhookPolicy

        metrics = self.metrics
        return WebhookDispatcher(
            self.store,
            self.webhook_signer,
            WebhookPolicy.from_settings(self.settings),
            clock=self.clock,
            on_outcome=metrics.webhook_outcome if metrics is not None else None,
            addresses=self.addresses,
        )

    @cached_property
    def metrics(self) -> Metrics | None:
        if not self.settings.metrics:
            return None
        from recordkit.distribution import version
        from recordkit.ops.metrics import Metrics

        return Metrics(self.ops_queries, shared_dir=self.settings.metrics_dir, version=version())

    # -- the domain --------------------------------------------------------------------------------

    @cached_property
    def addresses(self) -> AddressPolicy:
        """The one address policy: a start's ``url``, SFTP hosts, webhook URLs."""
        from recordkit.security.netpolicy import AddressPolicy

        return AddressPolicy(allow_private=self.settings.allow_private_network)

    @cached_property
    def services(self) -> Services:
        """One service per resource over this store and clock; a change pokes the supervisor."""
        from recordkit.domain.services import Services

        return Services.build(
            self.store,
            self.store,
            self.clock,
            on_change=self.supervisor.poke,
            preflight=self.preflight if self.settings.storage_preflight else None,
            addresses=self.addresses,
        )

    # -- the end -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store if this runtime opened it (a given store stays its giver's to close)."""
        opened = self.__dict__.get("store")
        if opened is not None and opened is not self._given_store:
            opened.close()
