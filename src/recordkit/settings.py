"""One Settings object, built once at start-up (from flags and the environment) and passed down.

Every setting is declared once, as a field of ``Settings`` made with ``setting(...)``: its
``RECORDKIT_*`` variable, its kind (how its text is read and checked, what form it must have, how
it is written back), its default, and whether it is a secret. Everything else follows from those
declarations: ``Settings.from_env`` (the environment, then the flags), ``to_env``, the checks made
whenever a Settings is built, and the table in docs/settings.md (a test compares the two).

A value that cannot work is a ``SettingsError`` of one line naming the variable and the form it
must have (``RECORDKIT_UPLOAD_ATTEMPTS: must be a whole number >= 1 (got 'abc')``); a secret's
value is never repeated. An empty variable is an unset one: the default applies.

This is the one module of the server that reads ``os.environ`` (a unit test holds every other
module to that); the rest is given a Settings.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

from recordkit.domain.ratelimit import Rate
from recordkit.errors import InvalidRequest

if TYPE_CHECKING:
    from recordkit.domain.endpoints import Endpoints

T = TypeVar("T")

DEFAULT_DATA_DIR = "./recordkit-data"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
MAX_BODY_BYTES = 1_048_576
DEFAULT_UPLOAD_ATTEMPTS = 5
DEFAULT_UPLOAD_RETRY_BASE_SECONDS = 2.0
DEFAULT_UPLOAD_RETRY_MAX_SECONDS = 300.0
DEFAULT_DATABASE_POOL_SIZE = 10
DEFAULT_IMPORT_BATCH = 100_000

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_SHOWN_CHARS = 60  # of a bad value, in its message


class SettingsError(ValueError):
    """A setting whose value cannot work; the message (one line) names it."""


# -- kinds: how a setting's text is read, checked and written back ---------------------------------


def _anything(value: object) -> bool:
    return True


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How the text of one kind of setting becomes a value.

    ``form`` completes "must be ..." in messages and the docs; ``read`` turns the (stripped,
    non-empty) text into a value or raises ValueError; ``valid`` checks a value however it came
    (from the text, or from a flag or a caller); ``show`` writes a value back as text that ``read``
    accepts; ``types`` are the Python types a given value may have."""

    form: str
    read: Callable[[str], T]
    types: tuple[type, ...]
    show: Callable[[T], str] = str
    valid: Callable[[T], bool] = _anything

    def accept(self, value: object) -> T:
        """The value of ``value`` (text, or already a value); ValueError when it does not fit."""
        if isinstance(value, str):
            value = self.read(value.strip())
        elif float in self.types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in self.types:
            raise ValueError(value)
        if not isinstance(value, self.types):
            raise ValueError(value)
        checked = cast(T, value)
        if not self.valid(checked):
            raise ValueError(value)
        return checked


def _read_switch(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _show_switch(value: bool) -> str:
    return "on" if value else "off"


SWITCH = Kind[bool]("one of true/false/1/0/yes/no/on/off", _read_switch, (bool,), _show_switch)


def _read_int(text: str) -> int:
    if not text.lstrip("+-").isdigit():  # int() would take "1_000" and " 7 "; a setting is digits
        raise ValueError(text)
    return int(text)


def whole(minimum: int, maximum: int | None = None) -> Kind[int]:
    form = f"a whole number >= {minimum}" if maximum is None else f"a whole number from {minimum} to {maximum}"
    return Kind(form, _read_int, (int,), valid=lambda n: n >= minimum and (maximum is None or n <= maximum))


def _show_number(value: float) -> str:
    return repr(value)


def number(minimum: float, maximum: float | None = None, *, above: bool = False) -> Kind[float]:
    """A number of seconds (or another quantity): >= ``minimum`` (> when ``above``), <= ``maximum``."""
    low = f"> {minimum:g}" if above else f">= {minimum:g}"
    form = f"a number {low}" + ("" if maximum is None else f" and <= {maximum:g}")

    def valid(x: float) -> bool:
        return math.isfinite(x) and (x > minimum if above else x >= minimum) and (maximum is None or x <= maximum)

    return Kind(form, float, (float,), _show_number, valid)


def _read_text(text: str) -> str:
    return text


TEXT = Kind[str]("text", _read_text, (str,))


def _show_path(path: Path) -> str:
    """``./x`` for a relative path, as the CLI shows ``--data-dir``'s default."""
    text = str(path)
    return text if path.is_absolute() or text.startswith(".") else f"./{text}"


PATH = Kind[Path]("a path", Path, (Path,), _show_path)


def _is_http_url(text: str) -> bool:
    """http(s)://host[...]; ``{region}`` and ``{account}`` stand for parts of the host."""
    parts = urlsplit(text.replace("{region}", "r").replace("{account}", "a"))
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in text)


