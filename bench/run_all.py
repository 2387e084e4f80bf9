"""Run every benchmark and write docs/benchmarks.md with their output, verbatim.

    .venv/bin/python bench/run_all.py [--quick] [--reuse] [--no-docs] [--no-postgres] [--skip SCRIPT ...]

Order: gen.py (1,000,000 lines; --quick 10,000), list_scale.py, explain_list.py (on list_scale's
data dir), list_scale_postgres.py (the same on PostgreSQL), throughput.py, workers.py, startstop.py
(recordings started and stopped per second, SQLite and PostgreSQL), soak.py. Each runs as its own
process; its output is shown as it comes and kept. Full sizes take about 10 minutes on 2 cores (the
1,000,000-recording import is most of it), plus about 5 for the PostgreSQL load and 2 for start/stop,
plus the soak: 2 minutes here by default (--soak-minutes; bench/soak.py alone runs 10), --quick 1
minute. ``--no-postgres`` leaves PostgreSQL out (list_scale_postgres.py, startstop.py's PostgreSQL
server); ``--skip list_scale.py`` (repeatable) leaves a script out; ``--only`` runs only the named ones.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

from _common import BENCH, OUT, ROOT, machine, out_dir, source_version

DOC = ROOT / "docs" / "benchmarks.md"


def run(script: str, args: list[str], timeout: float) -> tuple[int, str, float]:
    cmd = [sys.executable, str(BENCH / script), *args]
    print(f"\n$ {' '.join(['.venv/bin/python', 'bench/' + script, *args])}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = started + timeout
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
        if time.monotonic() > deadline:
            proc.kill()  # the child this function started
            lines.append(f"(stopped after {timeout:.0f}s)\n")
            break
    code = proc.wait()
    return code, "".join(lines), time.monotonic() - started


def versions() -> str:
    found = []
    for name in ("granian", "starlette", "msgspec"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
        found.append((wrk.stdout or wrk.stderr).split("[")[0].strip() or "wrk")
    except OSError:
        found.append("no wrk (asyncio load loop)")
    return ", ".join(found)


def load(name: str) -> dict[str, Any] | None:
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else None


def summary() -> list[str]:
    lines = []
    scale = load("list_scale.json")
    if scale:
        missed = [f"{r['kind']} ({r['ratio']:.2f})" for r in scale["results"] if not r["meets_target"]]
        inexact = [r["kind"] for r in scale["results"] if not (r["big"]["exact"] and r["small"]["exact"])]
        lines.append(
            f"- List latency, big/small median ratio <= {scale['target_ratio']}: "
            + ("met for every filter kind." if not missed else f"**missed** for {', '.join(missed)}.")
        )
        lines.append(
            "- `total_count` exact against SQL for every kind."
            if not inexact
            else f"- `total_count` **not exact** for {', '.join(inexact)}."
        )
        imp = scale["import"]["big"]
        verdict = "met" if imp["per_second"] >= 20_000 else "**missed**"
        lines.append(
            f"- Import: {imp['imported']:,} recordings in {imp['seconds']:.0f} s ({imp['per_second']:,}/s; "
            f"target 20,000/s: {verdict})."
        )
        lines.append(
            f"- Server RSS after the 1M run: {scale['server_rss_mib']['after_run']:.0f} MiB; "
            f"database {scale['database_mib']:,.0f} MiB."
        )
    tput = load("throughput.json")
    if tput:
        verdict = "met" if tput["meets_target"] else "**missed**"
        lines.append(
            f"- Throughput, RecordKit / bare Starlette: {tput['ratio']:.2f} "
            f"(target >= {tput['target_ratio']:.2f}: {verdict}); "
            f"{tput['median_rps']['recordkit']:,.0f} vs {tput['median_rps']['bare']:,.0f} req/s."
        )
        if "uncached_ratio" in tput:
            lines.append(
                f"- The same with every request missing the page cache: {tput['uncached_ratio']:.2f} "
                f"({tput['median_rps']['uncached']:,.0f} req/s)."
            )
    pg = load("list_scale_postgres.json")
    if pg:
        missed = [f"{r['kind']} ({r['ratio']:.2f})" for r in pg["results"] if not r["meets_target"]]
        inexact = [r["kind"] for r in pg["results"] if not (r["big"]["exact"] and r["small"]["exact"])]
        worst = max(pg["results"], key=lambda r: r["ratio"])
        lines.append(
            f"- List latency on PostgreSQL, big/small median ratio <= {pg['target_ratio']}: "
            + (
                f"met for every filter kind (highest: {worst['kind']} {worst['ratio']:.2f})"
                if not missed
                else f"**missed** for {', '.join(missed)}"
            )
            + (
                "; `total_count` exact for every kind."
                if not inexact
                else f"; `total_count` **not exact** for {', '.join(inexact)}."
            )
        )
        imp = pg["import"]["big"]
        lines.append(
            f"- PostgreSQL load: {imp['imported']:,} recordings imported in {imp['seconds']:.0f} s "
            f"({imp['per_second']:,}/s), {pg['load_seconds']:.0f} s with the small app and VACUUM (ANALYZE)."
        )
    workers = load("workers.json")
    if workers and "middleware_cost" in workers:
        rps = workers["median_rps"]
        lines.append(
            f"- List throughput, `--workers 2` / `--workers 1`: {workers['ratio_2_to_1']:.2f} "
            f"({rps['--workers 2']:,.0f} vs {rps['--workers 1']:,.0f} req/s; the load generator on the same 2 cores)."
        )
        cost = 100 * workers["middleware_cost"]["middleware"]
        lines.append(
            f"- The operations middleware (request ids + metrics) costs {cost:.1f}% of list req/s "
            f"({rps['metrics on (default)']:,.0f} vs {rps['no middleware (before it)']:,.0f})."
        )
    startstop = load("startstop.json")
    if startstop and "holds_s" in startstop:
        for hold in startstop["holds_s"]:
            parts = [
                f"{s['label']} {s['started_per_s']:.1f}/s (start p50 {s['start_p50']:.0f} ms, "
                f"stop p50 {s['stop_p50']:.0f} ms; end to end {s['finished_per_s']:.2f}/s; "
                f"{s['statuses'].get('UPLOADED', 0)} UPLOADED, {s['statuses'].get('ERRORED', 0)} ERRORED)"
                for s in startstop["summary"].values()
                if s["hold_s"] == hold
            ]
            lines.append(
                f"- Recordings started and stopped per second, {startstop['clients']} clients, stop {hold:g} s "
                "after start: " + "; ".join(parts) + "."
            )
    soak = load("soak.json")
    if soak:
        errors = sum(r["errors"] for r in soak["requests"].values()) + sum(
            sum(c.values()) for k, c in soak["errors"].items() if k not in soak["requests"]
        )
        rss = soak["rss_mib"]
        lines.append(
            f"- Soak, {soak['minutes']:g} min at {soak['rate']:g} req/s plus recordings: {errors} errors; RSS "
            f"{rss['start']:.0f} -> {rss['middle']:.0f} -> {rss['end']:.0f} MiB, second-half slope "
            f"{rss['second_half_slope_mib_per_min']:+.2f} MiB/min ({'flat' if rss['flat'] else '**not flat**'})."
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--reuse", action="store_true", help="list_scale.py reuses its data dir if present")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out (no cluster is started)")
    parser.add_argument("--skip", action="append", default=[], metavar="SCRIPT", help="leave this script out")
    parser.add_argument("--only", action="append", default=[], metavar="SCRIPT", help="run only these scripts")
    parser.add_argument(
        "--soak-minutes", type=float, default=None, help="length of bench/soak.py's load (default 2; --quick 1)"
    )
    args = parser.parse_args(argv)
    soak_minutes = args.soak_minutes or (1.0 if args.quick else 2.0)
    quick = ["--quick"] if args.quick else []
    out_dir()
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    load_start = os.getloadavg()
    source = source_version()
    gen_out = OUT / "gen-check.jsonl"
    steps = [
        ("gen.py", [*quick, "--count", "1000000", "--out", str(gen_out.relative_to(ROOT))], 300),
        ("list_scale.py", [*quick, *(["--reuse"] if args.reuse else [])], 1800),
        ("explain_list.py", [*quick, "--statements", "2"], 600),
        ("list_scale_postgres.py", [*quick, "--explain"], 1800),
        ("throughput.py", quick, 900),
        ("workers.py", quick, 900),
        ("startstop.py", [*quick, *(["--no-postgres"] if args.no_postgres else [])], 900),
        ("soak.py", ["--minutes", f"{soak_minutes:g}"], soak_minutes * 60 + 420),
    ]
    known = [script for script, _, _ in steps]
    unknown = [s for s in [*args.skip, *args.only] if s not in known]
    if unknown:
        parser.error(f"unknown script(s) {unknown}; known: {', '.join(known)}")
    left_out = {*args.skip, *(["list_scale_postgres.py"] if args.no_postgres else [])}
    steps = [step for step in steps if step[0] not in left_out and (not args.only or step[0] in args.only)]
    outputs: dict[str, tuple[int, str, float]] = {}
    for script, script_args, timeout in steps:
        outputs[script] = run(script, script_args, timeout)
        if script == "gen.py":
            gen_out.unlink(missing_ok=True)
    failed = [s for s, (code, _, _) in outputs.items() if code != 0]
    if failed:
        print(f"\nexit codes: {', '.join(f'{s}={outputs[s][0]}' for s in failed)}")
    if args.no_docs:
        return 1 if failed else 0

    m = machine()
    gen_cmd = "bench/gen.py --count 1000000" if not args.quick else "bench/gen.py --quick"
    doc = [
        "# Benchmarks",
        "",
        f"Latest run: {started}{' (--quick sizes)' if args.quick else ''}, by `bench/run_all.py`, "
        f"on commit {source}. The tables below are the scripts' output, verbatim. Load average "
        f"(1/5/15 min) at the start {' '.join(f'{x:.2f}' for x in load_start)}, at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "## Summary",
        "",
        *summary(),
        "",
        "## How to run",
        "",
        "```sh",
        ".venv/bin/python bench/run_all.py            # everything, full sizes (~10 min), rewrites this file",
        ".venv/bin/python bench/run_all.py --quick    # smoke run",
        ".venv/bin/python bench/gen.py --count 1000000 --meetings 20000 --days 365 --seed 1 --out FILE",
        ".venv/bin/python bench/list_scale.py [--quick] [--reuse]",
        ".venv/bin/python bench/explain_list.py [--kind search] [--all]   # after list_scale.py",
        ".venv/bin/python bench/list_scale_postgres.py [--quick] [--explain]   # list_scale.py on PostgreSQL",
        ".venv/bin/python bench/throughput.py [--quick]",
        ".venv/bin/python bench/workers.py [--quick]       # --workers 2 against --workers 1",
        ".venv/bin/python bench/startstop.py [--quick] [--clients 8] [--hold 1]   # recordings started/stopped per s",
        ".venv/bin/python bench/soak.py [--minutes 10]      # fixed-rate mixed load: errors and memory",
        "```",
        "",
        "Each script prints a table and writes JSON under `bench/out/` (git-ignored). The machine is",
        "small and shared, so every comparison is made side by side in one run and reported as a",
        "ratio; absolute numbers move from run to run.",
        "",
        "## Machine",
        "",
        f"- {m['nproc']} CPUs ({m['cpu'] or 'unknown model'}), {m['platform']}",
        f"- Python {m['python']}, SQLite {m['sqlite']}",
        f"- {versions()}",
        "",
    ]
    sections = (
        ("gen.py", f"Generator (`{gen_cmd}`)"),
        ("list_scale.py", "List latency, big app vs small app (`bench/list_scale.py`)"),
        ("explain_list.py", "Where the slow kinds spend their time (`bench/explain_list.py`)"),
        ("list_scale_postgres.py", "List latency on PostgreSQL, big app vs small app (`bench/list_scale_postgres.py`)"),
        ("throughput.py", "Throughput, RecordKit vs bare Starlette (`bench/throughput.py`)"),
        ("workers.py", "Throughput, 2 workers vs 1, and what the metrics middleware costs (`bench/workers.py`)"),
        ("startstop.py", "Recordings started and stopped per second (`bench/startstop.py`)"),
        ("soak.py", f"Soak (bench/soak.py --minutes {soak_minutes:g})"),
    )
    for script, title in sections:
        if script not in outputs:
            continue  # left out (--skip, --only, --no-postgres)
        code, text, seconds = outputs[script]
        doc += [f"## {title}", "", f"Took {seconds:.0f} s" + (f"; exit code {code}." if code else "."), ""]
        doc += ["```text", text.rstrip("\n"), "```", ""]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(doc))
    print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
