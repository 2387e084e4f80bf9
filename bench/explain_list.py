"""Where does a list request spend its time? The store's own SQL, per filter kind, big app vs small.

    .venv/bin/python bench/explain_list.py [--data-dir bench/out/list_scale-data] [--kind search]

Runs on the data dir that bench/list_scale.py built (1,000,000 + 10,000 recordings), in process
(no HTTP): ``SqliteRecordingStore.list_recordings`` for each kind of bench/list_scale.py, big and
small interleaved, reporting the median per app and the ratio. Then, for the big app and each kind
over the target ratio (every kind with --all), the SQL statements the store ran (captured with the
connection's trace callback, parameters inlined), each one's own median time and its EXPLAIN QUERY
PLAN, slowest first. Last, a few other queries whose cost grows with the app (a search matching
every meeting, deep pages of one status, expired=false, ascending expired=true), timed once or twice
each. Results also go to bench/out/explain_list.json.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from _common import out_dir, table, write_json
from list_scale import KINDS, TARGET, AppUnderTest, SqliteRef, kind_params, typical_meeting
from recordkit.domain.query import parse_recording_query
from recordkit.settings import Settings
from recordkit.store.factory import open_store


def shorten(sql: str, limit: int = 1200) -> str:
    """The column list of the page query and long id lists, abbreviated for reading."""
    sql = re.sub(
        r"SELECT r\.id, r\.app_id, .*? FROM recordings r LEFT JOIN", "SELECT <columns> FROM recordings r LEFT JOIN", sql
    )

    def ids(match: re.Match[str]) -> str:
        items = match.group(1).split(",")
        return match.group(0) if len(items) <= 2 else f"json_each('[{items[0]}, ... {len(items)} ids]')"

    sql = re.sub(r"json_each\('\[(.*?)\]'\)", ids, sql)
    return sql if len(sql) <= limit else sql[:limit] + " ..."


def timed(fn: Any, repeat: int) -> float:
    xs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - started) * 1000)
    return statistics.median(xs)


# Queries beyond list_scale.py's kinds whose cost grows with the app: run once or twice each.
EXTRAS = (
    ("search matching every meeting ('sync')", {"search": "sync"}),
    ("status=ERRORED, per_page=100, page_no=6", {"status": "ERRORED", "per_page": "100", "page_no": "6"}),
    ("status=ERRORED, per_page=100, page_no=60", {"status": "ERRORED", "per_page": "100", "page_no": "60"}),
    ("status=UPLOADED, per_page=10, page_no=1000", {"status": "UPLOADED", "per_page": "10", "page_no": "1000"}),
    ("expired=false", {"expired": "false"}),
    ("expired=true, sort_order=ASC", {"expired": "true", "sort_order": "ASC"}),
)


def probe_extras(store: Any, apps: list[AppUnderTest]) -> list[dict[str, Any]]:
    rows, found = [], []
    for label, params in EXTRAS:
        query = parse_recording_query({k: [v] for k, v in params.items()})
        result: dict[str, Any] = {"query": label}
        for app in apps:
            xs = []
            for _ in range(2):
                started = time.perf_counter()
                page, total = store.list_recordings(app.app_id, query, int(time.time() * 1000))
                xs.append((time.perf_counter() - started) * 1000)
                if xs[-1] > 1000:
                    break  # slow enough to make the point; keep the run short
            result[app.label] = {"ms": min(xs), "total": total, "returned": len(page)}
        found.append(result)
        b, s = result["big"], result["small"]
        rows.append(
            (
                label,
                f"{b['ms']:.2f}",
                f"{b['total']:,} / {b['returned']}",
                f"{s['ms']:.2f}",
                f"{s['total']:,} / {s['returned']}",
            )
        )
    print()
    print("other queries whose cost grows with the app (in process, best of 2):")
    print(table(("query", "big ms", "big total / page", "small ms", "small total / page"), rows))
    return found


def _shown(path: object) -> str:
    """A path as the docs may show it: relative to the project, never this machine's layout."""
    from pathlib import Path

    p = Path(str(path)).resolve()
    root = Path(__file__).resolve().parent.parent
    return str(p.relative_to(root)) if p.is_relative_to(root) else p.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=out_dir() / "list_scale-data")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--statements", type=int, default=3, help="slowest statements shown per kind")
    parser.add_argument("--all", action="store_true", help="show statements for every kind, not only slow ones")
    parser.add_argument("--no-extra", action="store_true", help="skip the extra queries (broad search, deep pages)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    setup = msgspec.json.decode((args.data_dir / "bench.json").read_bytes())
    store = open_store(Settings.from_env(data_dir=args.data_dir))
    ref = SqliteRef(args.data_dir / "recordkit.sqlite3")
    apps = [AppUnderTest("big", setup["big_app"], 0), AppUnderTest("small", setup["small_app"], 0)]
    for app in apps:
        app.meeting_id, app.meeting_size = typical_meeting(ref, app.app_id)
    conn = store.pool.get()
    kinds = args.kind or list(KINDS)

    rows, report = [], []
    for kind in kinds:
        queries = {
            app.label: parse_recording_query({k: [v] for k, v in kind_params(kind, app, setup["anchor_ms"]).items()})
            for app in apps
        }
        medians: dict[str, list[float]] = {"big": [], "small": []}
        for _ in range(repeat):
            for app in apps:
                now = int(time.time() * 1000)
                started = time.perf_counter()
                store.list_recordings(app.app_id, queries[app.label], now)
                medians[app.label].append((time.perf_counter() - started) * 1000)
        big_ms, small_ms = statistics.median(medians["big"]), statistics.median(medians["small"])
        ratio = big_ms / small_ms if small_ms else float("nan")
        rows.append((kind, f"{big_ms:.2f}", f"{small_ms:.2f}", f"{ratio:.2f}" + ("" if ratio <= TARGET else " !")))

        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        store.list_recordings(apps[0].app_id, queries["big"], int(time.time() * 1000))
        conn.set_trace_callback(None)
        detail = []
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            ms = timed(lambda sql=sql: conn.execute(sql).fetchall(), max(1, repeat // 2))
            plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            detail.append({"ms": ms, "sql": sql, "plan": plan})
        detail.sort(key=lambda d: -d["ms"])
        report.append({"kind": kind, "big_ms": big_ms, "small_ms": small_ms, "ratio": ratio, "statements": detail})

    print(f"explain_list: store.list_recordings in process, median of {repeat}, big vs small ({_shown(args.data_dir)})")
    print()
    print(table(("filter", "big ms", "small ms", "big/small"), rows))
    shown = [r for r in report if args.all or not r["ratio"] <= TARGET]
    if not shown:
        print()
        print(f"every kind within big/small <= {TARGET}; --all shows the statements anyway")
    for item in shown:
        print()
        print(f"== {item['kind']}: {len(item['statements'])} statements on the big app, slowest first")
        for st in item["statements"][: args.statements]:
            sql = shorten(st["sql"])
            print(f"-- {st['ms']:.2f} ms")
            print(f"   {sql}")
            for line in st["plan"]:
                print(f"     plan: {line}")
    extras = [] if args.no_extra else probe_extras(store, apps)
    write_json(
        "explain_list.json",
        {"data_dir": str(args.data_dir), "repeat": repeat, "kinds": report, "extras": extras},
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
