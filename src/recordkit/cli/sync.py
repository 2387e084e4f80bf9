"""``recordkit sync``: archive recordings from Cloudflare RealtimeKit (or any compatible server) into this data dir."""

from __future__ import annotations

import fcntl
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recordkit.cli.database import command_settings
from recordkit.cli.remote import CLOUDFLARE_API, api_base, echo_json, interactive
from recordkit.settings import DEFAULT_DATA_DIR, Settings, SettingsError

if TYPE_CHECKING:  # the client and the archiver load when the command runs, not with every command
    from recordkit.client import Client, RecordKitClientError
    from recordkit.sync.archiver import Problem, SyncReport

STATUS_CHOICES = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")


@click.command("sync")
@click.option(
    "--from-url",
    envvar="RECORDKIT_SYNC_FROM_URL",
    default=CLOUDFLARE_API,
    show_default=True,
    help="The upstream API (Cloudflare's, or a RealtimeKit-compatible server: http://host:port is enough).",
)
@click.option(
    "--from-token",
    envvar=["RECORDKIT_SYNC_FROM_TOKEN", "CLOUDFLARE_API_TOKEN"],
    default=None,
    help="Upstream API token [env RECORDKIT_SYNC_FROM_TOKEN, then CLOUDFLARE_API_TOKEN].",
)
@click.option(
    "--from-account",
    envvar=["RECORDKIT_SYNC_FROM_ACCOUNT", "CLOUDFLARE_ACCOUNT_ID"],
    default=None,
    help="Upstream account id [env RECORDKIT_SYNC_FROM_ACCOUNT, then CLOUDFLARE_ACCOUNT_ID].",
)
@click.option(
    "--from-app", envvar="RECORDKIT_SYNC_FROM_APP", default=None, help="Upstream app id [env RECORDKIT_SYNC_FROM_APP]."
)
@click.option(
    "--data-dir",
    envvar="RECORDKIT_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The RecordKit data dir to archive into (a server may be running on it).",
)
@click.option(
    "--to-account", default=None, help="Destination account id (default: the upstream's; created if missing)."
)
@click.option("--to-app", default=None, help="Destination app id (default: the upstream's; created if missing).")
@click.option("--since", default=None, help="Only recordings invoked at or after this ISO-8601 date-time.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help="Only recordings in these statuses (repeat, or comma separated). Default: all.",
)
@click.option("--public-url", default=None, help="Base URL the archive's links carry [env RECORDKIT_PUBLIC_URL].")
@click.option(
    "--watch",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MINUTES",
    help="Run again every MINUTES minutes until interrupted.",
)
@click.option("--max-runs", type=click.IntRange(min=1), default=None, help="With --watch: stop after this many runs.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True, help="Seconds per request.")
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True, help="Retries per request.")
@click.option("--json", "as_json", is_flag=True, help="Print each run's summary as one JSON line.")
def sync_command(
    from_url: str,
    from_token: str | None,
    from_account: str | None,
    from_app: str | None,
    data_dir: Path,
    to_account: str | None,
    to_app: str | None,
    since: str | None,
    statuses: tuple[str, ...],
    public_url: str | None,
    watch: float | None,
    max_runs: int | None,
    timeout: float,
    max_retries: int,
    as_json: bool,
) -> None:
    """Archive an app's recordings (metadata, meetings and files) from RealtimeKit into this data dir.

    Keeps the upstream's account, app, meeting and recording ids. Files are downloaded before their
    links expire, checked against Content-Length and file_size, and stored in the RecordKit bucket;
    the archived recording's download_url is then RecordKit's own link. Progress is kept in
    sync-state.sqlite3 in the data dir: a rerun copies only what is new, an interrupted run resumes.
    Recordings whose files had already expired are reported (metadata is still archived).
    Exit status 1 when some recording could not be copied (it is tried again on the next run)."""
    import httpx

    from recordkit.client import Client, RecordKitClientError

    token, account = from_token, from_account
    missing = [
        name
        for name, value in (("--from-token", token), ("--from-account", account), ("--from-app", from_app))
        if not value
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or their environment variables)")
    assert token is not None and account is not None and from_app is not None
    wanted = _statuses(statuses)
    since_dt = _since(since)
    if max_runs is not None and watch is None:
        raise click.UsageError("--max-runs needs --watch")
    try:
        settings = command_settings(data_dir=data_dir, public_url=public_url)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    client = Client(
        token,
        base_url=api_base(from_url),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        max_retries=max_retries,
    )
    runs = 0
    last: SyncReport | None = None
    try:
        with _exclusive(settings.data_dir):
            archiver = _archiver(client, settings, account, from_app, to_account, to_app, wanted, since_dt, as_json)
            try:
                while True:
                    runs += 1
                    try:
                        last = _one_run(archiver, as_json)
                    except RecordKitClientError as exc:
                        if watch is None:
                            raise
                        _say(as_json, {"error": _message(exc)}, f"run {runs} failed: {_message(exc)}")
                    if watch is None or (max_runs is not None and runs >= max_runs):
                        break
                    if not as_json:
                        click.echo(f"next run in {watch:g} min (Ctrl-C to stop)", err=True)
                    time.sleep(watch * 60)
            finally:
                archiver.store.close()
                archiver.state.close()
    except KeyboardInterrupt:
        click.echo("interrupted; the next run resumes where this one stopped", err=True)
        sys.exit(130)
    except RecordKitClientError as exc:
        raise click.ClickException(_message(exc)) from None
    finally:
        client.close()
    if watch is None and last is not None and not last.ok:
        sys.exit(1)