HTTP_URL = Kind[str]("an http(s) URL", _read_text, (str,), valid=_is_http_url)


def _is_s3_url(text: str) -> bool:
    return text.startswith("s3://") and bool(text[len("s3://") :].split("/", 1)[0])


S3_URL = Kind[str]("s3://bucket or s3://bucket/prefix", _read_text, (str,), valid=_is_s3_url)
POSTGRES_URL = Kind[str](
    "a postgresql://user:password@host:port/dbname URL",
    _read_text,
    (str,),
    valid=lambda text: text.startswith(("postgresql://", "postgres://")),
)


def _is_rate(text: str) -> bool:
    try:
        Rate.parse(text, "")
    except InvalidRequest:
        return False
    return True


RATE = Kind[str]("REQUESTS/SECONDS such as 1000/60, or off", _read_text, (str,), valid=_is_rate)


def _read_keys(text: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(",") if k.strip())


def _show_keys(keys: tuple[str, ...]) -> str:
    return ",".join(keys)


KEYS = Kind[tuple[str, ...]](
    "keys separated by commas",
    _read_keys,
    (tuple,),
    _show_keys,
    valid=lambda keys: all(isinstance(k, str) and k and "," not in k for k in keys),
)


# -- the declarations --------------------------------------------------------------------------------

_META = "recordkit.setting"


@dataclass(frozen=True)
class _Declared:
    env: str
    kind: Kind[Any]
    secret: bool


def setting(env: str, default: T, kind: Kind[T], *, secret: bool = False) -> T:
    """A Settings field read from ``env`` (a secret: never in its repr, nor in a message)."""
    return field(default=default, repr=not secret, metadata={_META: _Declared(env, kind, secret)})


def optional(env: str, kind: Kind[T], *, secret: bool = False) -> T | None:
    """A Settings field read from ``env``; None when unset."""
    return cast("T | None", field(default=None, repr=not secret, metadata={_META: _Declared(env, kind, secret)}))


