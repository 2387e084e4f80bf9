"""bench/list_scale.py on PostgreSQL: does listing stay as fast with 1,000,000 recordings as with 10,000?

    .venv/bin/python bench/list_scale_postgres.py [--quick] [--database-url URL [--reuse]] [--explain]

The same apps, filter kinds, measurement and checks as bench/list_scale.py (its functions, not a
copy), with the metadata in PostgreSQL: a throwaway cluster (tests/support/postgres.py: the server
binaries of Debian's ``postgresql`` package, run as the ``postgres`` user when we are root, on
127.0.0.1 only, fsync off, shared_buffers 128MB, PostgreSQL's default) unless ``--database-url``
names an empty database. One database holds both apps, loaded with ``recordkit import
--database-url`` (the load time is printed), then ``VACUUM (ANALYZE)`` as autovacuum would do
shortly after a load (timed; ``--no-vacuum`` leaves it to autovacuum). ``recordkit serve
--database-url`` (granian, 1 worker) is measured with every request missing the page cache, and
``total_count`` and the page's ids are checked against SQL run directly on the database.
``--explain`` then prints, for the big app and every kind over the target (all kinds with
``--explain-all``), the statements the store ran with their EXPLAIN ANALYZE. Results also go to
bench/out/list_scale_postgres.json.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from _common import pg_cluster, table, write_json
from list_scale import (
    KINDS,
    SMALL,
    TARGET,
    AppUnderTest,
    apps_under_test,
    build,
    common_json,
    compare,
    exit_code,
    kind_params,
    print_comparison,
    run_sizes,
    serve_and_measure,
    shown,
    sizes_parser,
)


class PgRef:
    """The PostgreSQL database, read directly (list_scale.RefDb): ``?`` placeholders become ``%s``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            query: Any = sql.replace("?", "%s")  # built here from this file's own SQL
            return conn.execute(query, list(params)).fetchall()

    def columns(self, table: str) -> set[str]:
        return {
            r[0] for r in self.rows("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])
        }


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given database, or an empty one in a throwaway cluster (stopped and removed after)."""
    if url:
        yield url
        return
    with pg_cluster() as cluster:
        yield cluster.new_database(migrated=False)


def vacuum(url: str) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def sizes(url: str) -> dict[str, float]:
    """MiB: the whole database, the recordings table (heap) and its indexes."""
    got = PgRef(url).rows(
        "SELECT pg_database_size(current_database()), pg_table_size('recordings'), pg_indexes_size('recordings')"
    )[0]
    return {"database": got[0] / 2**20, "recordings_table": got[1] / 2**20, "recordings_indexes": got[2] / 2**20}


# -- --explain: the store's statements for one request, with EXPLAIN ANALYZE -----------------------


def captured_statements(store: Any, app: AppUnderTest, kind: str, anchor_ms: int) -> list[tuple[str, Any]]:
    """(sql, params) of every statement ``store.list_recordings`` runs for ``kind`` on ``app``."""
    import psycopg

    from recordkit.domain.query import parse_recording_query

    query = parse_recording_query({k: [v] for k, v in kind_params(kind, app, anchor_ms).items()})
    seen: list[tuple[str, Any]] = []
    original = psycopg.Connection.execute

    def spy(self: Any, sql: Any, params: Any = None, **kwargs: Any) -> Any:
        seen.append((str(sql), params))
        return original(self, sql, params, **kwargs)

    psycopg.Connection.execute = spy  # type: ignore[method-assign,assignment]
    try:
        store.list_recordings(app.app_id, query, int(time.time() * 1000))
    finally:
        psycopg.Connection.execute = original  # type: ignore[method-assign]
    return [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]


def explain(url: str, data_dir: Path, apps: list[AppUnderTest], anchor_ms: int, kinds: list[str]) -> list[Any]:
    """For each kind: the store in process, median of 5 per app, then the big app's statements
    (slowest first) with EXPLAIN (ANALYZE, BUFFERS)."""
    import psycopg

    from recordkit.settings import Settings
    from recordkit.store.factory import open_store

    store: Any = open_store(Settings.from_env(data_dir=data_dir, database_url=url))
    report: list[dict[str, Any]] = []
    rows = []
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for kind in kinds:
                ms: dict[str, list[float]] = {"big": [], "small": []}
                for _ in range(5):
                    for app in apps:
                        statements = captured_statements(store, app, kind, anchor_ms)  # also warms up
                        started = time.perf_counter()
                        for sql, params in statements:
                            conn.execute(sql, params).fetchall()
                        ms[app.label].append((time.perf_counter() - started) * 1000)
                big, small = statistics.median(ms["big"]), statistics.median(ms["small"])
                rows.append((kind, f"{big:.2f}", f"{small:.2f}", f"{big / small:.2f}"))
                detail: list[dict[str, Any]] = []
                for sql, params in captured_statements(store, apps[0], kind, anchor_ms):
                    explained: Any = "EXPLAIN (ANALYZE, BUFFERS) " + sql
                    plan = [r[0] for r in conn.execute(explained, params)]
                    took = next((float(line.split(":")[1].split()[0]) for line in plan if "Execution Time" in line), 0)
                    detail.append({"ms": took, "sql": sql, "params": repr(params)[:300], "plan": plan})
                detail.sort(key=lambda d: -d["ms"])
                report.append({"kind": kind, "big_ms": big, "small_ms": small, "statements": detail})
    finally:
        store.close()
    print()
    print("the store's statements, run directly (median of 5 per app, ms):")
    print(table(("filter", "big ms", "small ms", "big/small"), rows))
    for item in report:
        print()
        print(f"== {item['kind']}: {len(item['statements'])} statements on the big app, slowest first")
        for st in item["statements"]:
            print(f"-- {st['ms']:.2f} ms: {st['sql'][:600]}")
            print(f"   params: {st['params']}")
            for line in st["plan"]:
                print(f"     {line}")
    return report


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = sizes_parser(__doc__, "list_scale_postgres-data")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a throwaway cluster)")
    parser.add_argument("--reuse", action="store_true", help="with --database-url: the data this script loaded")
    parser.add_argument("--no-vacuum", action="store_true", help="measure right after the import")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the kinds over the target")
    parser.add_argument("--explain-all", action="store_true", help="EXPLAIN ANALYZE every kind")
    args = parser.parse_args(argv)
    big, rounds, data_dir = run_sizes(args, "list_scale_postgres-data")

    with database(args.database_url) as url:
        if args.reuse and args.database_url and (data_dir / "bench.json").exists():
            setup = msgspec.json.decode((data_dir / "bench.json").read_bytes())
            print(f"reusing {data_dir} and its database", flush=True)
        else:
            setup = build(data_dir, big, SMALL, args.keep_jsonl, ["--database-url", url], "list_scale_postgres")
        vacuum_s = None
        if not args.no_vacuum:
            vacuum_s = vacuum(url)
            print(f"VACUUM (ANALYZE) after the load: {vacuum_s:.1f}s", flush=True)
        ref = PgRef(url)
        apps = apps_under_test(setup, ref)
        run = serve_and_measure(
            data_dir, setup, apps, rounds, args.quick, "list_scale_postgres-server.log", {"RECORDKIT_DATABASE_URL": url}
        )
        results = compare(ref, setup, apps, run)
        print_comparison(apps, run, results, "list_scale on PostgreSQL")
        size = sizes(url)
        server_version = ref.rows("SHOW server_version")[0][0]
        settings = dict(
            ref.rows(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(?) ORDER BY name",
                [["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"]],
            )
        )
        report = []
        if args.explain or args.explain_all:
            kinds = list(KINDS) if args.explain_all else [r["kind"] for r in results if not r["meets_target"]]
            report = explain(url, data_dir, apps, setup["anchor_ms"], kinds) if kinds else []
            if not kinds:
                print(f"\nevery kind within big/small <= {TARGET}: nothing to explain (--explain-all shows them all)")

    imp, small_imp = setup["import_big"], setup["import_small"]
    load_s = imp["seconds"] + small_imp["seconds"] + (vacuum_s or 0)
    print(
        f"import ({apps[0].count:,} recordings, `recordkit import --database-url`): {imp['seconds']:.1f}s = "
        f"{imp['per_second']:,}/s; small app {small_imp['seconds']:.1f}s; "
        + (f"VACUUM (ANALYZE) {vacuum_s:.1f}s; " if vacuum_s is not None else "no VACUUM; ")
        + f"load in all {load_s:.0f}s"
    )
    detail = ", ".join(f"{name} {mb:.0f}" for _, name, mb in run.rss_parts if mb)
    print(
        f"server RSS after the run: {run.rss_total:.0f} MiB ({detail}); just after start: {run.rss_idle:.0f} MiB "
        "(PostgreSQL's own processes not included)"
    )
    print(
        f"database: {size['database']:,.0f} MiB (recordings {size['recordings_table']:,.0f} MiB + indexes "
        f"{size['recordings_indexes']:,.0f} MiB) for {sum(a.count for a in apps):,} recordings; PostgreSQL "
        f"{server_version}, " + ", ".join(f"{k} {v}" for k, v in settings.items())
    )
    path = write_json(
        "list_scale_postgres.json",
        {
            **common_json(setup, apps, run, results),
            "store": "postgresql",
            "postgres": {"version": server_version, "settings": settings},
            "vacuum_seconds": vacuum_s,
            "load_seconds": load_s,
            "database_mib": size,
            "explain": report,
        },
    )
    print(f"(JSON: {shown(path)})")
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
