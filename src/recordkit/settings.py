"""One Settings object, built once at start-up (from flags and the environment) and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from recordkit.domain.ratelimit import Rate
from recordkit.errors import InvalidRequest

if TYPE_CHECKING:
    from recordkit.destinations.factory import Endpoints

DEFAULT_DATA_DIR = "./recordkit-data"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
MAX_BODY_BYTES = 1_048_576
DEFAULT_UPLOAD_ATTEMPTS = 5
DEFAULT_UPLOAD_RETRY_BASE_SECONDS = 2.0
DEFAULT_UPLOAD_RETRY_MAX_SECONDS = 300.0

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting whose value cannot work; the message names it."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return default


def _on_off(value: str | None, name: str, default: bool) -> bool:
    """A switch that refuses what it does not understand (a typo must not leave it in a surprising state)."""
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{name}: must be on or off")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str | None = field(default=None, repr=False)  # postgresql://...; None: SQLite in data_dir
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    public_url: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    log_json: bool = False
    download_ttl_seconds: int = 7 * 86400
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    run_jobs: bool = True
    retention_interval_seconds: float = 60.0
    # Destinations (a recording's storage_config): the operator's endpoints, never the user's.
    aws_endpoint_url: str | None = None
    digitalocean_endpoint_url: str | None = None
    azure_endpoint_url: str | None = None
    gcs_endpoint_url: str | None = None
    sftp_known_hosts: str | None = None
    # The address policy (recordkit.security.netpolicy): may a recording's url, an SFTP host and a
    # webhook URL be loopback, private or link-local? Off in production; local development and tests.
    allow_private_network: bool = False
    # Delivery to a destination: attempts, exponential backoff with jitter (capped).
    upload_attempts: int = DEFAULT_UPLOAD_ATTEMPTS
    upload_retry_base_seconds: float = DEFAULT_UPLOAD_RETRY_BASE_SECONDS
    upload_retry_max_seconds: float = DEFAULT_UPLOAD_RETRY_MAX_SECONDS
    storage_preflight: bool = False
    # The RecordKit bucket: the local folder under the data dir, or S3-compatible storage.
    bucket_url: str | None = None
    bucket_endpoint_url: str | None = None
    bucket_region: str | None = None
    bucket_access_key: str | None = field(default=None, repr=False)
    bucket_secret: str | None = field(default=None, repr=False)
    # Per-token request rates (REQUESTS/SECONDS, or "off"), as RealtimeKit documents them.
    rate_limit_recordings: str = "1000/60"
    rate_limit_other: str = "250/10"
    # Webhooks: per-attempt timeout; retries with exponential backoff and jitter (capped at 600 s).
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: float = 2.0
    webhook_max_attempts: int = 12
    # Operations (recordkit.ops): GET /metrics on or off, and the bearer token it then asks for
    # (none: open); where the worker processes of `serve --workers N` share their metrics.
    metrics: bool = True
    metrics_token: str | None = field(default=None, repr=False)
    metrics_dir: Path | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "recordkit.sqlite3"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def bucket_dir(self) -> Path:
        return self.data_dir / "bucket"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def base_url(self) -> str:
        """The scheme and host that signed links carry (``--public-url``, else where we listen)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def endpoints(self) -> Endpoints:
        """The destinations' endpoints (SettingsError naming the variable when one is not an http(s) URL)."""
        from recordkit.destinations.factory import Endpoints

        try:
            return Endpoints(
                aws=self.aws_endpoint_url,
                digitalocean=self.digitalocean_endpoint_url,
                azure=self.azure_endpoint_url,
                gcs=self.gcs_endpoint_url,
                sftp_known_hosts=self.sftp_known_hosts,
                sftp_allow_private=self.allow_private_network,
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``RECORDKIT_*`` variables; explicit overrides (CLI flags) win when not None."""
        env = os.environ if env is None else env

        def opt(name: str) -> str | None:
            return env.get(name) or None

        base = cls(
            data_dir=Path(env.get("RECORDKIT_DATA_DIR", DEFAULT_DATA_DIR)),
            database_url=opt("RECORDKIT_DATABASE_URL"),
            host=env.get("RECORDKIT_HOST", DEFAULT_HOST),
            port=int(env.get("RECORDKIT_PORT", DEFAULT_PORT)),
            secret_keys=tuple(k.strip() for k in env.get("RECORDKIT_SECRET_KEYS", "").split(",") if k.strip()),
            public_url=opt("RECORDKIT_PUBLIC_URL"),
            max_body_bytes=int(env.get("RECORDKIT_MAX_BODY_BYTES", MAX_BODY_BYTES)),
            log_json=_flag(env.get("RECORDKIT_LOG_JSON"), False),
            download_ttl_seconds=int(env.get("RECORDKIT_DOWNLOAD_TTL_SECONDS", 7 * 86400)),
            ffmpeg=env.get("RECORDKIT_FFMPEG", "ffmpeg"),
            ffprobe=env.get("RECORDKIT_FFPROBE", "ffprobe"),
            run_jobs=env.get("RECORDKIT_RUN_JOBS", "1").lower() not in ("0", "false", "no"),
            retention_interval_seconds=float(env.get("RECORDKIT_RETENTION_INTERVAL_SECONDS", 60)),
            aws_endpoint_url=opt("RECORDKIT_AWS_ENDPOINT_URL"),
            digitalocean_endpoint_url=opt("RECORDKIT_DIGITALOCEAN_ENDPOINT_URL"),
            azure_endpoint_url=opt("RECORDKIT_AZURE_ENDPOINT_URL"),
            gcs_endpoint_url=opt("RECORDKIT_GCS_ENDPOINT_URL"),
            sftp_known_hosts=opt("RECORDKIT_SFTP_KNOWN_HOSTS"),
            allow_private_network=_flag(env.get("RECORDKIT_ALLOW_PRIVATE_NETWORK"), False),
            upload_attempts=int(env.get("RECORDKIT_UPLOAD_ATTEMPTS", DEFAULT_UPLOAD_ATTEMPTS)),
            upload_retry_base_seconds=float(
                env.get("RECORDKIT_UPLOAD_RETRY_BASE_SECONDS", DEFAULT_UPLOAD_RETRY_BASE_SECONDS)
            ),
            upload_retry_max_seconds=float(
                env.get("RECORDKIT_UPLOAD_RETRY_MAX_SECONDS", DEFAULT_UPLOAD_RETRY_MAX_SECONDS)
            ),
            storage_preflight=_flag(env.get("RECORDKIT_STORAGE_PREFLIGHT"), False),
            bucket_url=opt("RECORDKIT_BUCKET_URL"),
            bucket_endpoint_url=opt("RECORDKIT_BUCKET_ENDPOINT_URL"),
            bucket_region=opt("RECORDKIT_BUCKET_REGION"),
            bucket_access_key=opt("RECORDKIT_BUCKET_ACCESS_KEY"),
            bucket_secret=opt("RECORDKIT_BUCKET_SECRET"),
            rate_limit_recordings=env.get("RECORDKIT_RATE_LIMIT_RECORDINGS", "1000/60"),
            rate_limit_other=env.get("RECORDKIT_RATE_LIMIT_OTHER", "250/10"),
            webhook_timeout_seconds=float(env.get("RECORDKIT_WEBHOOK_TIMEOUT_SECONDS", 10)),
            webhook_retry_base_seconds=float(env.get("RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS", 2)),
            webhook_max_attempts=int(env.get("RECORDKIT_WEBHOOK_MAX_ATTEMPTS", 12)),
            metrics=_on_off(env.get("RECORDKIT_METRICS"), "RECORDKIT_METRICS", True),
            metrics_token=opt("RECORDKIT_METRICS_TOKEN"),
            metrics_dir=Path(env["RECORDKIT_METRICS_DIR"]) if env.get("RECORDKIT_METRICS_DIR") else None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in given:
            given["data_dir"] = Path(str(given["data_dir"]))
        settings = replace(base, **given)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """SettingsError naming the setting whose value cannot work."""
        self.rate_limits()
        if self.upload_attempts < 1:
            raise SettingsError("RECORDKIT_UPLOAD_ATTEMPTS: must be at least 1")
        if not 0 <= self.upload_retry_base_seconds <= self.upload_retry_max_seconds:
            raise SettingsError(
                "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS: must be between 0 and RECORDKIT_UPLOAD_RETRY_MAX_SECONDS"
            )
        if self.download_ttl_seconds < 1:
            raise SettingsError("RECORDKIT_DOWNLOAD_TTL_SECONDS: must be at least 1")
        if self.bucket_url is not None and not self.bucket_url.startswith("s3://"):
            raise SettingsError("RECORDKIT_BUCKET_URL: must be s3://bucket or s3://bucket/prefix")
        if self.webhook_max_attempts < 1:
            raise SettingsError("RECORDKIT_WEBHOOK_MAX_ATTEMPTS: must be at least 1")
        if not 0 <= self.webhook_retry_base_seconds <= 600:
            raise SettingsError("RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS: must be between 0 and 600")
        if not 0 < self.webhook_timeout_seconds <= 300:
            raise SettingsError("RECORDKIT_WEBHOOK_TIMEOUT_SECONDS: must be above 0 and at most 300")
        self.endpoints()

    def rate_limits(self) -> tuple[Rate | None, Rate | None]:
        """(recordings endpoints, the others); None: no limit."""
        try:
            return (
                Rate.parse(self.rate_limit_recordings, "RECORDKIT_RATE_LIMIT_RECORDINGS"),
                Rate.parse(self.rate_limit_other, "RECORDKIT_RATE_LIMIT_OTHER"),
            )
        except InvalidRequest as exc:
            raise SettingsError(exc.message) from None

    def to_env(self) -> dict[str, str]:
        """The environment that rebuilds these settings in a worker process."""
        env = {
            "RECORDKIT_RATE_LIMIT_RECORDINGS": self.rate_limit_recordings,
            "RECORDKIT_RATE_LIMIT_OTHER": self.rate_limit_other,
            "RECORDKIT_DATA_DIR": str(self.data_dir),
            "RECORDKIT_HOST": self.host,
            "RECORDKIT_PORT": str(self.port),
            "RECORDKIT_MAX_BODY_BYTES": str(self.max_body_bytes),
            "RECORDKIT_LOG_JSON": "1" if self.log_json else "0",
            "RECORDKIT_DOWNLOAD_TTL_SECONDS": str(self.download_ttl_seconds),
            "RECORDKIT_FFMPEG": self.ffmpeg,
            "RECORDKIT_FFPROBE": self.ffprobe,
            "RECORDKIT_RUN_JOBS": "1" if self.run_jobs else "0",
            "RECORDKIT_RETENTION_INTERVAL_SECONDS": str(self.retention_interval_seconds),
            "RECORDKIT_ALLOW_PRIVATE_NETWORK": "1" if self.allow_private_network else "0",
            "RECORDKIT_UPLOAD_ATTEMPTS": str(self.upload_attempts),
            "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": str(self.upload_retry_base_seconds),
            "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS": str(self.upload_retry_max_seconds),
            "RECORDKIT_STORAGE_PREFLIGHT": "1" if self.storage_preflight else "0",
            "RECORDKIT_WEBHOOK_TIMEOUT_SECONDS": str(self.webhook_timeout_seconds),
            "RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS": str(self.webhook_retry_base_seconds),
            "RECORDKIT_WEBHOOK_MAX_ATTEMPTS": str(self.webhook_max_attempts),
            "RECORDKIT_METRICS": "on" if self.metrics else "off",
        }
        if self.secret_keys:
            env["RECORDKIT_SECRET_KEYS"] = ",".join(self.secret_keys)
        optional = {
            "RECORDKIT_PUBLIC_URL": self.public_url,
            "RECORDKIT_DATABASE_URL": self.database_url,
            "RECORDKIT_AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "RECORDKIT_DIGITALOCEAN_ENDPOINT_URL": self.digitalocean_endpoint_url,
            "RECORDKIT_AZURE_ENDPOINT_URL": self.azure_endpoint_url,
            "RECORDKIT_GCS_ENDPOINT_URL": self.gcs_endpoint_url,
            "RECORDKIT_SFTP_KNOWN_HOSTS": self.sftp_known_hosts,
            "RECORDKIT_BUCKET_URL": self.bucket_url,
            "RECORDKIT_BUCKET_ENDPOINT_URL": self.bucket_endpoint_url,
            "RECORDKIT_BUCKET_REGION": self.bucket_region,
            "RECORDKIT_BUCKET_ACCESS_KEY": self.bucket_access_key,
            "RECORDKIT_BUCKET_SECRET": self.bucket_secret,
            "RECORDKIT_METRICS_TOKEN": self.metrics_token,
            "RECORDKIT_METRICS_DIR": str(self.metrics_dir) if self.metrics_dir else None,
        }
        env.update({k: v for k, v in optional.items() if v})
        return env