@dataclass(frozen=True)
class Declaration:
    """One setting as declared: for the docs and for tests (``Settings.declarations()``)."""

    field: str
    env: str
    form: str
    default: str  # as the variable would say it; "" when unset
    secret: bool


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting("RECORDKIT_DATA_DIR", Path(DEFAULT_DATA_DIR), PATH)
    database_url: str | None = optional("RECORDKIT_DATABASE_URL", POSTGRES_URL, secret=True)  # None: SQLite
    database_pool_size: int = setting("RECORDKIT_DATABASE_POOL_SIZE", DEFAULT_DATABASE_POOL_SIZE, whole(1))
    host: str = setting("RECORDKIT_HOST", DEFAULT_HOST, TEXT)
    port: int = setting("RECORDKIT_PORT", DEFAULT_PORT, whole(1, 65535))
    workers: int = setting("RECORDKIT_WORKERS", 1, whole(1, 64))  # `serve`'s worker processes
    secret_keys: tuple[str, ...] = setting("RECORDKIT_SECRET_KEYS", (), KEYS, secret=True)
    public_url: str | None = optional("RECORDKIT_PUBLIC_URL", HTTP_URL)
    max_body_bytes: int = setting("RECORDKIT_MAX_BODY_BYTES", MAX_BODY_BYTES, whole(1))
    log_json: bool = setting("RECORDKIT_LOG_JSON", False, SWITCH)
    download_ttl_seconds: int = setting("RECORDKIT_DOWNLOAD_TTL_SECONDS", 7 * 86400, whole(1))
    ffmpeg: str = setting("RECORDKIT_FFMPEG", "ffmpeg", TEXT)
    run_jobs: bool = setting("RECORDKIT_RUN_JOBS", True, SWITCH)
    retention_interval_seconds: float = setting("RECORDKIT_RETENTION_INTERVAL_SECONDS", 60.0, number(0, above=True))
    import_batch: int = setting("RECORDKIT_IMPORT_BATCH", DEFAULT_IMPORT_BATCH, whole(1))  # rows a transaction
    # Destinations (a recording's storage_config): the operator's endpoints, never the user's.
    aws_endpoint_url: str | None = optional("RECORDKIT_AWS_ENDPOINT_URL", HTTP_URL)
    digitalocean_endpoint_url: str | None = optional("RECORDKIT_DIGITALOCEAN_ENDPOINT_URL", HTTP_URL)
    azure_endpoint_url: str | None = optional("RECORDKIT_AZURE_ENDPOINT_URL", HTTP_URL)
    gcs_endpoint_url: str | None = optional("RECORDKIT_GCS_ENDPOINT_URL", HTTP_URL)
    sftp_known_hosts: str | None = optional("RECORDKIT_SFTP_KNOWN_HOSTS", TEXT)
    # The address policy (recordkit.security.netpolicy): may a recording's url, an SFTP host and a
    # webhook URL be loopback, private or link-local? Off in production; local development and tests.
    allow_private_network: bool = setting("RECORDKIT_ALLOW_PRIVATE_NETWORK", False, SWITCH)
    # Delivery to a destination: attempts, exponential backoff with jitter (capped).
    upload_attempts: int = setting("RECORDKIT_UPLOAD_ATTEMPTS", DEFAULT_UPLOAD_ATTEMPTS, whole(1))
    upload_retry_base_seconds: float = setting(
        "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS", DEFAULT_UPLOAD_RETRY_BASE_SECONDS, number(0)
    )
    upload_retry_max_seconds: float = setting(
        "RECORDKIT_UPLOAD_RETRY_MAX_SECONDS", DEFAULT_UPLOAD_RETRY_MAX_SECONDS, number(0)
    )
    storage_preflight: bool = setting("RECORDKIT_STORAGE_PREFLIGHT", False, SWITCH)
    # The RecordKit bucket: the local folder under the data dir, or S3-compatible storage.
    bucket_url: str | None = optional("RECORDKIT_BUCKET_URL", S3_URL)
    bucket_endpoint_url: str | None = optional("RECORDKIT_BUCKET_ENDPOINT_URL", HTTP_URL)
    bucket_region: str | None = optional("RECORDKIT_BUCKET_REGION", TEXT)
    bucket_access_key: str | None = optional("RECORDKIT_BUCKET_ACCESS_KEY", TEXT, secret=True)
    bucket_secret: str | None = optional("RECORDKIT_BUCKET_SECRET", TEXT, secret=True)
    # Per-token request rates (REQUESTS/SECONDS, or "off"), as RealtimeKit documents them.
    rate_limit_recordings: str = setting("RECORDKIT_RATE_LIMIT_RECORDINGS", "1000/60", RATE)
    rate_limit_other: str = setting("RECORDKIT_RATE_LIMIT_OTHER", "250/10", RATE)
    # Webhooks: per-attempt timeout; retries with exponential backoff and jitter (capped at 600 s).
    webhook_timeout_seconds: float = setting("RECORDKIT_WEBHOOK_TIMEOUT_SECONDS", 10.0, number(0, 300, above=True))
    webhook_retry_base_seconds: float = setting("RECORDKIT_WEBHOOK_RETRY_BASE_SECONDS", 2.0, number(0, 600))
    webhook_max_attempts: int = setting("RECORDKIT_WEBHOOK_MAX_ATTEMPTS", 12, whole(1))
    # Operations (recordkit.ops): GET /metrics on or off, and the bearer token it then asks for
    # (none: open); where the worker processes of `serve --workers N` share their metrics.
    metrics: bool = setting("RECORDKIT_METRICS", True, SWITCH)
    metrics_token: str | None = optional("RECORDKIT_METRICS_TOKEN", TEXT, secret=True)
    metrics_dir: Path | None = optional("RECORDKIT_METRICS_DIR", PATH)

    def __post_init__(self) -> None:
        """Every value checked against its declaration (and normalized: a str path becomes a Path)."""
        for name, declared, default in _declared():
            value = getattr(self, name)
            if value is None and default is None:
                continue
            object.__setattr__(self, name, _accept(declared, value))
        self.check()

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
        from recordkit.domain.endpoints import Endpoints

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
        """Read the ``RECORDKIT_*`` variables (default: ``os.environ``); ``overrides`` (the CLI's
        flags, by field name) win when not None nor empty. SettingsError (one line) naming the
        variable whose value does not fit its declaration."""
        env = os.environ if env is None else env
        names = {name for name, _, _ in _declared()}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"Settings has no field {', '.join(sorted(unknown))}")
        given: dict[str, object] = {}
        for name, declared, _ in _declared():
            value = overrides.get(name)
            if value is None or value == "":
                value = env.get(declared.env, "").strip() or None
            if value is not None:
                given[name] = _accept(declared, value)
        made: Settings = cast(Any, cls)(**given)  # each value accepted by its declaration just above
        return made

    def to_env(self) -> dict[str, str]:
        """The variables that ``from_env`` reads back into these settings (unset ones left out)."""
        out: dict[str, str] = {}
        for name, declared, _ in _declared():
            value = getattr(self, name)
            if value is not None:
                text = declared.kind.show(value)
                if text:
                    out[declared.env] = text
        return out

    @classmethod
    def declarations(cls) -> tuple[Declaration, ...]:
        """Every setting as declared, in order (docs/settings.md lists them)."""
        return tuple(
            Declaration(
                field=name,
                env=declared.env,
                form=declared.kind.form,
                default="" if default is None else declared.kind.show(default),
                secret=declared.secret,
            )
            for name, declared, default in _declared()
        )

    def check(self) -> None:
        """The rules between settings (each one alone was checked against its declaration)."""
        if self.upload_retry_base_seconds > self.upload_retry_max_seconds:
            raise SettingsError(
                "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS: must be at most RECORDKIT_UPLOAD_RETRY_MAX_SECONDS "
                f"(got {self.upload_retry_base_seconds:g} > {self.upload_retry_max_seconds:g})"
            )

    def rate_limits(self) -> tuple[Rate | None, Rate | None]:
        """(recordings endpoints, the others); None: no limit."""
        try:
            return (
                Rate.parse(self.rate_limit_recordings, "RECORDKIT_RATE_LIMIT_RECORDINGS"),
                Rate.parse(self.rate_limit_other, "RECORDKIT_RATE_LIMIT_OTHER"),
            )
        except InvalidRequest as exc:
            raise SettingsError(exc.message) from None


