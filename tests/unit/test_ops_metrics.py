"""``recordkit.ops.metrics``: labels, outcomes, the store gauges and how a failing store shows."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from recordkit.domain.opsview import OpsSnapshot, SchemaState, WebhookBacklog
from recordkit.ops.metrics import Metrics

NOW = 1_800_000_000_000


class FakeQueries:
    kind = "fake"

    def __init__(self, snapshot: OpsSnapshot | None) -> None:
        self.value = snapshot
        self.calls = 0

    def check(self) -> SchemaState:
        return SchemaState(4, 4)

    def snapshot(self, now_ms: int) -> OpsSnapshot:
        self.calls += 1
        if self.value is None:
            raise RuntimeError("database is locked")
        return self.value


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_requests_are_counted_by_template_method_and_status() -> None:
    m = Metrics(None)
    route = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    for _ in range(3):
        m.observe_request("GET", route, 200, 0.002)
    m.observe_request("GET", route, 401, 0.0004)
    m.observe_request("BREW", "<unmatched>", 404, 0.0001)  # a method nobody defines: one label value
    got = samples(m)
    labels = (("method", "GET"), ("route", route), ("status", "200"))
    assert got[("recordkit_http_requests_total", labels)] == 3
    assert got[("recordkit_http_requests_total", (("method", "GET"), ("route", route), ("status", "401")))] == 1
    assert got[("recordkit_http_requests_total", (("method", "OTHER"), ("route", "<unmatched>"), ("status", "404")))]
    assert got[("recordkit_http_request_duration_seconds_count", labels)] == 3
    assert got[("recordkit_http_request_duration_seconds_bucket", (("le", "0.001"), *labels))] == 0
    assert got[("recordkit_http_request_duration_seconds_bucket", (("le", "0.0025"), *labels))] == 3
    assert not [name for name, _ in got if name.endswith("_created")]


def test_webhook_attempts_by_outcome() -> None:
    m = Metrics(None)
    for status in ("delivered", "delivered", "pending", "failed", "dead", "something else"):
        m.webhook_outcome(status)
    got = samples(m)
    assert {o: got[("recordkit_webhook_attempts_total", (("outcome", o),))] for o in ("delivered", "retry")} == {
        "delivered": 2,
        "retry": 1,
    }
    assert got[("recordkit_webhook_attempts_total", (("outcome", "failed"),))] == 1
    assert got[("recordkit_webhook_attempts_total", (("outcome", "dead"),))] == 1


def test_store_gauges_come_from_the_snapshot_and_are_cached() -> None:
    snap = OpsSnapshot(
        recordings={"UPLOADED": 7, "INVOKED": 1, "UPLOADING": 2},
        jobs={"INVOKED": (1, NOW - 3_000), "UPLOADING": (2, NOW - 90_000)},
        webhooks=WebhookBacklog(pending=5, due=2, oldest_pending_ms=NOW - 12_500),
    )
    queries = FakeQueries(snap)
    m = Metrics(queries, version="9.9", clock=lambda: NOW)
    got = samples(m)
    assert got[("recordkit_store_up", ())] == 1
    assert got[("recordkit_recordings", (("status", "UPLOADED"),))] == 7
    assert got[("recordkit_recordings", (("status", "ERRORED"),))] == 0  # every status, zero included
    assert got[("recordkit_recording_jobs", (("status", "UPLOADING"),))] == 2
    assert got[("recordkit_recording_jobs", (("status", "PAUSED"),))] == 0
    assert got[("recordkit_recording_jobs_oldest_age_seconds", (("status", "UPLOADING"),))] == 90
    assert got[("recordkit_recording_jobs_oldest_age_seconds", (("status", "RECORDING"),))] == 0
    assert got[("recordkit_webhook_deliveries_pending", ())] == 5
    assert got[("recordkit_webhook_deliveries_due", ())] == 2
    assert got[("recordkit_webhook_deliveries_oldest_pending_age_seconds", ())] == 12.5
    assert got[("recordkit_info", (("store", "fake"), ("version", "9.9")))] == 1
    samples(m)
    assert queries.calls == 1  # the second scrape within a few seconds reads no store


def test_a_failing_store_reads_as_store_up_0() -> None:
    m = Metrics(FakeQueries(None))
    got = samples(m)
    assert got[("recordkit_store_up", ())] == 0
    assert not [name for name, _ in got if name.startswith("recordkit_recordings")]


def test_openmetrics_when_asked() -> None:
    body, content_type = Metrics(None).render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
