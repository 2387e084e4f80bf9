"""The ``recordkit`` command line: serve, init, account, app, token, import.

Every command takes ``--data-dir`` (default ``./recordkit-data``, env ``RECORDKIT_DATA_DIR``);
commands that print take ``--json`` for machine output. The JSON shapes are a contract.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from recordkit.domain.models import PERMISSIONS
from recordkit.errors import RecordKitError
from recordkit.settings import DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, Settings

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        envvar="RECORDKIT_DATA_DIR",
        default=DEFAULT_DATA_DIR,
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Where RecordKit keeps its database, keys and files.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RecordKitError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper  # type: ignore[return-value]


def _store(data_dir: Path) -> Any:
    from recordkit.store.factory import open_store

    return open_store(Settings.from_env(data_dir=data_dir))


def _emit(as_json: bool, payload: dict[str, Any], human: str) -> None:
    if as_json:
        click.echo(json.dumps(payload))
    else:
        click.echo(human)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recordkit")
def main() -> None:
    """RecordKit: a self-hostable Cloudflare RealtimeKit Recordings API."""


# -- serve ---------------------------------------------------------------------------------------


@main.command()
@data_dir_option
@click.option("--host", envvar="RECORDKIT_HOST", default=DEFAULT_HOST, show_default=True)
@click.option("--port", envvar="RECORDKIT_PORT", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--public-url", envvar="RECORDKIT_PUBLIC_URL", default=None, help="Base URL that links carry.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@handle_errors
def serve(data_dir: Path, host: str, port: int, public_url: str | None, workers: int) -> None:
    """Run the API. On an empty data dir, first create an account, an app and a token."""
    settings = Settings.from_env(data_dir=data_dir, host=host, port=port, public_url=public_url)
    store = _store(data_dir)
    try:
        if not store.has_accounts():
            account, app, token = _bootstrap(store)
            _print_welcome(settings, account, app, token)
    finally:
        store.close()
    from recordkit.cli.server import run_server

    run_server(settings, workers)


def _bootstrap(store: Any) -> tuple[str, str, str]:
    account = store.create_account()
    app = store.create_app(account.id, "default")
    _, token = store.create_token(account.id, "Realtime Admin")
    return account.id, app.id, token


def _print_welcome(settings: Settings, account: str, app: str, token: str) -> None:
    base = f"http://{settings.host}:{settings.port}/client/v4"
    click.echo(
        f"""RecordKit: a new data dir ({settings.data_dir}); created an account, an app and a token.
  account_id: {account}
  app_id:     {app}
  token:      {token}   (Realtime Admin; shown once, stored hashed)

List recordings with curl:
  curl -H "Authorization: Bearer {token}" \\
    "{base}/accounts/{account}/realtime/kit/{app}/recordings"

Or with Cloudflare's official SDK (pip install cloudflare):
  from cloudflare import Cloudflare
  client = Cloudflare(api_token="{token}", base_url="{base}")
  print(client.realtime_kit.recordings.get_recordings("{app}", account_id="{account}"))
