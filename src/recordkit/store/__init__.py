"""Metadata stores behind the ``RecordingStore`` port: SQLite (default)."""
