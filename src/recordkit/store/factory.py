"""Open the configured metadata store."""

from __future__ import annotations

from recordkit.security.cipher import SecretCipher
from recordkit.settings import Settings
from recordkit.store.sqlite import SqliteRecordingStore


def open_cipher(settings: Settings) -> SecretCipher:
    return SecretCipher.from_key_file(settings.key_path, settings.secret_keys)


def open_store(settings: Settings) -> SqliteRecordingStore:
    return SqliteRecordingStore(settings.database_path, open_cipher(settings))
