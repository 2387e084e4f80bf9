"""``AsyncClient`` and its resources, one module each.

``_async/`` is the source; ``_sync/`` is generated from it by ``clients/python/scripts/generate_sync.py``
(docs/client.md, "Maintainers")."""

from recordkit.client._async.client import AsyncClient

__all__ = ["AsyncClient"]
