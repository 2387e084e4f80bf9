"""Soak: a live ``recordkit serve`` under a fixed request rate for a fixed time; errors and memory.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20] [--quick]

The server runs as users run it (background jobs on: recordings are encoded by ffmpeg and stored
in the bucket) without rate limits (``_common.SERVER_ENV``), on an app holding 5,000 imported
recordings. For ``--minutes`` (default 10; ``--quick``: 1) the load is:

- ``--rate`` requests a second (default 20), sent on schedule whatever the answers (open loop):
  list (half: varied filters, pages and sizes), get one recording (a third), and downloads of
  finished recordings' files through their signed links (a sixth; whole files and byte ranges;
  a list until the first recording is finished);
- every ``--start-every`` seconds (default 4) a recording is started (at most ``--max-active`` at
  once, default 2, each in a meeting of its own), stopped after about 3 s of RECORDING, and
  followed until it is UPLOADED (its status polled once a second: the ``poll`` kind).

Every answer is checked (status, envelope, sizes): errors are counted by kind and must be 0; a
recording that ends ERRORED is an error too. The server's RSS (its processes, the encoders left
out) is sampled every ``--sample-seconds`` (default 5). Printed: requests and errors by kind,
latency percentiles by kind, RSS at start, middle and end with its slope, the machine's load.
Written: bench/out/soak.json. The run stops by itself: producing stops at the deadline, the last
recordings are stopped and followed to the end (at most 2 minutes more), then the server stops.
Exit code 0 when there was no error and memory stayed flat (the second half's RSS slope under
``--max-slope`` MiB a minute, default 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import gen
from _common import SERVER_ENV, Server, children, free_port, out_dir, quantile, rk, rss_kb, table, write_json

ENCODERS = ("ffmpeg", "ffprobe")
SMALL = {"codec": "H264", "width": 160, "height": 120}
MAX_IN_FLIGHT = 64  # more outstanding requests than this: the server is not keeping up (an error)
DRAIN_SECONDS = 120.0


@dataclass
class Recording:
    id: str
    meeting: str
    started: float
    status: str = "INVOKED"
    recording_since: float | None = None
    stop_sent: bool = False


@dataclass
class Soak:
    client: httpx.AsyncClient
    kit: str  # /client/v4/accounts/{account}/realtime/kit/{app}
    imported_ids: list[str]
    meetings: list[str]
    rng: random.Random
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    active: dict[str, Recording] = field(default_factory=dict)  # recording id -> not finished yet
    busy_meetings: set[str] = field(default_factory=set)
    finished: list[dict[str, Any]] = field(default_factory=list)  # UPLOADED: id, download_url, file_size
    made: list[str] = field(default_factory=list)
    in_flight: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- one request, timed and checked ------------------------------------------------------------

    async def call(
        self, kind: str, method: str, url: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            resp = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.errors[kind][type(exc).__name__] += 1
            return None
        self.latencies[kind].append(time.perf_counter() - started)
        if resp.status_code not in ok:
            self.errors[kind][f"HTTP {resp.status_code}: {resp.text[:80]}"] += 1
            return None
        if resp.headers.get("content-type", "").startswith("application/json") and not resp.json().get("success"):
            self.errors[kind]["success is not true"] += 1
            return None
        return resp

    # -- the mix ------------------------------------------------------------------------------------

    async def list_once(self) -> None:
        params: dict[str, Any] = self.rng.choice(
            [
                {},
                {"per_page": 100},
                {"status": "UPLOADED", "per_page": 50},
                {"status": ["ERRORED", "INVOKED"]},
                {"page_no": self.rng.randint(1, 100), "per_page": 20},
                {"search": "quokka"},
                {"sort_order": "ASC", "page_no": self.rng.randint(1, 10)},
                {"expired": "true", "per_page": 10},
                {"meeting_id": self.rng.choice(self.meetings)},
            ]
        )
        resp = await self.call("list", "GET", f"{self.kit}/recordings", params=params)
        if resp is not None and "paging" not in resp.json():
            self.errors["list"]["no paging"] += 1

    async def get_once(self) -> None:
        pool = self.made if self.made and self.rng.random() < 0.3 else self.imported_ids
        rec_id = self.rng.choice(pool)
        resp = await self.call("get", "GET", f"{self.kit}/recordings/{rec_id}")
        if resp is not None and resp.json()["data"]["id"] != rec_id:
            self.errors["get"]["another recording"] += 1

    async def download_once(self) -> None:
        if not self.finished:
            await self.list_once()
            return
        rec = self.rng.choice(self.finished)
        size = int(rec["file_size"])
        if self.rng.random() < 0.5:
            resp = await self.call("download", "GET", rec["download_url"])
            if resp is not None and len(resp.content) != size:
                self.errors["download"][f"{len(resp.content)} bytes, file_size {size}"] += 1
            return
        start = self.rng.randint(0, max(0, size - 2))
        end = min(size - 1, start + self.rng.randint(0, 65_535))
        headers = {"Range": f"bytes={start}-{end}"}
        resp = await self.call("download", "GET", rec["download_url"], ok=(206,), headers=headers)
        if resp is not None and len(resp.content) != end - start + 1:
            self.errors["download"]["range of the wrong length"] += 1

    def spawn(self, coro: Any) -> None:
        if self.in_flight >= MAX_IN_FLIGHT:
            self.errors["client"]["backlog: the server did not keep up"] += 1
            coro.close()
            return
        self.in_flight += 1
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight -= 1
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors["client"][f"{type(task.exception()).__name__}: {task.exception()}"[:120]] += 1

    async def steady(self, rate: float, until: float) -> None:
        """list / get / download on a fixed schedule (open loop) until ``until``."""
        interval = 1.0 / rate
        due = time.monotonic()
        while due < until:
            roll = self.rng.random()
            self.spawn(
                self.list_once() if roll < 0.5 else self.get_once() if roll < 0.5 + 1 / 3 else self.download_once()
            )
            due += interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    # -- recordings ---------------------------------------------------------------------------------

    async def start_one(self) -> None:
        free = [m for m in self.meetings if m not in self.busy_meetings]
        if not free:
            return
        meeting = self.rng.choice(free)
        self.busy_meetings.add(meeting)
        body = {"meeting_id": meeting, "video_config": SMALL, "audio_config": {"channel": "mono"}}
        resp = await self.call("start", "POST", f"{self.kit}/recordings", json=body)
        if resp is None:
            self.busy_meetings.discard(meeting)
            return
        rec_id = resp.json()["data"]["id"]
        self.active[rec_id] = Recording(rec_id, meeting, time.monotonic())
        self.made.append(rec_id)

    async def follow(self) -> None:
        """Poll the active recordings; stop each ~3 s into RECORDING; collect the finished ones."""
        for rec in list(self.active.values()):
            resp = await self.call("poll", "GET", f"{self.kit}/recordings/{rec.id}")
            if resp is None:
                continue
            data = resp.json()["data"]
            rec.status = data["status"]
            now = time.monotonic()
            if rec.status == "RECORDING" and rec.recording_since is None:
                rec.recording_since = now
            if rec.status == "RECORDING" and not rec.stop_sent and now - (rec.recording_since or now) >= 3.0:
                await self.stop(rec)
            elif rec.status == "UPLOADED":
                self.finished.append(
                    {"id": rec.id, "download_url": data["download_url"], "file_size": data["file_size"]}
                )
                self.retire(rec)
            elif rec.status == "ERRORED":
                self.errors["recording"][f"ERRORED: {data.get('stop_reason')}"] += 1
                self.retire(rec)
            elif now - rec.started > 90:
                self.errors["recording"][f"still {rec.status} after 90 s"] += 1
                self.retire(rec)

    async def stop(self, rec: Recording) -> None:
        rec.stop_sent = True
        resp = await self.call("stop", "PUT", f"{self.kit}/recordings/{rec.id}", json={"action": "stop"})
        if resp is not None and resp.json()["data"]["status"] not in ("UPLOADING", "UPLOADED"):
            self.errors["stop"][f"status after stop: {resp.json()['data']['status']}"] += 1

    def retire(self, rec: Recording) -> None:
        self.active.pop(rec.id, None)
        self.busy_meetings.discard(rec.meeting)

    async def recordings(self, every: float, max_active: int, until: float) -> None:
        next_start = time.monotonic()
        while time.monotonic() < until:
            if time.monotonic() >= next_start and len(self.active) < max_active:
                await self.start_one()
                next_start = time.monotonic() + every
            await self.follow()
            await asyncio.sleep(1.0)

    async def drain(self, deadline: float) -> None:
        """After the load: stop what is still recording, follow everything to its end."""
        while self.active and time.monotonic() < deadline:
            for rec in list(self.active.values()):
                if rec.status == "RECORDING" and not rec.stop_sent:  # INVOKED ones first get to RECORDING
                    await self.stop(rec)
            await self.follow()
            await asyncio.sleep(1.0)
        for rec in list(self.active.values()):
            self.errors["recording"][f"not finished at the end ({rec.status})"] += 1


# -- memory ---------------------------------------------------------------------------------------


def server_memory(pid: int) -> dict[str, float]:
    """RSS of the server's own processes (MiB; also split into anonymous memory, the heaps, and
    file-backed pages, mostly SQLite's memory map of the database), and the encoders under it."""
    out = {"rss_mib": 0.0, "anon_mib": 0.0, "file_mib": 0.0, "encoders": 0.0}
    for p in children(pid):
        try:
            name = Path(f"/proc/{p}/comm").read_text().strip()
        except OSError:
            continue
        if name.startswith(ENCODERS):  # imageio-ffmpeg's binary is ffmpeg-linux-... (comm: 15 characters)
            out["encoders"] += 1
            continue
        out["rss_mib"] += rss_kb(p) / 1024
        out["anon_mib"] += rss_kb(p, "RssAnon") / 1024
        out["file_mib"] += rss_kb(p, "RssFile") / 1024
    return out


