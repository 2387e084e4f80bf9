"""The ``recordkit`` command line: serve, init, account, app, token, import, recordings, storage, secrets.

Every command takes ``--data-dir`` (default ``./recordkit-data``, env ``RECORDKIT_DATA_DIR``);
commands that print take ``--json`` for machine output. The JSON shapes are a contract.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recordkit.cli.database import (
    add_database_url_option,
    command_settings,
    copy_database_command,
    migrate_command,
)
from recordkit.cli.options import data_dir_option, handle_errors, json_option
from recordkit.cli.recordings_cmd import register as register_remote_recordings
from recordkit.cli.sync import sync_command
from recordkit.cli.webhooks import webhooks as webhooks_group
from recordkit.distribution import DISTRIBUTION
from recordkit.domain.models import PERMISSIONS
from recordkit.domain.timefmt import now_ms
from recordkit.errors import RecordKitError
from recordkit.settings import DEFAULT_HOST, DEFAULT_PORT, Settings

if TYPE_CHECKING:
    from recordkit.domain.ports import Store
    from recordkit.runtime import Runtime


def _runtime(**given: Any) -> Runtime:
    """The composition root for this command's settings (each part built when first used)."""
    from recordkit.runtime import Runtime

    return Runtime(command_settings(**given))


def _store(data_dir: Path) -> Store:
    return _runtime(data_dir=data_dir).store


def _emit(as_json: bool, payload: dict[str, Any], human: str) -> None:
    if as_json:
        click.echo(json.dumps(payload))
    else:
        click.echo(human)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION)
def main() -> None:
    """RecordKit: a self-hostable Cloudflare RealtimeKit Recordings API."""


# -- serve ---------------------------------------------------------------------------------------


@main.command()
@data_dir_option
@click.option("--host", default=None, help=f"Address to listen on [env RECORDKIT_HOST; default: {DEFAULT_HOST}].")
@click.option(
    "--port", default=None, type=int, help=f"Port to listen on [env RECORDKIT_PORT; default: {DEFAULT_PORT}]."
)
@click.option("--public-url", default=None, help="Base URL that links carry [env RECORDKIT_PUBLIC_URL].")
@click.option(
    "--workers",
    default=None,
    type=int,
    help="Worker processes, 1 to 64 (each serves the API and runs background jobs; each job runs once) "
    "[env RECORDKIT_WORKERS; default: 1].",
)
@click.option("--aws-endpoint-url", default=None, help="S3 API endpoint for storage_config type aws (MinIO...).")
@click.option("--digitalocean-endpoint-url", default=None, help="Endpoint for type digitalocean ({region} allowed).")
@click.option("--azure-endpoint-url", default=None, help="Blob account URL for type azure ({account} allowed).")
@click.option("--gcs-endpoint-url", default=None, help="JSON API endpoint for type gcs.")
@click.option("--bucket-url", default=None, help="The RecordKit bucket on S3: s3://bucket/prefix (default: local).")
@click.option("--bucket-endpoint-url", default=None, help="S3 endpoint of --bucket-url (default: AWS).")
@click.option("--bucket-region", default=None, help="Region of --bucket-url.")
@click.option(
    "--storage-preflight/--no-storage-preflight",
    default=None,
    help="Probe a start's storage_config destination (write + delete) before accepting it.",
)
@click.option(
    "--allow-private-network",
    is_flag=True,
    default=None,
    help="Let recording urls, SFTP hosts and webhook URLs be loopback, private or link-local addresses "
    "(local development, tests; env RECORDKIT_ALLOW_PRIVATE_NETWORK). Off by default.",
)
@handle_errors
def serve(
    data_dir: Path,
    host: str | None,
    port: int | None,
    public_url: str | None,
    workers: int | None,
    aws_endpoint_url: str | None,
    digitalocean_endpoint_url: str | None,
    azure_endpoint_url: str | None,
    gcs_endpoint_url: str | None,
    bucket_url: str | None,
    bucket_endpoint_url: str | None,
    bucket_region: str | None,
    storage_preflight: bool | None,
    allow_private_network: bool | None,
) -> None:
    """Run the API. On an empty data dir, first create an account, an app and a token.

    Secrets (RECORDKIT_SECRET_KEYS, RECORDKIT_BUCKET_ACCESS_KEY, RECORDKIT_BUCKET_SECRET) are read
    from the environment only, never from flags (which other users can see in the process list)."""
    settings = command_settings(
        data_dir=data_dir,
        host=host,
        port=port,
        public_url=public_url,
        workers=workers,
        aws_endpoint_url=aws_endpoint_url,
        digitalocean_endpoint_url=digitalocean_endpoint_url,
        azure_endpoint_url=azure_endpoint_url,
        gcs_endpoint_url=gcs_endpoint_url,
        bucket_url=bucket_url,
        bucket_endpoint_url=bucket_endpoint_url,
        bucket_region=bucket_region,
        storage_preflight=storage_preflight,
        allow_private_network=allow_private_network,
    )
    from recordkit.cli.server import listen, run_server
    from recordkit.runtime import Runtime

    with listen(settings) as listener:  # first: a port in use stops here, before anything is made
        runtime = Runtime(settings)  # the workers build their own (api.app.worker_app)
        try:
            store = runtime.store
            if not store.has_accounts():
                account, app, token = _bootstrap(store)
                _print_welcome(settings, account, app, token)
        finally:
            runtime.close()
        run_server(settings, listener)


