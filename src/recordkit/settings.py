"""One Settings object, built once at start-up (from flags and the environment) and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATA_DIR = "./recordkit-data"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
MAX_BODY_BYTES = 1_048_576


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(DEFAULT_DATA_DIR)
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``RECORDKIT_*`` variables; explicit overrides (CLI flags) win when not None."""
        env = os.environ if env is None else env
        base = cls(
            data_dir=Path(env.get("RECORDKIT_DATA_DIR", DEFAULT_DATA_DIR)),
            host=env.get("RECORDKIT_HOST", DEFAULT_HOST),
            port=int(env.get("RECORDKIT_PORT", DEFAULT_PORT)),
            secret_keys=tuple(k.strip() for k in env.get("RECORDKIT_SECRET_KEYS", "").split(",") if k.strip()),
            public_url=env.get("RECORDKIT_PUBLIC_URL") or None,
            max_body_bytes=int(env.get("RECORDKIT_MAX_BODY_BYTES", MAX_BODY_BYTES)),
            log_json=env.get("RECORDKIT_LOG_JSON", "").lower() in ("1", "true", "yes"),
            download_ttl_seconds=int(env.get("RECORDKIT_DOWNLOAD_TTL_SECONDS", 7 * 86400)),
            ffmpeg=env.get("RECORDKIT_FFMPEG", "ffmpeg"),
            ffprobe=env.get("RECORDKIT_FFPROBE", "ffprobe"),
            run_jobs=env.get("RECORDKIT_RUN_JOBS", "1").lower() not in ("0", "false", "no"),
            retention_interval_seconds=float(env.get("RECORDKIT_RETENTION_INTERVAL_SECONDS", 60)),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in given:
            given["data_dir"] = Path(str(given["data_dir"]))
        return replace(base, **given)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that rebuilds these settings in a worker process."""
        env = {
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
        }
        if self.secret_keys:
            env["RECORDKIT_SECRET_KEYS"] = ",".join(self.secret_keys)
        if self.public_url:
            env["RECORDKIT_PUBLIC_URL"] = self.public_url
        return env
