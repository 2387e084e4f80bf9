"""List throughput of ``recordkit serve`` against a bare Starlette app serving the same bytes.

    .venv/bin/python bench/throughput.py [--quick]

An app with 10,000 recordings (gen.py + ``recordkit import``); the request is page 1 with
per_page=25 and no filter. The baseline (bench/bare_app.py) returns the very bytes RecordKit
returned for that request, from the same route shape, served by granian the same way (ASGI,
1 worker). Both servers are pinned to CPU 0 and the load generator to CPU 1 (on a 2-core machine
they then share the cores sensibly). Load: ``wrk`` (fixed duration, 1 thread, keep-alive
connections) if installed, else a bounded asyncio loop. Runs alternate A, B, A, B, ...; the
median req/s of each and their ratio are reported (target: RecordKit >= 30% of bare).
Results also go to bench/out/throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gen
from _common import BENCH, SERVER_ENV, Server, free_port, out_dir, rk, table, write_json

TARGET = 0.30
PER_PAGE = 25
BREAKDOWN_REPEAT = 300


def pin(cpu: int) -> list[str]:
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def fetch(port: int, path: str, token: str | None) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, response.getheader("content-type") or ""


# -- load generators -----------------------------------------------------------------------------


BUST_LUA = """-- every request a distinct unused query parameter: none is answered from the page cache
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&_=" .. n)
end
"""


def run_wrk(
    url: str, token: str, seconds: float, connections: int, bust: bool = False, *, pinned: bool = True
) -> dict[str, Any]:
    cmd = [
        *(pin(1) if pinned else []),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if bust:
        script = out_dir() / "bust.lua"
        script.write_text(BUST_LUA)
        cmd += ["-s", str(script)]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    text = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if done.returncode != 0 or rps is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{text}\n{done.stderr}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:(.*)", text)
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", text, flags=re.M))
    total = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "p50": lat.get("50", "?"),
        "p99": lat.get("99", "?"),
    }


async def _python_load(
    port: int, path: str, token: str, seconds: float, connections: int, bust: bool = False
) -> dict[str, Any]:
    sent = [0]

    def request() -> bytes:
        sent[0] += 1
        target = f"{path}&_={sent[0]}" if bust else path
        return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()

    deadline = time.monotonic() + seconds
    max_requests = 2_000_000
    counts = {"ok": 0, "bad": 0}

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline and counts["ok"] + counts["bad"] < max_requests:
                writer.write(request())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                counts["ok" if head.startswith(b"HTTP/1.1 200") else "bad"] += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {
        "rps": counts["ok"] / elapsed,
        "requests": counts["ok"] + counts["bad"],
        "non_2xx": counts["bad"],
        "socket_errors": "",
        "p50": "?",
        "p99": "?",
    }


def run_python(
    port: int, path: str, token: str, seconds: float, connections: int, bust: bool = False
) -> dict[str, Any]:
    return asyncio.run(_python_load(port, path, token, seconds, connections, bust))


# -- where RecordKit's time goes (in process, no HTTP) ------------------------------------------


def breakdown(data_dir: Path, account_id: str, app_id: str, token: str, repeat: int) -> list[tuple[str, float]]:
    """Median microseconds of one list request in this process that misses the page cache: the whole
    ASGI app (no network), and the two store-facing calls inside it; the remainder is routing,
    rendering and encoding."""
    from recordkit.api.app import create_app
    from recordkit.domain.services import Access, RecordingsService
    from recordkit.settings import Settings
    from recordkit.store.factory import open_store

    settings = Settings.from_env(data_dir=data_dir)
    store = open_store(settings)
    asgi = create_app(settings, store)
    service = RecordingsService(Access(store), store)
    params = {"per_page": [str(PER_PAGE)]}
    path = f"/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": f"per_page={PER_PAGE}".encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8787),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    full, auth, listing = [], [], []
    clock = time.perf_counter

    async def run() -> None:
        for n in range(repeat + 20):
            # a distinct unused parameter each time: these are page-cache misses (the store's work)
            t0 = clock()
            await asgi({**scope, "query_string": f"per_page={PER_PAGE}&_={n}".encode()}, receive, send)
            t1 = clock()
            principal = store.authenticate(token)
            t2 = clock()
            service.list(principal, account_id, app_id, {**params, "_": [str(n)]})
            t3 = clock()
            if n >= 20:
                full.append((t1 - t0) * 1e6)
                auth.append((t2 - t1) * 1e6)
                listing.append((t3 - t2) * 1e6)

    asyncio.run(run())
    store.close()
    if set(statuses) != {200}:
        raise RuntimeError(f"in-process requests answered {sorted(set(statuses))}")
    f, a, s = statistics.median(full), statistics.median(auth), statistics.median(listing)
    return [
        ("whole ASGI app, in process (no network)", f),
        ("  authenticate (token hash + lookup)", a),
        ("  RecordingsService.list (parse, app, count, page SQL)", s),
        ("  the rest: routing, rendering, encoding", max(0.0, f - a - s)),
    ]


# -- main ----------------------------------------------------------------------------------------


def load_parser(description: str, rounds_help: str) -> argparse.ArgumentParser:
    """The options every list-load benchmark takes (throughput.py, workers.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="3 s runs, one round")
    parser.add_argument("--seconds", type=float, default=None, help="per run (default 10; --quick 3)")
    parser.add_argument("--pairs", type=int, default=None, help=rounds_help)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--python-load", action="store_true", help="use the asyncio loop even if wrk exists")
    return parser


