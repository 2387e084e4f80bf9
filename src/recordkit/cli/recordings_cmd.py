"""``recordkit recordings list|get|start|pause|resume|stop|download``: a person's commands against a server.

They speak the API through the typed client (``recordkit.client``), to RecordKit or to Cloudflare:
``--url`` (env ``RECORDKIT_URL``, default ``http://127.0.0.1:8787``; a bare ``http://host:port``
gets ``/client/v4``), ``--token`` (``RECORDKIT_TOKEN``), ``--account`` (``RECORDKIT_ACCOUNT``),
``--app`` (``RECORDKIT_APP``). Tables for people; ``--json`` prints the API's objects as the wire
has them (a list: ``{"data": [...], "paging": {...}}``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from recordkit.cli.remote import DEFAULT_SERVER, api_base, echo_json, handle_client_errors, interactive

if TYPE_CHECKING:
    from recordkit.client import Client, Recording

F = TypeVar("F", bound=Callable[..., Any])

STATUSES = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")


def server_options(func: F) -> F:
    options = [
        click.option(
            "--url",
            envvar="RECORDKIT_URL",
            default=DEFAULT_SERVER,
            show_default=True,
            help="The server (RecordKit, or https://api.cloudflare.com/client/v4) [env RECORDKIT_URL].",
        ),
        click.option("--token", envvar="RECORDKIT_TOKEN", required=True, help="API token [env RECORDKIT_TOKEN]."),
        click.option(
            "--account", envvar="RECORDKIT_ACCOUNT", required=True, help="Account id [env RECORDKIT_ACCOUNT]."
        ),
        click.option("--app", envvar="RECORDKIT_APP", required=True, help="App id [env RECORDKIT_APP]."),
        click.option("--json", "as_json", is_flag=True, help="Print the API's JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _client(url: str, token: str, account: str) -> Client:
    from recordkit.client import Client, RetryPolicy

    # A refused connection fails at once (no server runs there: the error says how to start one);
    # timeouts, resets, 429 and 5xx are retried as usual.
    retry = RetryPolicy(max_retries=3, retry_refused=False)
    return Client(token, base_url=api_base(url), account_id=account, timeout=60.0, retry=retry)


def _wire(value: Any) -> Any:
    from recordkit.client.models import to_wire

    return to_wire(value)


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    from recordkit.client import format_time

    return format_time(value).replace("T", " ").removesuffix("Z")


def _size(value: float | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _show(rec: Recording, as_json: bool) -> None:
    """One recording: the wire JSON, or a two-column table."""
    if as_json:
        echo_json(_wire(rec))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("id", rec.id),
        ("status", rec.status),
        ("meeting", f"{rec.meeting.id} ({rec.meeting.title or 'untitled'})" if rec.meeting else ""),
        ("invoked", _when(rec.invoked_time)),
        ("started", _when(rec.started_time)),
        ("stopped", _when(rec.stopped_time)),
        ("duration", _duration(rec.recording_duration)),
        ("file", rec.output_file_name or ""),
        ("size", _size(rec.file_size)),
        ("download_url", rec.download_url or ""),
        ("audio_download_url", rec.audio_download_url or ""),
        ("link expires", _when(rec.download_url_expiry)),
    ]
    if rec.stop_reason is not None and rec.stop_reason.reason:
        rows.append(("stop reason", rec.stop_reason.reason))
    if rec.error:
        rows.append(("error", rec.error))
    for key, value in rows:
        if value:
            table.add_row(key, value)
    _console().print(table)


def _console() -> Any:
    """stdout; piped output is not cut to 80 columns."""
    import sys

    from rich.console import Console

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def register(group: click.Group) -> None:
    """Add the commands to the ``recordkit recordings`` group."""
    for command in (list_cmd, get_cmd, start_cmd, pause_cmd, resume_cmd, stop_cmd, download_cmd):
        group.add_command(command)


@click.command("list")
@server_options
@click.option("--meeting", "meeting_id", default=None, help="Only this meeting's recordings.")
@click.option("--status", "statuses", multiple=True, help="Only these statuses (repeat, or comma separated).")
@click.option("--since", "start_time", default=None, help="invoked_time at or after (ISO-8601).")
@click.option("--until", "end_time", default=None, help="invoked_time at or before (ISO-8601).")
@click.option("--search", default=None, help="Meeting or recording id, or part of the meeting title.")
@click.option("--expired/--not-expired", default=None, help="Only recordings whose link has (not) expired.")
@click.option("--sort", type=click.Choice(["asc", "desc"], case_sensitive=False), default="desc", show_default=True)
@click.option("--page", "page_no", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--all", "every", is_flag=True, help="Every page (ignores --page).")
@handle_client_errors
def list_cmd(
    url: str,
    token: str,
    account: str,
    app: str,
    as_json: bool,
    meeting_id: str | None,
    statuses: tuple[str, ...],
    start_time: str | None,
    end_time: str | None,
    search: str | None,
    expired: bool | None,
    sort: str,
    page_no: int,
    per_page: int,
    every: bool,
) -> None:
    """List the app's recordings (newest first), with the list endpoint's filters."""
    wanted = [s.strip().upper() for value in statuses for s in value.split(",") if s.strip()] or None
    filters: dict[str, Any] = {
        "meeting_id": meeting_id,
        "status": wanted,
        "start_time": start_time,
        "end_time": end_time,
        "search": search,
        "expired": expired,
        "sort_order": sort.upper(),
    }
    with _client(url, token, account) as client:
        recordings = client.realtime_kit.recordings
        if every:
            items = list(recordings.iter_recordings(app, per_page=100, **filters))
            from recordkit.client import Paging

            paging = Paging(total_count=len(items), start_offset=1 if items else 0, end_offset=len(items))
        else:
            page = recordings.get_recordings(app, page_no=page_no, per_page=per_page, **filters)
            items, paging = page.data, page.paging
    if as_json:
        echo_json({"data": [_wire(r) for r in items], "paging": _wire(paging)})
        return
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for name, justify in (
        ("id", "left"),
        ("status", "left"),
        ("meeting", "left"),
        ("invoked (UTC)", "left"),
        ("duration", "right"),
        ("size", "right"),
        ("link expires (UTC)", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name == "id")  # type: ignore[arg-type]
    for rec in items:
        title = (rec.meeting.title or "untitled") if rec.meeting is not None else ""
        table.add_row(
            rec.id,
            rec.status,
            title,
            _when(rec.invoked_time),
            _duration(rec.recording_duration),
            _size(rec.file_size),
            _when(rec.download_url_expiry),
        )
    console = _console()
    console.print(table)
    if paging.total_count:
        console.print(f"{paging.start_offset}-{paging.end_offset} of {paging.total_count}", highlight=False)
    else:
        console.print("no recordings", highlight=False)


@click.command("get")
@server_options
@click.argument("recording_id")
@handle_client_errors
def get_cmd(url: str, token: str, account: str, app: str, as_json: bool, recording_id: str) -> None:
    """Show one recording."""
    with _client(url, token, account) as client:
        rec = client.realtime_kit.recordings.get_recording(app, recording_id)
    _show(rec, as_json)


@click.command("start")
@server_options
@click.argument("meeting_id")
@click.option("--max-seconds", type=click.IntRange(60, 86400), default=None, help="Stop by itself after this long.")
@click.option("--video-codec", type=click.Choice(["H264", "VP8"]), default=None)
@click.option("--width", type=int, default=None)
@click.option("--height", type=int, default=None)
@click.option("--audio-codec", type=click.Choice(["AAC", "MP3"]), default=None)
@click.option("--channel", type=click.Choice(["mono", "stereo"]), default=None)
@click.option("--file-name-prefix", default=None)
@click.option("--allow-multiple", is_flag=True, help="Start even while the meeting has an active recording.")
@handle_client_errors
def start_cmd(
    url: str,
    token: str,
    account: str,
    app: str,
    as_json: bool,
    meeting_id: str,
    max_seconds: int | None,
    video_codec: str | None,
    width: int | None,
    height: int | None,
    audio_codec: str | None,
    channel: str | None,
    file_name_prefix: str | None,
    allow_multiple: bool,
) -> None:
    """Start recording a meeting; prints the new recording (INVOKED)."""
    video = {k: v for k, v in (("codec", video_codec), ("width", width), ("height", height)) if v is not None}
    audio = {k: v for k, v in (("codec", audio_codec), ("channel", channel)) if v is not None}
    with _client(url, token, account) as client:
        rec = client.realtime_kit.recordings.start_recording(
            app,
            meeting_id,
            max_seconds=max_seconds,
            video_config=video or None,
            audio_config=audio or None,
            file_name_prefix=file_name_prefix,
            allow_multiple_recordings=True if allow_multiple else None,
        )
    _show(rec, as_json)


def _act(action: str, help_text: str) -> click.Command:
    @click.command(action, help=help_text)
    @server_options
    @click.argument("recording_id")
    @click.option(
        "--wait",
        "wait_seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Then wait up to SECONDS for the recording to finish (UPLOADED or ERRORED)." if action == "stop" else None,
        hidden=action != "stop",
    )
    @handle_client_errors
    def command(
        url: str, token: str, account: str, app: str, as_json: bool, recording_id: str, wait_seconds: float | None
    ) -> None:
        with _client(url, token, account) as client:
            recordings = client.realtime_kit.recordings
            rec = recordings.pause_resume_stop_recording(app, recording_id, action)
            if wait_seconds is not None:
                rec = _wait_final(client, app, rec, wait_seconds, as_json)
        _show(rec, as_json)

    return command


def _wait_final(client: Client, app: str, rec: Recording, seconds: float, as_json: bool) -> Recording:
    deadline = time.monotonic() + seconds
    status = None
    if interactive(as_json):
        from rich.console import Console

        status = Console(stderr=True).status(f"{rec.id}: {rec.status}")
        status.start()
    try:
        while not rec.is_final:
            if time.monotonic() > deadline:
                raise click.ClickException(f"recording {rec.id} still {rec.status} after {seconds:g} s")
            time.sleep(0.5)
            rec = client.realtime_kit.recordings.get_recording(app, rec.id)
            if status is not None:
                status.update(f"{rec.id}: {rec.status}")
    finally:
        if status is not None:
            status.stop()
    return rec


pause_cmd = _act("pause", "Pause a recording (the paused span is left out of the file).")
resume_cmd = _act("resume", "Resume a paused recording.")
stop_cmd = _act("stop", "Stop a recording; with --wait, wait until its file is stored.")


@click.command("download")
@server_options
@click.argument("recording_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True),
    default=None,
    help="File to write, or folder to write into (ends with / or exists; created if missing). "
    "Default: the recording's file name, here.",
)
@click.option("--audio", is_flag=True, help="The audio export (audio_download_url) instead of the video.")
@handle_client_errors
def download_cmd(
    url: str, token: str, account: str, app: str, as_json: bool, recording_id: str, output: str | None, audio: bool
) -> None:
    """Download a recording's file (checked against its size), with a progress bar on a terminal."""
    with _client(url, token, account) as client:
        rec = client.realtime_kit.recordings.get_recording(app, recording_id)
        link = rec.audio_download_url if audio else rec.download_url
        if not link:
            what = "audio_download_url" if audio else "download_url"
            raise click.ClickException(f"recording {rec.id} ({rec.status}) has no {what}")
        name = _file_name(rec, link, audio)
        target = _target(output, name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise click.ClickException(f"{target.parent} is a file, not a folder: cannot write into it") from None
        except OSError as exc:
            raise click.ClickException(f"cannot make the folder {target.parent}: {exc.strerror or exc}") from None
        expected = None if audio else rec.file_size
        if interactive(as_json):
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            with Progress(*columns, transient=True) as progress:
                task = progress.add_task(name, total=int(expected) if expected else None)

                def tick(done: int, total: int | None) -> None:
                    progress.update(task, completed=done, total=total)

                got = client.download(link, target, expected_size=expected, on_progress=tick)
        else:
            got = client.download(link, target, expected_size=expected)
    if as_json:
        echo_json({"recording_id": rec.id, "path": got.path, "size": got.size, "content_type": got.content_type})
    else:
        click.echo(f"{got.path}: {got.size:,} bytes")


def _target(output: str | None, name: str) -> Path:
    """Where ``-o`` says to write: into a folder when the value ends with ``/`` or names an existing
    folder (the file keeps the server's name), else that file; no ``-o``: the server's name, here."""
    if not output:
        return Path(name)
    path = Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        return path / name
    return path


def _file_name(rec: Recording, link: str, audio: bool) -> str:
    from urllib.parse import unquote, urlsplit

    leaf = unquote(urlsplit(link).path.rsplit("/", 1)[-1])
    candidate = leaf if audio or not rec.output_file_name else rec.output_file_name
    candidate = Path(candidate).name  # never a path from the server
    if not candidate or candidate in (".", ".."):
        candidate = f"{rec.id}_audio" if audio else rec.id
    return candidate