async def sample_memory(pid: int, every: float, until: float, samples: list[dict[str, float]], t0: float) -> None:
    while True:
        samples.append({"t": time.monotonic() - t0, **server_memory(pid), "load1": os.getloadavg()[0]})
        if time.monotonic() >= until:
            return
        await asyncio.sleep(every)


def slope_mib_per_min(points: list[dict[str, float]], key: str = "rss_mib") -> float:
    """Least-squares slope of RSS (or ``key``) over time."""
    if len(points) < 2:
        return 0.0
    xs = [p["t"] / 60 for p in points]
    ys = [p[key] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


# -- the run --------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, base: str, kit: str, token: str, ids: list[str], pid: int) -> dict[str, Any]:
    rng = random.Random(args.seed)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=16)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits
    ) as client:
        meetings = []
        for i in range(args.max_active + 2):
            made = await client.post(f"{kit}/meetings", json={"title": f"soak {i}"})
            made.raise_for_status()
            meetings.append(made.json()["data"]["id"])
        soak = Soak(client, kit, ids, meetings, rng)
        t0 = time.monotonic()
        until = t0 + args.minutes * 60
        samples: list[dict[str, float]] = []
        sampler = asyncio.create_task(sample_memory(pid, args.sample_seconds, until, samples, t0))
        await asyncio.gather(
            soak.steady(args.rate, until), soak.recordings(args.start_every, args.max_active, until), sampler
        )
        if soak.tasks:
            await asyncio.wait(set(soak.tasks), timeout=60)
        loaded_seconds = time.monotonic() - t0
        await soak.drain(time.monotonic() + DRAIN_SECONDS)
        after = server_memory(pid)
        if after["encoders"]:
            soak.errors["recording"][f"{after['encoders']:.0f} encoder(s) left running after the end"] += 1
    return {
        "soak": soak,
        "samples": samples,
        "seconds": loaded_seconds,
        "after_drain": after,
    }


