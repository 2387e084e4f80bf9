"""The database the commands use: ``--database-url`` on every command, and ``recordkit migrate``.

Every command that takes ``--data-dir`` also takes ``--database-url postgresql://...`` (env
``RECORDKIT_DATABASE_URL``): ``add_database_url_option`` adds it to them all, wherever they are
defined. The option keeps its value in the command's click context, and ``command_settings``
passes it to ``Settings.from_env`` as the ``database_url`` argument (nothing writes
``os.environ``). Without it, the SQLite file in the data dir is used, as always.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from recordkit.settings import DEFAULT_DATA_DIR, Settings, SettingsError

_META = "recordkit.database_url"  # the --database-url of the command being run (click's ctx.meta)
HELP = (
    "PostgreSQL to keep the metadata in (postgresql://user@host:port/dbname; env RECORDKIT_DATABASE_URL, "
    "which keeps a password out of the process list). Default: SQLite in the data dir."
)


def _keep_database_url(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_META] = value


def command_settings(**overrides: object) -> Settings:
    """The running command's Settings: the environment, its flags (``overrides``), its ``--database-url``."""
    ctx = click.get_current_context(silent=True)
    url = ctx.meta.get(_META) if ctx is not None else None
    return Settings.from_env(None, database_url=url, **overrides)


def database_url_option() -> click.Option:
    return click.Option(
        ["--database-url"],
        expose_value=False,
        is_eager=True,
        callback=_keep_database_url,
        metavar="URL",
        help=HELP,
    )


def add_database_url_option(group: click.Group) -> None:
    """Give ``--database-url`` to every command under ``group`` that takes ``--data-dir``."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            add_database_url_option(command)
            continue
        names = {opt for param in command.params for opt in getattr(param, "opts", ())}
        if "--data-dir" in names and "--database-url" not in names and "--to" not in names:
            command.params.append(database_url_option())


def _describe(url: str) -> str:
    from recordkit.store.postgres.connection import redact

    return redact(url)


@click.command("migrate")
@click.option(
    "--data-dir",
    envvar="RECORDKIT_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where RecordKit keeps its database, keys and files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def migrate_command(data_dir: Path, as_json: bool) -> None:
    """Bring the database's schema up to date and print the migrations applied.

    SQLite (the data dir's recordkit.sqlite3) or PostgreSQL (--database-url). Servers do the same
    when they start; running it first lets several servers start at once on a new database. Safe
    to run while servers run, and again."""
    from recordkit.errors import RecordKitError

    try:
        settings = command_settings(data_dir=data_dir)
        payload = _migrate(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except RecordKitError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps(payload))
        return
    applied = payload["applied"]
    where = f"{payload['dialect']} {payload['database']}"
    if applied:
        click.echo(f"{where}: applied {', '.join(applied)}; schema version {payload['version']}")
    else:
        click.echo(f"{where}: up to date (schema version {payload['version']})")


def _migrate(settings: Settings) -> dict[str, Any]:
    if settings.database_url:
        import psycopg

        from recordkit.errors import Unavailable
        from recordkit.store.factory import check_database_url
        from recordkit.store.migrations.runner_postgres import migrate_postgres, schema_version

        check_database_url(settings.database_url)
        try:
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                applied = migrate_postgres(conn)
                version = schema_version(conn)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise Unavailable(f"database {_describe(settings.database_url)}: {first}") from None
        return {
            "dialect": "postgresql",
            "database": _describe(settings.database_url),
            "applied": applied,
            "version": version,
        }
    import sqlite3

    from recordkit.store.migrations.runner import migrate_sqlite
    from recordkit.store.sqlite.connection import PRAGMAS

    path = settings.database_path
    path.parent.mkdir(parents=True, exist_ok=True)
    lite = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:  # as the store opens it (page size: only on a new file)
            lite.execute(pragma)
        applied = migrate_sqlite(lite)
        version = int(lite.execute("PRAGMA user_version").fetchone()[0])
    finally:
        lite.close()
    return {"dialect": "sqlite", "database": str(path), "applied": applied, "version": version}


@click.command("copy-database")
@click.option(
    "--data-dir",
    envvar="RECORDKIT_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The data dir whose SQLite database (recordkit.sqlite3) is copied.",
)
@click.option("--to", "target", required=True, metavar="URL", help="The empty PostgreSQL database (postgresql://...).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def copy_database_command(data_dir: Path, target: str, as_json: bool) -> None:
    """Copy the data dir's SQLite store, whole, into an empty PostgreSQL database.

    Every account, app, token (hashes), meeting, recording (leases, secrets still encrypted) and
    webhook with its delivery log; ids are kept, so tokens and links go on working. Stop the servers
    first; then run them with --database-url and the same keys (the data dir's secret.key and
    webhooks.key, or the same RECORDKIT_SECRET_KEYS)."""
    from recordkit.errors import RecordKitError
    from recordkit.store.factory import check_database_url

    settings = Settings(data_dir=data_dir)
    try:
        check_database_url(target)
        import psycopg

        from recordkit.store.postgres.copy import copy_sqlite_to_postgres

        def shown(table: str, rows: int) -> None:
            if not as_json:
                click.echo(f"  {table}: {rows}", err=True)

        try:
            counts = copy_sqlite_to_postgres(settings.database_path, target, progress=shown)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise click.ClickException(f"database {_describe(target)}: {first}") from None
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except RecordKitError as exc:
        raise click.ClickException(exc.message) from None
    payload = {"from": str(settings.database_path), "to": _describe(target), "copied": counts}
    if as_json:
        click.echo(json.dumps(payload))
    else:
        click.echo(f"copied {sum(counts.values())} rows from {payload['from']} to {payload['to']}")
