"""Open the configured metadata store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recordkit.security.cipher import SecretCipher
from recordkit.settings import Settings, SettingsError
from recordkit.store.sqlite import SqliteRecordingStore

if TYPE_CHECKING:
    from recordkit.store.postgres import PostgresRecordingStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_cipher(settings: Settings) -> SecretCipher:
    return SecretCipher.from_key_file(settings.key_path, settings.secret_keys)


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(POSTGRES_SCHEMES)


def check_database_url(url: str | None) -> None:
    """SettingsError unless ``url`` is unset or a PostgreSQL URL whose driver is installed."""
    if not url:
        return
    if not is_postgres_url(url):
        raise SettingsError("RECORDKIT_DATABASE_URL: must be a postgresql://user:password@host:port/dbname URL")
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise SettingsError(
            "RECORDKIT_DATABASE_URL: PostgreSQL needs psycopg and psycopg-pool, which are not installed: "
            "pip install 'psycopg[binary]' psycopg-pool"
        ) from None


def open_store(settings: Settings) -> SqliteRecordingStore | PostgresRecordingStore:
    """PostgreSQL when ``settings.database_url`` is set, else the SQLite file in the data dir."""
    if settings.database_url:
        check_database_url(settings.database_url)
        from recordkit.store.postgres import PostgresRecordingStore

        return PostgresRecordingStore(
            settings.database_url, open_cipher(settings), pool_size=settings.database_pool_size
        )
    return SqliteRecordingStore(settings.database_path, open_cipher(settings))
