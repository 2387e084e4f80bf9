"""What operations ask of the metadata store: is it ready, and how much work is waiting (a port).

Readiness probes (``GET /readyz``) and the Prometheus metrics (``GET /metrics``) read the store
through ``OpsQueries`` (``store.ops_queries()``), one small adapter per dialect (``store.sqlite.ops``,
``store.postgres.ops``) that runs its own few queries on the store's connections. Every query here is cheap at any size:
it reads the exact counters, or a partial index that holds only unfinished work. Nothing here
scans the recordings or the delivery log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

UNFINISHED = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING")


@dataclass(frozen=True)
class SchemaState:
    """The schema version the database holds and the one this build's migrations end at."""

    current: int
    expected: int

    @property
    def behind(self) -> bool:
        return self.current < self.expected


@dataclass(frozen=True)
class WebhookBacklog:
    """Webhook deliveries not yet finished: all of them, the ones due now, the oldest one's creation."""

    pending: int = 0
    due: int = 0
    oldest_pending_ms: int | None = None


@dataclass(frozen=True)
class OpsSnapshot:
    """Service-wide numbers (the same whichever process reads them)."""

    recordings: dict[str, int] = field(default_factory=dict)  # status -> count (exact counters)
    jobs: dict[str, tuple[int, int]] = field(default_factory=dict)  # unfinished status -> (count, oldest invoked_ms)
    webhooks: WebhookBacklog | None = None  # None: this store has no webhook outbox


class OpsQueries(Protocol):
    kind: str  # "sqlite" or "postgres"

    def check(self) -> SchemaState:
        """Answer a trivial query on a fresh connection; ``Unavailable`` saying why when it cannot."""
        ...

    def snapshot(self, now: int) -> OpsSnapshot: ...