""",
        err=False,
    )
    sys.stdout.flush()


# -- init, account, app, token -------------------------------------------------------------------


@main.command()
@data_dir_option
@json_option
@handle_errors
def init(data_dir: Path, as_json: bool) -> None:
    """Create a new account with one app and one Realtime Admin token."""
    store = _store(data_dir)
    try:
        account, app, token = _bootstrap(store)
    finally:
        store.close()
    _emit(
        as_json,
        {"account_id": account, "app_id": app, "token": token},
        f"account_id: {account}\napp_id:     {app}\ntoken:      {token}",
    )


@main.group()
def account() -> None:
    """Accounts."""


@account.command("create")
@data_dir_option
@json_option
@handle_errors
def account_create(data_dir: Path, as_json: bool) -> None:
    """Create an account."""
    store = _store(data_dir)
    try:
        made = store.create_account()
    finally:
        store.close()
    _emit(as_json, {"account_id": made.id}, f"account_id: {made.id}")


@main.group()
def app() -> None:
    """Apps."""


@app.command("create")
@data_dir_option
@json_option
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--name", required=True, help="App name.")
@handle_errors
def app_create(data_dir: Path, as_json: bool, account_id: str, name: str) -> None:
    """Create an app in an account."""
    store = _store(data_dir)
    try:
        made = store.create_app(account_id, name)
    finally:
        store.close()
    _emit(as_json, {"app_id": made.id}, f"app_id: {made.id}")


@app.command("config")
@data_dir_option
@json_option
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--app", "app_id", required=True, help="App id.")
@click.option(
    "--recording-config",
    "config_json",
    default=None,
    help="The app's default recording_config as JSON (as in a meeting); '{}' clears it. Omit to show it.",
)
@handle_errors
def app_config(data_dir: Path, as_json: bool, account_id: str, app_id: str, config_json: str | None) -> None:
    """Show or set an app's default recording config (meetings and start bodies override it)."""
    import msgspec

    from recordkit.domain.meetings import RecordingConfig, validate_recording_config

    store = _store(data_dir)
    try:
        found = store.get_app(app_id)
        if found is None or found.account_id != account_id:
            raise click.ClickException(f"app {app_id} not found in account {account_id}")
        if config_json is not None:
            try:
                parsed = msgspec.json.decode(config_json.encode(), type=RecordingConfig)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise click.ClickException(f"recording config: {exc}") from None
            validate_recording_config(parsed, "recording_config")
            given = msgspec.to_builtins(parsed)
            store.set_app_recording_config(found.id, given or None)
            found = store.get_app(found.id)
    finally:
        store.close()
    from recordkit.domain.models import strip_secrets_deep

    shown = strip_secrets_deep(found.recording_config) if found and found.recording_config else None
    _emit(as_json, {"app_id": app_id, "recording_config": shown}, json.dumps(shown, indent=2))


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@data_dir_option
@json_option
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--permission", type=click.Choice(PERMISSIONS), default="Realtime Admin", show_default=True)
@handle_errors
def token_create(data_dir: Path, as_json: bool, account_id: str, permission: str) -> None:
    """Create a token (printed once; only its hash is stored)."""
    store = _store(data_dir)
    try:
        token_id, secret = store.create_token(account_id, permission)
    finally:
        store.close()
    _emit(as_json, {"token": secret, "token_id": token_id}, f"token:    {secret}\ntoken_id: {token_id}")


@token.command("revoke")
@data_dir_option
@json_option
@click.argument("token_or_id")
@handle_errors
def token_revoke(data_dir: Path, as_json: bool, token_or_id: str) -> None:
    """Revoke a token, given the token itself or its id."""
    store = _store(data_dir)
    try:
        revoked = store.revoke_token(token_or_id)
    finally:
        store.close()
    if not revoked:
        raise click.ClickException("no such active token")
    _emit(as_json, {"revoked": True}, "revoked")


# -- import --------------------------------------------------------------------------------------


@main.command("import")
@data_dir_option
@json_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account_id", required=True, help="Account id the app belongs to.")
@click.option("--app", "app_id", required=True, help="App to import into.")
@handle_errors
def import_cmd(data_dir: Path, as_json: bool, file: Path, account_id: str, app_id: str) -> None:
    """Load recordings from JSON Lines or a whole list response (the list endpoint's shape)."""
    import time

    store = _store(data_dir)
    try:
        found = store.get_app(app_id)
        if found is None or found.account_id != account_id:
            raise click.ClickException(f"app {app_id} not found in account {account_id}")
        started = time.perf_counter()
        report = _run_import(store, file, found.id, show=sys.stderr.isatty() and not as_json)
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    if report.errors:
        if as_json:
            click.echo(json.dumps({"imported": 0, "errors": [{"line": n, "error": e} for n, e in report.errors]}))
        for number, message in report.errors:
            click.echo(f"line {number}: {message}" if number else message, err=True)
        click.echo("nothing was imported", err=True)
        sys.exit(1)
    rate = report.written / elapsed if elapsed > 0 else 0.0
    _emit(
        as_json,
        {"imported": report.written, "seconds": round(elapsed, 3), "per_second": round(rate)},
        f"imported {report.written} recordings in {elapsed:.2f}s ({rate:,.0f}/s)",
    )


def _run_import(store: Any, file: Path, app_id: str, show: bool) -> Any:
    from recordkit.importer import import_file

    if not show:
        return import_file(store, file, app_id)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    size = max(os.path.getsize(file), 1)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("checking", total=size * 2)

        def tick(n: int) -> None:
            progress.advance(task, n)
            if progress.tasks[0].completed >= size:
                progress.update(task, description="writing ")

        return import_file(store, file, app_id, progress=tick)


if __name__ == "__main__":
    main()