def _message(exc: RecordKitClientError) -> str:
    from recordkit.client import RecordKitAPIError

    if isinstance(exc, RecordKitAPIError):
        return f"upstream answered HTTP {exc.status_code}: {exc.message}"
    return str(exc)


def _statuses(values: tuple[str, ...]) -> list[str] | None:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            status = part.strip().upper()
            if not status:
                continue
            if status not in STATUS_CHOICES:
                raise click.BadParameter(f"{part!r}: one of {', '.join(STATUS_CHOICES)}", param_hint="--status")
            out.append(status)
    return out or None


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date-time", param_hint="--since") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    """One sync at a time per data dir (the lock goes with the process, also on kill -9)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "sync.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(f"another recordkit sync is running on {data_dir}") from None
        yield


def _archiver(
    client: Client,
    settings: Settings,
    account: str,
    app: str,
    to_account: str | None,
    to_app: str | None,
    statuses: list[str] | None,
    since: datetime | None,
    as_json: bool,
) -> Any:
    from recordkit.domain.ids import check_account_id, check_app_id
    from recordkit.domain.timefmt import now_ms
    from recordkit.errors import RecordKitError
    from recordkit.runtime import Runtime
    from recordkit.sync.archiver import Archiver, Source, Target, ensure_target
    from recordkit.sync.state import SyncState

    # Reach the upstream app first: bad credentials or an unknown app stop here, before anything is created.
    client.realtime_kit.recordings.get_recordings(app, account_id=account, per_page=1)
    runtime = Runtime(settings)
    store = runtime.store
    try:
        target_app = check_app_id(to_app or app)
        existing = store.get_app(target_app)
        default_account = existing.account_id if existing is not None and to_app else account
        target = Target(check_account_id(to_account or default_account), target_app)
        name = _app_name(client, account, app)
        if ensure_target(store, target, name, now=now_ms()) and not as_json:
            hint = ["recordkit", "token", "create", "--account", target.account_id]
            hint += ["--data-dir", str(settings.data_dir.absolute())]  # the data dir that has the account
            click.echo(
                f"created account {target.account_id} / app {target.app_id} ({name}); "
                f"make a token with: {shlex.join(hint)}",
                err=True,
            )
        bucket = runtime.bucket
    except RecordKitError as exc:
        store.close()
        raise click.ClickException(exc.message) from None
    except BaseException:
        store.close()
        raise
    return Archiver(
        client,
        Source(client.base_url, account, app),
        target,
        store=store,
        bucket=bucket,
        state=SyncState(settings.data_dir),
        scratch=settings.data_dir / "sync-tmp",
        link_ttl_ms=settings.download_ttl_seconds * 1000,
        statuses=statuses,
        since=since,
    )


