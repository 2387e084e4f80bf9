"""List throughput with ``--workers 2`` against ``--workers 1``, and what the operations middleware costs.

    .venv/bin/python bench/workers.py [--quick]

The app and request are bench/throughput.py's (10,000 recordings; page 1, per_page=25, no filter),
served from one data dir by several servers started side by side and measured in alternating runs
(each round starts with the next server, so no order favours one). Two parts:

1. **The middleware** (request ids and metrics, ``recordkit.api.observe``): three 1-worker servers
   pinned to CPU 0, the load generator to CPU 1, as in bench/throughput.py: ``recordkit serve`` as
   users run it (metrics on); the same with ``RECORDKIT_METRICS=off`` (request ids only); and one
   without the middleware at all (``Operations.install`` patched out: RecordKit before it).
2. **Workers**: ``--workers 1`` against ``--workers 2``, nothing pinned (two workers need both
   cores, and the load generator shares them: on this 2-core machine the ratio shows what a second
   worker adds while the load generator competes for the same CPUs, not a clean 2x).

Load: ``wrk`` (one thread, keep-alive connections) if installed, else an asyncio loop. Results also
go to bench/out/workers.json.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from _common import SERVER_ENV, Server, free_port, out_dir, table, write_json
from throughput import PER_PAGE, fetch, load_parser, pin, run_python, run_wrk, seed_app

WITHOUT_MIDDLEWARE = (
    "import sys; import recordkit.api.operations as o; o.Operations.install = lambda self, app: None; "
    "from recordkit.cli.main import main; sys.argv[0] = 'recordkit'; main()"
)


def main(argv: list[str] | None = None) -> int:
    args = load_parser(__doc__.split("\n\n")[0], "rounds (default 3; --quick 1)").parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.pairs or (1 if args.quick else 3)
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    out = out_dir()
    data_dir, made, imported, path = seed_app("workers", args.recordings)
    token = made["token"]

    def server(slug: str, workers: int, env: dict[str, str], *, pinned: bool, patched: bool = False) -> Server:
        port = free_port()
        python = [sys.executable, "-c", WITHOUT_MIDDLEWARE] if patched else [sys.executable, "-m", "recordkit.cli.main"]
        cmd = [*(pin(0) if pinned else []), *python, "serve", "--data-dir", str(data_dir), "--port", str(port)]
        cmd += ["--workers", str(workers)]
        return Server(slug, cmd, port, out / f"workers-{slug}.log", {**SERVER_ENV, **env})

    def load(port: int, secs: float, pinned: bool) -> dict[str, Any]:
        if use_wrk:
            return run_wrk(f"http://127.0.0.1:{port}{path}", token, secs, args.connections, pinned=pinned)
        return run_python(port, path, token, secs, args.connections)

    parts = {
        "middleware": (
            True,
            [
                ("metrics on (default)", server("metrics-on", 1, {}, pinned=True)),
                ("metrics off (request ids only)", server("metrics-off", 1, {"RECORDKIT_METRICS": "off"}, pinned=True)),
                ("no middleware (before it)", server("no-middleware", 1, {}, pinned=True, patched=True)),
            ],
        ),
        "workers": (
            False,
            [
                ("--workers 1", server("workers-1", 1, {}, pinned=False)),
                ("--workers 2", server("workers-2", 2, {}, pinned=False)),
            ],
        ),
    }
    runs: list[dict[str, Any]] = []
    rss: dict[str, float] = {}
    body = b""
    for part, (pinned, variants) in parts.items():
        print(f"{part}:", flush=True)
        try:
            for _, srv in variants:
                srv.start("/healthz")
                status, body, _ = fetch(srv.port, path, token)
                if status != 200:
                    raise SystemExit(f"{srv.name} answered {status}: {body[:300]!r}")
            for _, srv in variants:  # warm up (each worker's page cache and connections)
                load(srv.port, 2.0, pinned)
            for n in range(rounds):
                shift = n % len(variants)
                for name, srv in variants[shift:] + variants[:shift]:
                    result = load(srv.port, seconds, pinned)
                    result.update(part=part, server=name, run=n + 1)
                    runs.append(result)
                    print(f"  run {n + 1} {name:<32} {result['rps']:>9,.0f} req/s", flush=True)
            rss.update({name: srv.rss_mb()[0] for name, srv in variants})
        finally:
            for _, srv in variants:
                srv.stop()

    names = [name for _, variants in parts.values() for name, _ in variants]
    median = {name: statistics.median(r["rps"] for r in runs if r["server"] == name) for name in names}
    ratio = median["--workers 2"] / median["--workers 1"]
    base = median["no middleware (before it)"]
    cost = {
        "middleware": 1 - median["metrics on (default)"] / base,
        "metrics": 1 - median["metrics on (default)"] / median["metrics off (request ids only)"],
        "request_ids": 1 - median["metrics off (request ids only)"] / base,
    }
    failures = sum(r["non_2xx"] for r in runs)
    tool = f"wrk -t1 -c{args.connections} -d{seconds:g}s" if use_wrk else f"asyncio loop, {args.connections} conns"
    print()
    print(
        f"GET .../recordings?per_page={PER_PAGE} (page 1, no filter; {len(body):,} bytes), "
        f"app of {imported['imported']:,} recordings; load: {tool}; {rounds} round(s), alternating"
    )
    print("middleware: servers pinned to CPU 0, load to CPU 1; workers: nothing pinned")
    print()
    rows = []
    for name in names:
        mine = [r for r in runs if r["server"] == name]
        rows.append(
            (
                name,
                f"{median[name]:,.0f}",
                " ".join(f"{r['rps']:,.0f}" for r in mine),
                mine[-1]["p50"],
                mine[-1]["p99"],
                sum(r["non_2xx"] for r in mine),
                f"{rss[name]:.0f}",
            )
        )
    print(table(("server", "median req/s", "runs req/s", "p50 (last)", "p99 (last)", "non-2xx", "RSS MiB"), rows))
    print()
    print(
        f"middleware cost: {100 * cost['middleware']:.1f}% of req/s (metrics {100 * cost['metrics']:.1f}%, "
        f"request ids {100 * cost['request_ids']:.1f}%; below 0: within the noise)"
    )
    print(f"ratio --workers 2 / --workers 1: {ratio:.2f}")
    result_path = write_json(
        "workers.json",
        {
            "request": path.split("?")[1],
            "body_bytes": len(body),
            "recordings": imported["imported"],
            "load_generator": tool,
            "runs": runs,
            "median_rps": median,
            "ratio_2_to_1": ratio,
            "middleware_cost": cost,
            "rss_mib": rss,
        },
    )
    root = Path(__file__).resolve().parent.parent
    shown = result_path.resolve().relative_to(root) if result_path.resolve().is_relative_to(root) else result_path.name
    print(f"(JSON: {shown})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
