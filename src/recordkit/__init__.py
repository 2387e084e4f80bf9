"""RecordKit: a self-hostable implementation of Cloudflare RealtimeKit's Recordings API."""

__version__ = "0.1.0"