def _app_name(client: Client, account: str, app: str) -> str:
    """The upstream app's name for the destination app (a server without ``GET /apps/{id}`` gets a default)."""
    from recordkit.client import RecordKitAPIError

    try:
        found = client.realtime_kit.apps.get_app(app, account_id=account)
        if found.name:
            return found.name
    except RecordKitAPIError:
        pass  # not served there
    return f"archive of {app}"


def _one_run(archiver: Any, as_json: bool) -> SyncReport:
    if interactive(as_json):
        with RichReporter() as reporter:
            archiver.reporter = reporter
            report: SyncReport = archiver.run()
    else:
        archiver.reporter = _quiet()
        report = archiver.run()
    if as_json:
        echo_json({**report.as_dict(), "state": archiver.state.counts(archiver.key)})
    else:
        _summary(report, archiver.state.counts(archiver.key))
    return report


def _quiet() -> Any:
    from recordkit.sync.archiver import QuietReporter

    return QuietReporter()


def _say(as_json: bool, payload: dict[str, Any], human: str) -> None:
    if as_json:
        echo_json(payload)
    else:
        click.echo(human, err=True)


def _summary(report: SyncReport, totals: dict[str, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    table = Table(title="recordkit sync", show_header=True, header_style="bold")
    table.add_column("this run")
    table.add_column("", justify="right")
    rows = [
        ("looked at", report.listed),
        ("copied with files", report.copied),
        ("metadata only (no file)", report.metadata_only),
        ("not final upstream yet", report.pending),
        ("files expired upstream", report.expired),
        ("skipped (--status)", report.skipped),
        ("no longer upstream", report.gone),
        ("failed (retried next run)", report.failed),
        ("files / bytes", f"{report.files} / {report.bytes:,}"),
        ("links refreshed", report.links_refreshed),
        ("seconds", f"{report.seconds:.1f}"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)
    archived = ", ".join(f"{state} {n}" for state, n in sorted(totals.items()))
    console.print(f"archive so far: {archived or 'nothing yet'}", highlight=False)
    for problem in report.problems:
        console.print(f"[yellow]{problem.kind}[/yellow] {problem.recording_id}: {problem.message}", highlight=False)


class RichReporter:
    """Progress bars on stderr: the recordings, and the file being downloaded."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.recordings = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=self.console, transient=True
        )
        self.bytes = Progress(
            TextColumn("  {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._task: Any = None
        self._file: Any = None
        self._live: Any = None

    def __enter__(self) -> RichReporter:
        from rich.console import Group
        from rich.live import Live

        self._live = Live(Group(self.recordings, self.bytes), console=self.console, transient=True)
        self._live.__enter__()
        self._task = self.recordings.add_task("recordings", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def listing(self, total: int) -> None:
        self.recordings.update(self._task, total=total)

    def recording_done(self, recording_id: str, outcome: str) -> None:
        self.recordings.advance(self._task)

    def file_started(self, name: str, total: int | None) -> None:
        self._file = self.bytes.add_task(name, total=total)

    def file_progress(self, done: int, total: int | None) -> None:
        if self._file is not None:
            self.bytes.update(self._file, completed=done, total=total)

    def file_done(self) -> None:
        if self._file is not None:
            self.bytes.remove_task(self._file)
            self._file = None

    def problem(self, problem: Problem) -> None:
        pass  # listed in the summary
