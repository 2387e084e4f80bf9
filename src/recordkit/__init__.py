"""RecordKit: a self-hostable implementation of Cloudflare RealtimeKit's Recordings API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from recordkit.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    """``recordkit.Client`` / ``recordkit.AsyncClient``, imported on first use (the server never needs them)."""
    if name in ("Client", "AsyncClient"):
        from recordkit import client

        return getattr(client, name)
    raise AttributeError(f"module 'recordkit' has no attribute {name!r}")
