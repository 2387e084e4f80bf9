"""Archiving recordings from a RealtimeKit-compatible server into this data dir (``recordkit sync``)."""
