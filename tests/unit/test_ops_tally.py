"""``recordkit.ops.tally``: the per-process counts and how worker processes share them."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from recordkit.ops.metrics import LATENCY_BUCKETS, Metrics
from recordkit.ops.tally import SharedTally, Snapshot, Tally, merge, reset_folder


def test_observations_land_in_their_bucket_le_inclusive() -> None:
    tally = Tally((0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.002, 0.01, 0.5):
        tally.observe("GET", "/r", 200, seconds)
    ((method, route, status, count, total, buckets),) = tally.snapshot().requests
    assert (method, route, status, count) == ("GET", "/r", 200, 5)
    assert abs(total - 0.5135) < 1e-12
    assert buckets == [2, 2, 1]  # <= 0.001, <= 0.01, above


def test_merge_adds_rows_and_outcomes() -> None:
    a = Snapshot(requests=[("GET", "/r", 200, 2, 0.5, [1, 1])], outcomes={"delivered": 3})
    b = Snapshot(
        requests=[("GET", "/r", 200, 1, 0.25, [0, 1]), ("PUT", "/r", 409, 1, 0.1, [1, 0])],
        outcomes={"delivered": 1, "dead": 1},
    )
    merged = merge([a, b])
    assert sorted(merged.requests) == [("GET", "/r", 200, 3, 0.75, [1, 2]), ("PUT", "/r", 409, 1, 0.1, [1, 0])]
    assert merged.outcomes == {"delivered": 4, "dead": 1}


def test_workers_share_counts_through_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "tally-999998.json").write_bytes(b"{not json")  # half a file: ignored
    mine = Tally((0.001, 0.01))
    shared = SharedTally(mine, folder)
    mine.observe("GET", "/r", 200, 0.0001)
    mine.outcome("retry")
    # another worker's last publish (bucket lists are as long as the bounds + 1)
    other_row = ("GET", "/r", 200, 7, 0.7, [7, 0, 0])
    (folder / "tally-999999.json").write_bytes(msgspec.json.encode(Snapshot([other_row], {"retry": 2})))
    combined = shared.combined()
    ((method, route, status, count, total, counts),) = combined.requests
    assert (method, route, status, count, counts) == ("GET", "/r", 200, 8, [8, 0, 0])
    assert abs(total - 0.7001) < 1e-12
    assert combined.outcomes == {"retry": 3}
    shared.publish()
    published = msgspec.json.decode((folder / f"tally-{os.getpid()}.json").read_bytes(), type=Snapshot)
    assert published.requests[0][3] == 1  # only this process's own counts
    assert shared.combined().requests[0][3] == 8  # its own file is not counted twice
    reset_folder(folder)
    assert list(folder.glob("tally-*.json")) == []


def test_metrics_with_a_shared_folder_expose_the_sum(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    buckets[0] = 4
    other = Snapshot(requests=[("GET", "/livez", 200, 4, 0.002, buckets)])
    (folder / "tally-999999.json").write_bytes(msgspec.json.encode(other))
    metrics = Metrics(None, shared_dir=folder)
    metrics.observe_request("GET", "/livez", 200, 0.0002)
    text = metrics.render()[0].decode()
    assert 'recordkit_http_requests_total{method="GET",route="/livez",status="200"} 5.0' in text
    assert (
        'recordkit_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/livez",status="200"} 5.0'
        in text
    )
    assert "process_cpu_seconds_total" not in text  # one worker's process numbers would mislead