@functools.cache
def _declared() -> tuple[tuple[str, _Declared, object], ...]:
    """(field name, declaration, default) of every setting, in order."""
    out: list[tuple[str, _Declared, object]] = []
    for f in fields(Settings):
        declared = f.metadata.get(_META)
        if isinstance(declared, _Declared):
            out.append((f.name, declared, None if f.default is MISSING else f.default))
    return tuple(out)


def _accept(declared: _Declared, value: object) -> object:
    try:
        accepted: object = declared.kind.accept(value)
    except (ValueError, TypeError):
        raise SettingsError(_message(declared, value)) from None
    return accepted


def _message(declared: _Declared, value: object) -> str:
    """``NAME: must be FORM (got VALUE)``: one line; a secret's value is not repeated."""
    message = f"{declared.env}: must be {declared.kind.form}"
    if declared.secret:
        return message
    shown = str(value).strip() if not isinstance(value, str) else value.strip()
    if len(shown) > _SHOWN_CHARS:
        shown = shown[:_SHOWN_CHARS] + "..."
    return f"{message} (got {shown!r})"


def data_dir_from_env() -> str:
    """``RECORDKIT_DATA_DIR`` as given (else ``./recordkit-data``), unchecked: for a hint a command prints."""
    return os.environ.get("RECORDKIT_DATA_DIR") or DEFAULT_DATA_DIR
