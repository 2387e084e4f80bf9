"""The PostgreSQL store (``--database-url postgresql://...``; the ``postgres`` extra)."""

from recordkit.store.postgres.store import PostgresRecordingStore

__all__ = ["PostgresRecordingStore"]
