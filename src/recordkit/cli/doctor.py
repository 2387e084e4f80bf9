"""``recordkit doctor``: can this machine serve and record? What is missing, and how to get it.

Checks, in order: the recorder's ffmpeg (and its version), each registered recorder, the packages
each destination and the PostgreSQL store need, the data dir (writable, free space), the database
(reachable, migrated) and the port ``serve`` would listen on. Nothing is created or changed: a data
dir or database that does not exist yet is reported as made by the first ``recordkit serve``.

Exit status 0 when every check passes, 1 otherwise; ``--json`` prints
``{"ok": bool, "checks": [{"name", "ok", "detail", "fix"}]}``.
"""

from __future__ import annotations

import importlib.util
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from recordkit.ops.health import MIN_FREE_BYTES  # the same floor as /readyz
from recordkit.settings import Settings

# (what needs it, import name, distribution to pip install)
PACKAGES = (
    ("storage_config type aws / digitalocean, the bucket on S3", "boto3", "boto3"),
    ("storage_config type azure", "azure.storage.blob", "azure-storage-blob"),
    ("storage_config type gcs", "google.cloud.storage", "google-cloud-storage"),
    ("storage_config type sftp", "paramiko", "paramiko"),
    ("--database-url postgresql://...", "psycopg", "psycopg[binary]"),
    ("--database-url postgresql://... (its pool)", "psycopg_pool", "psycopg-pool"),
)


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or broken
        return False


def check_ffmpeg(settings: Settings) -> Finding:
    from recordkit.recorder.binaries import find_ffmpeg

    found = find_ffmpeg(settings.ffmpeg)
    if found.path is None:
        if found.source == "RECORDKIT_FFMPEG":
            fix = "point RECORDKIT_FFMPEG at an ffmpeg, or unset it (then the PATH's or imageio-ffmpeg's is used)"
        else:
            fix = "pip install imageio-ffmpeg (or install ffmpeg on the PATH)"
        return Finding("ffmpeg", False, found.missing(), fix)
    try:
        done = subprocess.run([found.path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding(
            "ffmpeg", False, f"{found.describe()} does not run: {exc}", "set RECORDKIT_FFMPEG to a working ffmpeg"
        )
    first = done.stdout.splitlines()[0] if done.stdout else ""
    version = first.split(" Copyright")[0].removeprefix("ffmpeg version ").strip() or "unknown version"
    missing = [
        lib
        for lib in ("libx264", "libvpx", "libvorbis", "libopus", "libmp3lame")
        if f"--enable-{lib}" not in done.stdout
    ]
    if done.returncode != 0:
        return Finding(
            "ffmpeg", False, f"{found.describe()} exited {done.returncode}", "set RECORDKIT_FFMPEG to a working ffmpeg"
        )
    if missing:
        return Finding(
            "ffmpeg",
            False,
            f"{found.describe()}, {version}: built without {', '.join(missing)}",
            "use an ffmpeg with those encoders (unset RECORDKIT_FFMPEG to use imageio-ffmpeg's)",
        )
    return Finding("ffmpeg", True, f"{found.describe()}, version {version}")


def check_recorders(settings: Settings) -> list[Finding]:
    """Each registered recorder (``recorder/registry.py``): can it make recordings here?"""
    from recordkit.runtime import Runtime

    recorders = Runtime(settings).recorders
    out = []
    for name, recorder in recorders:
        role = "the default" if name == recorders.default else "named in a recording's config"
        if recorder.available():
            out.append(Finding(f"recorder {name}", True, f"{role}: {recorder.status()}"))
        else:
            fix = "make it available (the test card: see the ffmpeg check)"
            out.append(Finding(f"recorder {name}", False, f"{role}: {recorder.status()}", fix))
    return out


def check_packages() -> list[Finding]:
    out = []
    for needed_by, module, dist in PACKAGES:
        if _installed(module):
            out.append(Finding(f"package {dist}", True, f"installed ({needed_by})"))
        else:
            out.append(Finding(f"package {dist}", False, f"missing: needed by {needed_by}", f"pip install '{dist}'"))
    return out


def check_data_dir(data_dir: Path) -> Finding:
    """/readyz's check, on the data dir or, before the first serve, the folder it will be made in."""
    from recordkit.ops.health import data_dir_check

    folder = data_dir if data_dir.exists() else next((p for p in data_dir.parents if p.exists()), Path("."))
    if not folder.is_dir():
        return Finding("data_dir", False, f"{folder} is not a folder", "choose another --data-dir")
    check = data_dir_check(folder, MIN_FREE_BYTES)
    if not check.ok:
        fix = "free disk space" if "nearly full" in check.detail else "choose another --data-dir"
        return Finding("data_dir", False, check.detail, fix)
    state = "exists" if folder == data_dir else f"not made yet (recordkit serve makes it in {folder})"
    return Finding("data_dir", True, f"{data_dir} {state}, {check.detail}")


def check_database(settings: Settings) -> Finding:
    if settings.database_url is None and not settings.database_path.exists():
        return Finding("database", True, f"SQLite {settings.database_path}: not made yet (recordkit serve makes it)")
    from recordkit.ops.health import Readiness
    from recordkit.runtime import Runtime

    runtime = Runtime(settings)
    try:
        store = runtime.store
    except Exception as exc:
        return Finding(
            "database", False, f"cannot open: {_reason(exc)}", "check --database-url / RECORDKIT_DATABASE_URL"
        )
    try:
        report = Readiness(store.ops_queries(), None).check()
    finally:
        runtime.close()
    database, migrations = report.checks[0], report.checks[1]
    if not database.ok:
        return Finding("database", False, database.detail, "check --database-url / RECORDKIT_DATABASE_URL")
    if not migrations.ok:
        return Finding("database", False, f"{database.detail}: {migrations.detail}", "recordkit migrate")
    return Finding("database", True, f"{database.detail}, {migrations.detail}")


def check_port(settings: Settings) -> Finding:
    """Bind the port as ``serve`` does (exclusively, recordkit.cli.server.listen), then let it go."""
    from recordkit.cli.server import listen

    try:
        listen(settings).close()
    except click.ClickException as exc:
        return Finding("port", False, exc.message, "choose another --port, or stop what holds it")
    return Finding("port", True, f"{settings.host}:{settings.port} is free")


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else f"{type(exc).__name__}: {exc}"


def run_checks(settings: Settings) -> list[Finding]:
    return [
        check_ffmpeg(settings),
        *check_recorders(settings),
        *check_packages(),
        check_data_dir(settings.data_dir),
        check_database(settings),
        check_port(settings),
    ]


def report(findings: list[Finding], as_json: bool) -> None:
    import json

    ok = all(f.ok for f in findings)
    if as_json:
        click.echo(json.dumps({"ok": ok, "checks": [asdict(f) for f in findings]}))
        return
    for f in findings:
        mark = click.style("ok  ", fg="green") if f.ok else click.style("FAIL", fg="red", bold=True)
        click.echo(f"{mark} {f.name}: {f.detail}")
        if not f.ok and f.fix:
            click.echo(f"     fix: {f.fix}")
    click.echo("ready to serve and record" if ok else "not ready: see FAIL above")
