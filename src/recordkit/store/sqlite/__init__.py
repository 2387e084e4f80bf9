"""The embedded SQLite store (the default)."""

from recordkit.store.sqlite.store import SqliteRecordingStore

__all__ = ["SqliteRecordingStore"]