def _bootstrap(store: Store) -> tuple[str, str, str]:
    now = now_ms()
    account = store.create_account(now=now)
    app = store.create_app(account.id, "default", now=now)
    _, token = store.create_token(account.id, "Realtime Admin", now=now)
    return account.id, app.id, token


def _print_welcome(settings: Settings, account: str, app: str, token: str) -> None:
    base = f"{settings.base_url}/client/v4"  # --public-url if set; 0.0.0.0 shown as 127.0.0.1
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
{_private_network_hint(settings)}""",
        err=settings.log_json,  # with JSON logs, stdout carries only JSON lines
    )
    sys.stdout.flush()


def _private_network_hint(settings: Settings) -> str:
    if settings.allow_private_network:
        return "\nPrivate networks are allowed (--allow-private-network): keep that to local development.\n"
    return """
Webhook URLs, recording urls and SFTP hosts must be public addresses. For local development
(a webhook receiver on localhost, an SFTP server on your network), restart with
  recordkit serve --allow-private-network   (or RECORDKIT_ALLOW_PRIVATE_NETWORK=true)
"""


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
    from recordkit.security.webhook_keys import WebhookSigner, key_path

    WebhookSigner(key_path(data_dir)).load()  # the key pair that signs webhooks, made once
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
        made = store.create_account(now=now_ms())
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
        made = store.create_app(account_id, name, now=now_ms())
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
        token_id, secret = store.create_token(account_id, permission, now=now_ms())
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
        revoked = store.revoke_token(token_or_id, now=now_ms())
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

    runtime = _runtime(data_dir=data_dir)
    settings = runtime.settings
    try:
        store = runtime.store
        found = store.get_app(app_id)
        if found is None or found.account_id != account_id:
            raise click.ClickException(f"app {app_id} not found in account {account_id}")
        started = time.perf_counter()
        show = sys.stderr.isatty() and not as_json
        report = _run_import(store, file, found.id, show=show, batch_size=settings.import_batch)
        elapsed = time.perf_counter() - started
    finally:
        runtime.close()
    for name in report.swept:
        click.echo(f"removed {name}: the scratch folder of an import that was killed", err=True)
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


def _run_import(store: Any, file: Path, app_id: str, show: bool, batch_size: int) -> Any:
    from recordkit.importer import import_file

    if not show:
        return import_file(store, file, app_id, batch_size=batch_size)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    size = max(os.path.getsize(file), 1)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("checking", total=size * 2)

        def tick(n: int) -> None:
            progress.advance(task, n)
            if progress.tasks[0].completed >= size:
                progress.update(task, description="writing ")

        return import_file(store, file, app_id, progress=tick, batch_size=batch_size)


# -- recordings: an operator's re-run of a delivery ----------------------------------------------


@main.group()
def recordings() -> None:
    """Recordings RecordKit made."""


@recordings.command("retry-upload")
@data_dir_option
@json_option
@click.argument("recording_id")
@click.option("--public-url", default=None, help="Base URL that links carry [env RECORDKIT_PUBLIC_URL].")
@handle_errors
def recordings_retry_upload(data_dir: Path, as_json: bool, recording_id: str, public_url: str | None) -> None:
    """Deliver an ERRORED recording's kept files to its destination again, here and now.

    Retries with the server's backoff (RECORDKIT_UPLOAD_ATTEMPTS, RECORDKIT_UPLOAD_RETRY_BASE_SECONDS)
    and prints the outcome; exits 1 when it ends ERRORED again. The recording is leased to this
    command meanwhile, so a running server leaves it alone (and takes it over should this die)."""
    import threading
    import time

    from recordkit.domain.timefmt import now_ms
    from recordkit.jobs.supervisor import LEASE_MS
    from recordkit.leases import owner_id

    runtime = _runtime(data_dir=data_dir, public_url=public_url)
    store = runtime.store
    stop = threading.Event()
    try:
        delivery = runtime.delivery()
        owner = owner_id()
        if store.recording_by_id(recording_id) is None:
            raise click.ClickException(f"recording {recording_id} not found")
        store.hold_lease(recording_id, owner, now_ms() + LEASE_MS)  # before it is UPLOADING again

        def renew() -> None:
            while not stop.wait(LEASE_MS / 3000):
                store.hold_lease(recording_id, owner, now_ms() + LEASE_MS)

        delivery.reopen(recording_id)
        threading.Thread(target=renew, daemon=True).start()

        def wait(seconds: float) -> None:
            if not as_json:
                click.echo(f"delivery failed, trying again in {seconds:.1f} s", err=True)
            time.sleep(seconds)

        outcome = delivery.run_to_end(recording_id, sleep=wait)
        final = store.recording_by_id(recording_id)
    finally:
        stop.set()
        runtime.close()
    assert final is not None
    delivered = dict(outcome.delivered or {})
    payload = {
        "recording_id": recording_id,
        "status": final.status,
        "error": final.error,
        "delivered": delivered,
        "download_url": final.download_url,
    }
    lines = [f"{recording_id}: {final.status}"]
    lines += [f"  delivered: {where}" for where in sorted(delivered.values())]
    if final.download_url:
        lines.append(f"  download_url: {final.download_url}")
    if final.error:
        lines.append(f"  error: {final.error}")
    _emit(as_json, payload, "\n".join(lines))
    if final.status != "UPLOADED":
        sys.exit(1)


# -- storage: check a storage_config ---------------------------------------------------------------


@main.group()
def storage() -> None:
    """Storage destinations (storage_config)."""


@storage.command("check")
@json_option
@click.option("--config", "config_json", default=None, help="The storage_config as JSON.")
@click.option(
    "--config-file",
    type=click.File("r"),
    default=None,
    help="A file holding the storage_config JSON ('-': standard input; keeps secrets off the command line).",
)
@click.option("--no-probe", is_flag=True, help="Only check the fields; do not write and delete a probe object.")
@handle_errors
def storage_check(as_json: bool, config_json: str | None, config_file: Any, no_probe: bool) -> None:
    """Check a storage_config, then write and delete a probe object at its destination.

    Endpoints come from RECORDKIT_*_ENDPOINT_URL as for the server. Exits 1 on failure; messages
    name the field or the destination, never a secret."""
    from recordkit.destinations.factory import open_destination
    from recordkit.jobs.delivery import probe_storage

    if (config_json is None) == (config_file is None):
        raise click.UsageError("give exactly one of --config and --config-file")
    text = config_json if config_json is not None else config_file.read()
    try:
        config = json.loads(text)
    except ValueError:
        raise click.ClickException("storage_config: not valid JSON") from None
    if isinstance(config, dict) and isinstance(config.get("storage_config"), dict):
        config = config["storage_config"]  # a whole recording_config is fine too
    endpoints = Settings.from_env().endpoints()
    try:
        described = open_destination(config, endpoints).describe() if no_probe else probe_storage(config, endpoints)
    except RecordKitError as exc:
        if as_json:
            from recordkit.api.errors import status_of  # the API's table: the same status as a start would answer

            click.echo(json.dumps({"ok": False, "status": status_of(exc), "error": exc.message}))
            sys.exit(1)
        raise click.ClickException(exc.message) from None
    _emit(
        as_json,
        {"ok": True, "destination": described, "probed": not no_probe},
        f"ok: {described}" + ("" if no_probe else " (wrote and deleted a probe object)"),
    )


# -- secrets: encryption keys ----------------------------------------------------------------------


@main.group()
def secrets() -> None:
    """The keys that encrypt storage secrets at rest (RECORDKIT_SECRET_KEYS)."""


@secrets.command("generate-key")
def secrets_generate_key() -> None:
    """Print a new key for RECORDKIT_SECRET_KEYS (put it first; keep the old one after it until rotated)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@secrets.command("rotate")