def report(args: argparse.Namespace, result: dict[str, Any], setup: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    soak: Soak = result["soak"]
    samples: list[dict[str, float]] = result["samples"]
    kinds = ["list", "get", "download", "start", "stop", "poll"]
    rows = []
    for kind in kinds:
        lat = soak.latencies.get(kind, [])
        errors = sum(soak.errors.get(kind, Counter()).values())
        ms = [v * 1000 for v in lat]
        rows.append(
            [kind, len(lat) + errors, errors]
            + [f"{quantile(ms, q):.1f}" if ms else "-" for q in (0.5, 0.9, 0.99)]
            + [f"{max(ms):.1f}" if ms else "-"]
        )
    total = sum(r[1] for r in rows)
    print(
        f"\n{args.minutes:g} min at {args.rate:g} req/s (+ recordings): {total:,} requests in "
        f"{result['seconds']:.0f} s ({total / max(result['seconds'], 1):.1f}/s); "
        f"{len(soak.made)} recordings started, {len(soak.finished)} finished and downloadable"
    )
    print(table(["kind", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    all_errors = {kind: dict(c) for kind, c in soak.errors.items() if c}
    print("\nerrors by kind: " + ("none" if not all_errors else json.dumps(all_errors, indent=2)))

    half = [s for s in samples if s["t"] >= samples[-1]["t"] / 2] if samples else []
    start, middle, end = (samples[0], samples[len(samples) // 2], samples[-1]) if samples else ({}, {}, {})
    whole_slope, late_slope = slope_mib_per_min(samples), slope_mib_per_min(half)
    flat = abs(late_slope) <= args.max_slope

    def mem(point: dict[str, float]) -> list[str]:
        return [f"{point.get(k, 0):.1f}" for k in ("rss_mib", "anon_mib", "file_mib")]

    print(
        table(
            ["RSS, MiB (server processes, encoders excluded)", "total", "heap (anon)", "files (mmap)", "at"],
            [
                ["start", *mem(start), f"{start.get('t', 0):.0f} s"],
                ["middle", *mem(middle), f"{middle.get('t', 0):.0f} s"],
                ["end", *mem(end), f"{end.get('t', 0):.0f} s"],
                ["after the last recordings finished", *mem(result["after_drain"]), ""],
                [
                    "min / max over the run",
                    f"{min(s['rss_mib'] for s in samples):.1f} / {max(s['rss_mib'] for s in samples):.1f}"
                    if samples
                    else "-",
                    "",
                    "",
                    f"{len(samples)} samples",
                ],
            ],
        )
    )
    minutes: dict[int, list[float]] = defaultdict(list)
    for point in samples:
        minutes[int(point["t"] // 60)].append(point["rss_mib"])
    print("mean RSS per minute: " + ", ".join(f"{sum(v) / len(v):.0f}" for _, v in sorted(minutes.items())) + " MiB")
    print(
        f"slope: {whole_slope:+.2f} MiB/min over the whole run, {late_slope:+.2f} MiB/min over the second half "
        f"(heap {slope_mib_per_min(half, 'anon_mib'):+.2f}, files {slope_mib_per_min(half, 'file_mib'):+.2f}; "
        f"flat if within ±{args.max_slope:g}): {'flat' if flat else '**not flat**'}"
    )
    loads = [s["load1"] for s in samples]
    busy = bool(loads) and max(loads) > (os.cpu_count() or 1)
    print(
        f"machine load (1 min) at start/middle/end: {start.get('load1', 0):.2f} / {middle.get('load1', 0):.2f} / "
        f"{end.get('load1', 0):.2f} on {os.cpu_count()} CPUs"
        + ("; the machine was busy with other work during the run (latencies include that)" if busy else "")
    )
    ok = not all_errors and flat
    data = {
        "minutes": args.minutes,
        "rate": args.rate,
        "setup": setup,
        "requests": {
            r[0]: {"count": r[1], "errors": r[2], "p50_ms": r[3], "p90_ms": r[4], "p99_ms": r[5], "max_ms": r[6]}
            for r in rows
        },
        "errors": all_errors,
        "recordings": {"started": len(soak.made), "finished": len(soak.finished)},
        "rss_mib": {
            "start": start.get("rss_mib"),
            "middle": middle.get("rss_mib"),
            "end": end.get("rss_mib"),
            "after_drain": result["after_drain"]["rss_mib"],
            "second_half_heap_slope_mib_per_min": slope_mib_per_min(half, "anon_mib"),
            "second_half_file_slope_mib_per_min": slope_mib_per_min(half, "file_mib"),
            "slope_mib_per_min": whole_slope,
            "second_half_slope_mib_per_min": late_slope,
            "flat": flat,
        },
        "samples": samples,
        "machine_busy": busy,
        "ok": ok,
    }
    return data, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=None, help="length of the load (default 10; --quick 1)")
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--rate", type=float, default=20.0, help="list/get/download requests a second")
    parser.add_argument("--start-every", type=float, default=4.0, help="seconds between recording starts")
    parser.add_argument("--max-active", type=int, default=2, help="recordings under way at most")
    parser.add_argument("--recordings", type=int, default=5_000, help="imported recordings in the app")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--max-slope", type=float, default=1.0, help="MiB/min the second half may grow by")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    args.minutes = args.minutes if args.minutes is not None else (1.0 if args.quick else 10.0)
    from recordkit.recorder.binaries import find_ffmpeg

    if not find_ffmpeg().found:
        print(f"recordings cannot be made: {find_ffmpeg().missing()}", file=sys.stderr)
        return 2

    out = out_dir()
    data_dir = out / "soak-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    jsonl = out / "soak.jsonl"
    gen.generate(jsonl, args.recordings, max(1, args.recordings // 50), 365, 7, 5)
    ids = [json.loads(line)["id"] for line in jsonl.read_text().splitlines()[:2000]]
    made = rk("init", data_dir=data_dir)
    rk("import", str(jsonl), "--account", made["account_id"], "--app", made["app_id"], data_dir=data_dir)
    jsonl.unlink()
    port = free_port()
    server = Server(
        "recordkit serve",
        [sys.executable, "-m", "recordkit.cli.main", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        port,
        out / "soak-server.log",
        SERVER_ENV,
    )
    kit = f"/client/v4/accounts/{made['account_id']}/realtime/kit/{made['app_id']}"
    setup = {"imported": args.recordings, "start_every_s": args.start_every, "max_active": args.max_active}
    with server:
        server.start("/healthz")
        assert server.proc is not None
        hard_limit = args.minutes * 60 + DRAIN_SECONDS + 120
        result = asyncio.run(
            asyncio.wait_for(
                run(args, f"http://127.0.0.1:{port}", kit, made["token"], ids, server.proc.pid), hard_limit
            )
        )
    log = (out / "soak-server.log").read_text(errors="replace")
    unexpected = log.count("Traceback") + log.count("unexpected error")
    if unexpected:
        result["soak"].errors["server log"]["tracebacks / unexpected errors"] += unexpected
    data, ok = report(args, result, setup)
    path = write_json("soak.json", data)
    print(f"\nwrote {path.relative_to(out.parent.parent)}; server log: bench/out/soak-server.log")
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