def seed_app(name: str, recordings: int) -> tuple[Path, dict[str, Any], dict[str, Any], str]:
    """A fresh data dir ``bench/out/<name>-data`` with one app of generated recordings:
    (data dir, ``recordkit init`` output, ``recordkit import`` output, the page-1 list path)."""
    out = out_dir()
    data_dir = out / f"{name}-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    jsonl = out / f"{name}.jsonl"
    gen.generate(jsonl, recordings, max(1, recordings // 50), 365, 3, 5)
    made = rk("init", data_dir=data_dir)
    imported = rk("import", str(jsonl), "--account", made["account_id"], "--app", made["app_id"], data_dir=data_dir)
    jsonl.unlink()
    path = f"/client/v4/accounts/{made['account_id']}/realtime/kit/{made['app_id']}/recordings?per_page={PER_PAGE}"
    return data_dir, made, imported, path


def main(argv: list[str] | None = None) -> int:
    args = load_parser(__doc__.split("\n\n")[0], "A,B pairs (default 3; --quick 1)").parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    pairs = args.pairs or (1 if args.quick else 3)
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    out = out_dir()
    data_dir, made, imported, path = seed_app("throughput", args.recordings)
    token = made["token"]

    rk_port, bare_port = free_port(), free_port()
    while bare_port == rk_port:
        bare_port = free_port()
    recordkit = Server(
        "recordkit serve",
        [
            *pin(0),
            sys.executable,
            "-m",
            "recordkit.cli.main",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(rk_port),
        ],
        rk_port,
        out / "throughput-recordkit.log",
        SERVER_ENV,
    )
    body_file = out / "bare_body.json"
    bare = Server(
        "bare app",
        [*pin(0), sys.executable, str(BENCH / "bare_app.py"), "--port", str(bare_port), "--body", str(body_file)],
        bare_port,
        out / "throughput-bare.log",
    )
    runs: list[dict[str, Any]] = []
    with recordkit, bare:
        recordkit.start("/healthz")
        status, body, ctype = fetch(rk_port, path, token)
        if status != 200:
            raise SystemExit(f"RecordKit answered {status}: {body[:300]!r}")
        body_file.write_bytes(body)
        bare.start("/healthz")
        b_status, b_body, b_ctype = fetch(bare_port, path, None)
        if b_status != 200 or b_body != body or b_ctype.split(";")[0] != ctype.split(";")[0]:
            raise SystemExit("the bare app does not serve the same response as RecordKit")

        def load(port: int, secs: float, bust: bool = False) -> dict[str, Any]:
            if use_wrk:
                return run_wrk(f"http://127.0.0.1:{port}{path}", token, secs, args.connections, bust)
            return run_python(port, path, token, secs, args.connections, bust)

        for port in (rk_port, bare_port):  # warm both up
            load(port, 2.0)
        variants = (("recordkit", rk_port, False), ("uncached", rk_port, True), ("bare", bare_port, False))
        for n in range(pairs):
            for name, port, bust in variants:
                result = load(port, seconds, bust)
                result.update(server=name, run=n + 1)
                runs.append(result)
                print(f"  run {n + 1} {name:<9} {result['rps']:>9,.0f} req/s", flush=True)
        rss = {"recordkit": recordkit.rss_mb()[0], "bare": bare.rss_mb()[0]}

    try:
        parts = breakdown(data_dir, made["account_id"], made["app_id"], token, BREAKDOWN_REPEAT)
    except Exception as exc:  # the internals moved: the throughput numbers still stand
        print(f"(no in-process breakdown: {exc!r})")
        parts = []
    names = ("recordkit", "uncached", "bare")
    median = {name: statistics.median(r["rps"] for r in runs if r["server"] == name) for name in names}
    ratio = median["recordkit"] / median["bare"]
    uncached_ratio = median["uncached"] / median["bare"]
    failures = sum(r["non_2xx"] for r in runs)
    loadgen = (
        f"wrk -t1 -c{args.connections} -d{seconds:g}s (pinned to CPU 1)"
        if use_wrk
        else f"asyncio loop, {args.connections} connections, {seconds:g}s"
    )
    print()
    print(
        f"throughput: GET .../recordings?per_page={PER_PAGE} (page 1, no filter; {len(body):,} bytes), "
        f"app of {imported['imported']:,} recordings"
    )
    print(f"load: {loadgen}; servers: granian 1 worker pinned to CPU 0; runs alternate, {pairs} each")
    print()
    rows = []
    labels = (
        ("recordkit", "recordkit serve"),
        ("uncached", "recordkit serve, cache missed"),
        ("bare", "bare Starlette (same bytes)"),
    )
    for name, label in labels:
        mine = [r for r in runs if r["server"] == name]
        rows.append(
            (
                label,
                f"{median[name]:,.0f}",
                " ".join(f"{r['rps']:,.0f}" for r in mine),
                mine[-1]["p50"],
                mine[-1]["p99"],
                sum(r["non_2xx"] for r in mine),
                f"{rss['bare' if name == 'bare' else 'recordkit']:.0f}",
            )
        )
    print(table(("server", "median req/s", "runs req/s", "p50 (last)", "p99 (last)", "non-2xx", "RSS MiB"), rows))
    print()
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"ratio recordkit/bare: {ratio:.2f} (target >= {TARGET:.2f}: {verdict})")
    print(
        f"ratio with every request missing the page cache (a distinct unused parameter each): {uncached_ratio:.2f} "
        f"({'met' if uncached_ratio >= TARGET else 'below'} the same target)"
    )
    result_path = write_json(
        "throughput.json",
        {
            "request": path.split("?")[1],
            "body_bytes": len(body),
            "recordings": imported["imported"],
            "load_generator": loadgen,
            "runs": runs,
            "median_rps": median,
            "ratio": ratio,
            "uncached_ratio": uncached_ratio,
            "target_ratio": TARGET,
            "meets_target": ratio >= TARGET,
            "rss_mib": rss,
            "breakdown_us": dict(parts),
        },
    )
    if parts:
        print()
        whole = parts[0][1]
        print(
            f"where RecordKit's time goes on a page-cache miss (in process, no network; median of {BREAKDOWN_REPEAT}):"
        )
        print(
            table(
                ("stage", "median us", "share"),
                [(name, f"{us:,.0f}", f"{100 * us / whole:.0f}%") for name, us in parts],
            )
        )
        print(f"(bare app, by its req/s on the same core: {1e6 / median['bare']:,.0f} us per request in all)")
    root = Path(__file__).resolve().parent.parent
    shown = result_path.resolve().relative_to(root) if result_path.resolve().is_relative_to(root) else result_path.name
    print(f"(JSON: {shown})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
