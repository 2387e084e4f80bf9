"""Cold start, side by side: ``recordkit serve`` until ``/healthz`` answers 200, and ``recordkit --help``,
for this install and a baseline install (another venv's ``recordkit``), runs alternating, with
``python -c pass`` of the same interpreter as the floor.

    python bench/coldstart.py --baseline /path/to/other-venv/bin/recordkit [--runs 15]

Each serve run starts on a copy of one data dir made by ``recordkit init`` (so the first-start
welcome and key generation are not timed), on a free port, polls ``/healthz`` every 5 ms, then
stops the server. Prints the median of each and the ratios; writes bench/out/coldstart.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SERVER_ENV, free_port, out_dir


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def serve_once(recordkit: str, seed: Path, scratch: Path) -> float:
    data = scratch / f"data-{time.monotonic_ns()}"
    shutil.copytree(seed, data)
    port = free_port()
    env = {**SERVER_ENV, "PATH": str(Path(recordkit).parent) + ":/usr/bin:/bin"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [recordkit, "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        while not _healthy(port):
            if proc.poll() is not None:
                raise SystemExit(f"{recordkit} serve exited {proc.returncode}")
            if time.perf_counter() - start > 30:
                raise SystemExit(f"{recordkit} serve did not answer in 30 s")
            time.sleep(0.005)
        return time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def python_of(recordkit: str) -> str:
    return str(Path(recordkit).parent / "python")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the other install's recordkit executable")
    parser.add_argument("--current", default=str(Path(sys.executable).parent / "recordkit"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    installs = {"current": args.current, "baseline": args.baseline}
    times: dict[str, dict[str, list[float]]] = {name: {"serve": [], "help": [], "pass": []} for name in installs}
    with tempfile.TemporaryDirectory(prefix="rk-coldstart-") as tmp:
        scratch = Path(tmp)
        seeds = {}
        for name, exe in installs.items():
            seeds[name] = scratch / f"seed-{name}"
            subprocess.run([exe, "init", "--data-dir", str(seeds[name]), "--json"], capture_output=True, check=True)
        for name, exe in installs.items():  # warm the page cache once for each
            serve_once(exe, seeds[name], scratch)
        for _ in range(args.runs):
            for name, exe in installs.items():
                times[name]["serve"].append(serve_once(exe, seeds[name], scratch))
                times[name]["help"].append(run_once([exe, "--help"]))
                times[name]["pass"].append(run_once([python_of(exe), "-c", "pass"]))
    median = {name: {k: statistics.median(v) for k, v in kinds.items()} for name, kinds in times.items()}
    print(f"cold start, median of {args.runs} alternating runs (seconds)")
    print(f"{'':10} {'serve->/healthz':>16} {'--help':>8} {'python -c pass':>15} {'--help minus pass':>18}")
    for name in installs:
        m = median[name]
        print(f"{name:10} {m['serve']:16.3f} {m['help']:8.3f} {m['pass']:15.3f} {m['help'] - m['pass']:18.3f}")
    ratio = median["current"]["serve"] / median["baseline"]["serve"]
    help_ratio = median["current"]["help"] / median["baseline"]["help"]
    print(f"current / baseline: serve {ratio:.2f}, --help {help_ratio:.2f}")
    (out_dir() / "coldstart.json").write_text(json.dumps({"runs": args.runs, "median": median, "all": times}, indent=1))


if __name__ == "__main__":
    main()
