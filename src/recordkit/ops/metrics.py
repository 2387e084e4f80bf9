"""Prometheus metrics (``GET /metrics``, the text format or OpenMetrics as the scraper asks).

Two kinds, collected differently:

- **Per process**, counted as things happen: HTTP requests and their latency by route template,
  method and status (``recordkit_http_requests_total``, ``recordkit_http_request_duration_seconds``),
  and webhook delivery attempts by outcome (``recordkit_webhook_attempts_total``), kept in plain
  counts (``recordkit.ops.tally``). Under ``recordkit serve --workers N`` (N > 1) the workers
  publish theirs to a shared folder (``Settings.metrics_dir``) once a second, so whichever worker
  answers a scrape reports the sum over all of them.
- **Service-wide**, read from the store when scraped (cached a few seconds): recordings by status
  (the exact counters), the recording job queue (unfinished recordings by status and the oldest
  one's age), the webhook backlog (pending, due, the oldest pending one's age). Every process
  reports the same values; sum them across instances with ``max``, not ``sum``.

Nothing here holds a secret: route templates, never paths with ids; no tokens, no URLs.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from recordkit.domain.models import RECORDING_STATUSES
from recordkit.domain.opsview import UNFINISHED, OpsQueries, OpsSnapshot
from recordkit.domain.timefmt import now_ms
from recordkit.ops.tally import SharedTally, Tally

log = logging.getLogger("recordkit.metrics")

# Seconds. Most API calls take a millisecond or less here; a start with a storage preflight, or a
# big page under load, can take seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OUTCOMES = ("delivered", "retry", "failed", "dead")
STORE_CACHE_SECONDS = 5.0
UNMATCHED = "<unmatched>"


class StoreCollector(Collector):
    """Service-wide gauges read from the store at scrape time (cached ``cache_seconds``)."""

    def __init__(
        self,
        queries: OpsQueries,
        *,
        clock: Callable[[], int] = now_ms,
        cache_seconds: float = STORE_CACHE_SECONDS,
    ) -> None:
        self.queries = queries
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._at = -1e18
        self._snapshot: OpsSnapshot | None = None

    def snapshot(self) -> OpsSnapshot | None:
        with self._lock:
            if time.monotonic() - self._at >= self.cache_seconds:
                try:
                    self._snapshot = self.queries.snapshot(self.clock())
                except Exception as exc:  # a scrape must answer; store_up says what happened
                    log.warning("metrics: reading the store failed: %s", exc)
                    self._snapshot = None
                self._at = time.monotonic()
            return self._snapshot

    def describe(self) -> Iterable[Metric]:
        return []  # collected at scrape time only (never while registering)

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        up = GaugeMetricFamily("recordkit_store_up", "1 when the last read of the store's numbers worked")
        up.add_metric([], 1 if snap is not None else 0)
        yield up
        if snap is None:
            return
        now = self.clock()
        recordings = GaugeMetricFamily(
            "recordkit_recordings", "Recordings by status, every app (the exact counters)", labels=["status"]
        )
        for status in RECORDING_STATUSES:
            recordings.add_metric([status], snap.recordings.get(status, 0))
        yield recordings
        jobs = GaugeMetricFamily(
            "recordkit_recording_jobs",
            "Unfinished recordings that RecordKit runs (its job queue), by status",
            labels=["status"],
        )
        ages = GaugeMetricFamily(
            "recordkit_recording_jobs_oldest_age_seconds",
            "Seconds since invoked_time of the oldest unfinished recording, by status (0: none)",
            labels=["status"],
        )
        for status in UNFINISHED:
            count, oldest = snap.jobs.get(status, (0, now))
            jobs.add_metric([status], count)
            ages.add_metric([status], max(0, now - oldest) / 1000 if count else 0)
        yield jobs
        yield ages
        if snap.webhooks is not None:
            hooks = snap.webhooks
            yield GaugeMetricFamily(
                "recordkit_webhook_deliveries_pending",
                "Webhook deliveries not yet delivered nor given up (including scheduled retries)",
                value=hooks.pending,
            )
            yield GaugeMetricFamily(
                "recordkit_webhook_deliveries_due", "Pending webhook deliveries due now (the backlog)", value=hooks.due
            )
            oldest_age = max(0, now - hooks.oldest_pending_ms) / 1000 if hooks.oldest_pending_ms is not None else 0
            yield GaugeMetricFamily(
                "recordkit_webhook_deliveries_oldest_pending_age_seconds",
                "Seconds since the oldest pending webhook delivery was queued (0: none)",
                value=oldest_age,
            )


class InfoCollector(Collector):
    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("recordkit_info", "This RecordKit: version and store", labels=list(self.labels))
        info.add_metric(list(self.labels.values()), 1)
        yield info


class TallyCollector(Collector):
    """The per-process counts (``recordkit.ops.tally``), summed over the workers when they share."""

    def __init__(self, tally: Tally, shared: SharedTally | None) -> None:
        self.tally = tally
        self.shared = shared

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snap = self.shared.combined() if self.shared is not None else self.tally.snapshot()
        labels = ["method", "route", "status"]
        requests = CounterMetricFamily(
            "recordkit_http_requests", "HTTP requests by route template, method and status", labels=labels
        )
        latency = HistogramMetricFamily(
            "recordkit_http_request_duration_seconds",
            "HTTP request latency in seconds (first byte in to last byte out) by route template, method and status",
            labels=labels,
        )
        bounds = [*(repr(float(b)) for b in self.tally.bounds), "+Inf"]  # as prometheus_client writes `le`
        for method, route, status, count, total, buckets in sorted(snap.requests):
            values = [method, route, str(status)]
            requests.add_metric(values, count)
            latency.add_metric(values, list(zip(bounds, itertools.accumulate(buckets), strict=True)), total)
        yield requests
        yield latency
        attempts = CounterMetricFamily(
            "recordkit_webhook_attempts",
            "Webhook delivery attempts by outcome: delivered (2xx), retry (5xx, timeout, network: sent again "
            "later), failed (another status: not retried), dead (the last allowed attempt failed)",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            attempts.add_metric([outcome], snap.outcomes.get(outcome, 0))
        yield attempts


class Metrics:
    """One app's metrics. ``observe_request`` is on every request's path (``Tally.observe``)."""

    def __init__(
        self,
        queries: OpsQueries | None,
        *,
        shared_dir: Path | None = None,
        version: str = "",
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.tally = Tally(LATENCY_BUCKETS)
        self.shared = SharedTally(self.tally, shared_dir) if shared_dir is not None else None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(TallyCollector(self.tally, self.shared))
        if self.shared is None:
            ProcessCollector(registry=self.registry)  # CPU, memory, open files: of this one process
        else:
            self.shared.start()  # made in the worker process (after the fork): publish its counts
        self.store: StoreCollector | None = None
        if queries is not None:
            self.store = StoreCollector(queries, clock=clock)
            self.registry.register(self.store)
        store_kind = queries.kind if queries is not None else ""
        self.registry.register(InfoCollector({"version": version, "store": store_kind}))
        self._observe = self.tally.observe

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._observe(method if method in METHODS else "OTHER", route, status, seconds)

    def webhook_outcome(self, status: str) -> None:
        """A delivery attempt ended ``status`` (the dispatcher's: delivered, pending, failed, dead)."""
        name = "retry" if status == "pending" else status
        if name in OUTCOMES:
            self.tally.outcome(name)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format ``accept`` asks for (Prometheus text by default)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