@data_dir_option
@json_option
@handle_errors
def secrets_rotate(data_dir: Path, as_json: bool) -> None:
    """Re-encrypt every stored secret under the first key of RECORDKIT_SECRET_KEYS.

    Then the older keys can be dropped from RECORDKIT_SECRET_KEYS. Safe to run while the server
    runs, and again. Exits 1 if some secret could not be decrypted with any configured key."""
    store = _store(data_dir)
    try:
        counts = store.rotate_secrets()
    finally:
        store.close()
    human = f"re-encrypted: {counts['recordings']} recordings, {counts['meetings']} meetings, {counts['apps']} apps"
    if counts["unreadable"]:
        human += f"\nunreadable with the configured keys: {counts['unreadable']}"
    _emit(as_json, counts, human)
    if counts["unreadable"]:
        sys.exit(1)


main.add_command(webhooks_group)


@main.command()
@data_dir_option
@json_option
@click.option("--host", default=None, help=f"Where serve would listen [env RECORDKIT_HOST; default: {DEFAULT_HOST}].")
@click.option("--port", default=None, type=int, help=f"Its port [env RECORDKIT_PORT; default: {DEFAULT_PORT}].")
@handle_errors
def doctor(data_dir: Path, as_json: bool, host: str | None, port: int | None) -> None:
    """Check this machine: ffmpeg, packages, data dir, database, port; say what is missing and how to get it."""
    from recordkit.cli.doctor import report, run_checks

    findings = run_checks(command_settings(data_dir=data_dir, host=host, port=port))
    report(findings, as_json)
    if not all(f.ok for f in findings):
        sys.exit(1)


register_remote_recordings(recordings)  # list, get, start, pause, resume, stop, download (over HTTP)
main.add_command(sync_command)
main.add_command(migrate_command)
main.add_command(copy_database_command)
add_database_url_option(main)  # --database-url on every command that takes --data-dir (last)


if __name__ == "__main__":
    main()
