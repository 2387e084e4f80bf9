"""Start/stop throughput: how many recordings a second can be started and stopped through the API?

    .venv/bin/python bench/startstop.py [--quick] [--clients 8] [--holds 0,1] [--seconds 10] [--rounds 2]
                                        [--variants sqlite,postgres]

Live ``recordkit serve`` processes (granian, 1 worker unless the variant says ``-2w``; background
jobs on, so every start runs a real ffmpeg recorder; rate limits off, ``_common.SERVER_ENV``), one
per variant, side by side on their own data dirs: ``sqlite`` (the data dir's SQLite), ``postgres``
(a throwaway PostgreSQL cluster, tests/support/postgres.py, fsync off), ``sqlite-2w`` / ``postgres-2w``
(``--workers 2``). In one run, ``--clients`` concurrent clients (httpx, one keep-alive connection
each) each own a meeting and loop until the run's ``--seconds`` are up: POST .../recordings
(start: H264 160x120, AAC mono), wait the run's hold, PUT .../recordings/{id} ``{"action":
"stop"}``; a recording started is always stopped, also past the deadline. Two holds by default
(``--holds``): 0 s, the API alone (the stop reaches most recordings before their recorder has
produced anything, and such a recording ends ERRORED by design: nothing to upload), and 1 s
(the recorder gets going: the recordings have media, are joined and stored, and end UPLOADED).
After each run the server is left to finish every recording (bounded by ``--drain`` seconds; the
time it took is reported) before the next run starts, so one run's uploads never load another's;
then each recording's final status is read back. Runs alternate between the variants (the order
flips every round). Printed per hold and variant: start and stop latency (median, p95), recordings
started per second, the end-to-end rate (recordings finished / (run + drain time)), errors, how
many ended UPLOADED / ERRORED (with the reasons) and the most encoders (ffmpeg) running at once;
then the ratios between the variants. Results also go to bench/out/startstop.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from _common import (
    SERVER_ENV,
    Server,
    children,
    free_port,
    out_dir,
    pg_cluster,
    postgres_unavailable,
    quantile,
    rk,
    table,
    write_json,
)

SMALL_VIDEO = {"codec": "H264", "width": 160, "height": 120}
AUDIO = {"codec": "AAC", "channel": "mono"}
FINAL = ("UPLOADED", "ERRORED")
UNFINISHED = "INVOKED,RECORDING,PAUSED,UPLOADING"
VARIANTS = {
    "sqlite": ("SQLite", False, 1),
    "postgres": ("PostgreSQL", True, 1),
    "sqlite-2w": ("SQLite, --workers 2", False, 2),
    "postgres-2w": ("PostgreSQL, --workers 2", True, 2),
}


@dataclass
class Variant:
    slug: str
    label: str
    server: Server
    kit: str  # /client/v4/accounts/{account}/realtime/kit/{app}
    token: str
    meetings: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunStats:
    start_ms: list[float] = field(default_factory=list)
    stop_ms: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    peak_encoders: int = 0


# -- one run ---------------------------------------------------------------------------------------


async def client_loop(
    client: httpx.AsyncClient, kit: str, meeting: str, hold: float, deadline: float, stats: RunStats
) -> None:
    body = {"meeting_id": meeting, "video_config": SMALL_VIDEO, "audio_config": AUDIO}
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            resp = await client.post(f"{kit}/recordings", json=body)
        except httpx.HTTPError as exc:
            stats.errors[f"start: {type(exc).__name__}"] += 1
            await asyncio.sleep(0.1)
            continue
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status_code not in (200, 201):
            stats.errors[f"start: HTTP {resp.status_code} {resp.text[:80]}"] += 1
            await asyncio.sleep(0.1)
            continue
        stats.start_ms.append(elapsed)
        rec_id = resp.json()["data"]["id"]
        stats.ids.append(rec_id)
        await asyncio.sleep(hold)
        t0 = time.perf_counter()
        try:
            resp = await client.put(f"{kit}/recordings/{rec_id}", json={"action": "stop"})
        except httpx.HTTPError as exc:
            stats.errors[f"stop: {type(exc).__name__}"] += 1
            continue
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status_code != 200:
            stats.errors[f"stop: HTTP {resp.status_code} {resp.text[:80]}"] += 1
            continue
        stats.stop_ms.append(elapsed)


async def count_encoders(pid: int, until: float, stats: RunStats) -> None:
    while time.monotonic() < until:
        running = 0
        for p in children(pid):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{p}/comm").read_text().startswith("ffmpeg"):  # or imageio-ffmpeg's ffmpeg-linux-...
                    running += 1
        stats.peak_encoders = max(stats.peak_encoders, running)
        await asyncio.sleep(0.5)


async def unfinished(client: httpx.AsyncClient, kit: str) -> int:
    resp = await client.get(f"{kit}/recordings", params={"status": UNFINISHED, "per_page": 1})
    resp.raise_for_status()
    return int(resp.json()["paging"]["total_count"])


async def outcomes(client: httpx.AsyncClient, kit: str, ids: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Final status of each recording, and the stop reasons / errors of the ERRORED ones."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    gate = asyncio.Semaphore(8)

    async def one(rec_id: str) -> None:
        async with gate:
            resp = await client.get(f"{kit}/recordings/{rec_id}")
        if resp.status_code != 200:
            statuses[f"HTTP {resp.status_code}"] += 1
            return
        data = resp.json()["data"]
        statuses[data["status"]] += 1
        if data["status"] == "ERRORED":
            reason = (data.get("stop_reason") or {}).get("reason") or "-"
            reasons[f"{reason}: {str(data.get('error') or '')[:60]}".rstrip(": ")] += 1

    await asyncio.gather(*(one(rec_id) for rec_id in ids))
    return statuses, reasons


async def one_run(variant: Variant, hold: float, args: argparse.Namespace) -> dict[str, Any]:
    assert variant.server.proc is not None
    stats = RunStats()
    base = f"http://127.0.0.1:{variant.server.port}"
    headers = {"Authorization": f"Bearer {variant.token}"}
    clients = [httpx.AsyncClient(base_url=base, headers=headers, timeout=60) for _ in range(args.clients)]
    started = time.monotonic()
    deadline = started + args.seconds
    sampler = asyncio.create_task(count_encoders(variant.server.proc.pid, deadline + 3 * hold + 5, stats))
    try:
        await asyncio.gather(
            *(
                client_loop(client, variant.kit, meeting, hold, deadline, stats)
                for client, meeting in zip(clients, variant.meetings, strict=True)
            )
        )
        loaded = time.monotonic() - started
        drain_from = time.monotonic()
        left = await unfinished(clients[0], variant.kit)
        while left and time.monotonic() - drain_from < args.drain:
            await asyncio.sleep(0.25)
            left = await unfinished(clients[0], variant.kit)
        drained = time.monotonic() - drain_from
        sampler.cancel()
        statuses, reasons = await outcomes(clients[0], variant.kit, stats.ids)
    finally:
        sampler.cancel()
        for client in clients:
            await client.aclose()
    return {
        "variant": variant.slug,
        "hold_s": hold,
        "seconds": loaded,
        "started": len(stats.ids),
        "stopped": len(stats.stop_ms),
        "started_per_s": len(stats.ids) / loaded,
        "finished_per_s": sum(n for k, n in statuses.items() if k in FINAL) / (loaded + drained),
        "start_ms": stats.start_ms,
        "stop_ms": stats.stop_ms,
        "errors": dict(stats.errors),
        "drain_s": drained,
        "left_unfinished": left,
        "statuses": dict(statuses),
        "errored_reasons": dict(reasons),
        "peak_encoders": stats.peak_encoders,
        "load1": os.getloadavg()[0],
    }


# -- setup -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def variants(slugs: list[str], clients: int) -> Iterator[list[Variant]]:
    """A running server per variant, each on its own fresh data dir (and database)."""
    out = out_dir()
    made: list[Variant] = []
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(pg_cluster()) if any(VARIANTS[s][1] for s in slugs) else None
        for slug in slugs:
            label, postgres, workers = VARIANTS[slug]
            data_dir = out / f"startstop-{slug}-data"
            if data_dir.exists():
                shutil.rmtree(data_dir)
            env = dict(SERVER_ENV)
            db_args: list[str] = []
            if postgres:
                assert cluster is not None
                env["RECORDKIT_DATABASE_URL"] = cluster.new_database(migrated=False)
                db_args = ["--database-url", env["RECORDKIT_DATABASE_URL"]]
            tenant = rk("init", *db_args, data_dir=data_dir)
            port = free_port()
            cmd = [sys.executable, "-m", "recordkit.cli.main", "serve", "--data-dir", str(data_dir)]
            cmd += ["--port", str(port), "--workers", str(workers)]
            server = Server(label, cmd, port, out / f"startstop-{slug}-server.log", env)
            stack.callback(server.stop)
            server.start("/healthz")
            kit = f"/client/v4/accounts/{tenant['account_id']}/realtime/kit/{tenant['app_id']}"
            variant = Variant(slug, label, server, kit, tenant["token"])
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {variant.token}"}
            ) as c:
                for n in range(clients):
                    resp = c.post(f"{kit}/meetings", json={"title": f"startstop {n}"})
                    resp.raise_for_status()
                    variant.meetings.append(resp.json()["data"]["id"])
            made.append(variant)
        yield made


# -- report ----------------------------------------------------------------------------------------


def summarize(variant: Variant, hold: float) -> dict[str, Any]:
    runs = [r for r in variant.runs if r["hold_s"] == hold]
    start = [x for r in runs for x in r["start_ms"]]
    stop = [x for r in runs for x in r["stop_ms"]]
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in runs:
        statuses.update(r["statuses"])
        reasons.update(r["errored_reasons"])
        errors.update(r["errors"])
    return {
        "label": variant.label,
        "hold_s": hold,
        "started": sum(r["started"] for r in runs),
        "seconds": sum(r["seconds"] for r in runs),
        "started_per_s": statistics.median(r["started_per_s"] for r in runs),
        "runs_per_s": [r["started_per_s"] for r in runs],
        "finished_per_s": statistics.median(r["finished_per_s"] for r in runs),
        "start_p50": statistics.median(start) if start else float("nan"),
        "start_p95": quantile(start, 0.95),
        "stop_p50": statistics.median(stop) if stop else float("nan"),
        "stop_p95": quantile(stop, 0.95),
        "errors": dict(errors),
        "drain_s": max(r["drain_s"] for r in runs),
        "left_unfinished": sum(r["left_unfinished"] for r in runs),
        "statuses": dict(statuses),
        "errored_reasons": dict(reasons),
        "peak_encoders": max(r["peak_encoders"] for r in runs),
    }


def report(found: list[Variant], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    sums = {f"{v.slug} hold {hold:g}": summarize(v, hold) for hold in args.holds for v in found}
    print()
    print(
        f"startstop: {args.clients} clients, each in a meeting of its own: start (H264 160x120, AAC mono), hold, "
        f"stop, again; {args.seconds:g} s a run, {args.rounds} round(s) per variant and hold, alternating"
    )
    print()
    rows = []
    for s in sums.values():
        other = sum(n for k, n in s["statuses"].items() if k not in FINAL)
        rows.append(
            (
                s["label"],
                f"{s['hold_s']:g} s",
                s["started"],
                f"{s['started_per_s']:.1f}",
                " ".join(f"{x:.1f}" for x in s["runs_per_s"]),
                f"{s['start_p50']:.1f}",
                f"{s['start_p95']:.1f}",
                f"{s['stop_p50']:.1f}",
                f"{s['stop_p95']:.1f}",
                sum(s["errors"].values()),
                f"{s['drain_s']:.1f}",
                f"{s['finished_per_s']:.2f}",
                s["statuses"].get("UPLOADED", 0),
                s["statuses"].get("ERRORED", 0),
                other,
                s["peak_encoders"],
            )
        )
    headers = (
        "server",
        "hold",
        "started",
        "started/s",
        "runs /s",
        "start p50 ms",
        "p95",
        "stop p50 ms",
        "p95",
        "errors",
        "drain s",
        "end-to-end /s",
        "UPLOADED",
        "ERRORED",
        "other",
        "peak ffmpeg",
    )
    print(table(headers, rows))
    print()
    for s in sums.values():
        name = f"{s['label']}, hold {s['hold_s']:g} s"
        if s["errors"]:
            print(f"{name}: request errors {s['errors']}")
        if s["errored_reasons"]:
            print(f"{name}: ERRORED with stop_reason {s['errored_reasons']}")
        if s["left_unfinished"]:
            print(f"{name}: {s['left_unfinished']} recording(s) still unfinished after {args.drain:g} s")
    if len(found) > 1:
        print()
        for hold in args.holds:
            base = sums[f"{found[0].slug} hold {hold:g}"]
            for v in found[1:]:
                s = sums[f"{v.slug} hold {hold:g}"]
                print(
                    f"hold {hold:g} s, ratio {s['label']} / {base['label']}: "
                    f"started/s {s['started_per_s'] / base['started_per_s']:.2f}, "
                    f"start p50 {s['start_p50'] / base['start_p50']:.2f}, "
                    f"stop p50 {s['stop_p50'] / base['stop_p50']:.2f}, "
                    f"end-to-end/s {s['finished_per_s'] / base['finished_per_s']:.2f}"
                )
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of 5 s runs")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, a meeting each")
    parser.add_argument("--holds", default="0,1", help="seconds between a start and its stop, one run set each")
    parser.add_argument("--seconds", type=float, default=None, help="length of a run (default 10; --quick 5)")
    parser.add_argument("--rounds", type=int, default=None, help="runs per variant (default 2; --quick 1)")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for uploads after a run")
    parser.add_argument(
        "--variants", default=None, help=f"comma-separated, of {', '.join(VARIANTS)} (default sqlite,postgres)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (default variants)")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (5.0 if args.quick else 10.0)
    args.holds = [float(x) for x in args.holds.split(",") if x.strip()]
    args.rounds = args.rounds or (1 if args.quick else 2)
    from recordkit.recorder.binaries import find_ffmpeg

    if not find_ffmpeg().found:
        print(f"recordings cannot be made: {find_ffmpeg().missing()}", file=sys.stderr)
        return 2
    if args.variants:
        slugs = [s.strip() for s in args.variants.split(",") if s.strip()]
        unknown = [s for s in slugs if s not in VARIANTS]
        if unknown:
            parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    else:
        slugs = ["sqlite"]
        reason = None if args.no_postgres else postgres_unavailable()
        if not args.no_postgres and reason is None:
            slugs.append("postgres")
        elif reason:
            print(f"(no PostgreSQL variant: {reason})")
    print(f"uptime load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with variants(slugs, args.clients) as found:
        for hold in args.holds:
            for n in range(args.rounds):
                order = found if n % 2 == 0 else found[::-1]
                for variant in order:
                    result = asyncio.run(one_run(variant, hold, args))
                    variant.runs.append(result)
                    print(
                        f"  hold {hold:g} s, run {n + 1} {variant.label:<24} {result['started']:>4} started in "
                        f"{result['seconds']:.1f} s "
                        f"({result['started_per_s']:.2f}/s), drained in {result['drain_s']:.1f} s, "
                        f"{dict(sorted(result['statuses'].items()))}, load {result['load1']:.2f}",
                        flush=True,
                    )
    sums = report(found, args)
    path = write_json(
        "startstop.json",
        {
            "clients": args.clients,
            "holds_s": args.holds,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "video_config": SMALL_VIDEO,
            "audio_config": AUDIO,
            "summary": sums,
            "runs": {v.slug: v.runs for v in found},
        },
    )
    root = Path(__file__).resolve().parent.parent
    print(f"(JSON: {path.resolve().relative_to(root)})")
    failed = any(s["errors"] or s["left_unfinished"] for s in sums.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
