"""Recently served list pages, valid while their app's data version is unchanged.

Every write that changes what an app's recording list shows bumps ``apps.version`` in the same
transaction (triggers, and the importer once per batch; migration 0003). A page is served from
here only when the version read for this request equals the one it was computed under, so a
cached page is never stale, whichever process wrote. Pages that depend on the clock
(``expired``) are never cached. Bounded; least recently stored pages go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")

Key = tuple[object, ...]


def params_key(app_id: str, params: Mapping[str, Sequence[str]]) -> Key:
    """The cache key of a list request: its app and every query parameter with all its values."""
    return (app_id, *sorted((k, tuple(v)) for k, v in params.items()))


class PageCache(Generic[V]):
    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[Key, tuple[int, V]] = OrderedDict()

    def get(self, key: Key, version: int) -> V | None:
        hit = self._pages.get(key)
        if hit is None or hit[0] != version:
            return None
        return hit[1]

    def put(self, key: Key, version: int, value: V) -> None:
        if self.capacity <= 0:
            return
        self._pages[key] = (version, value)
        self._pages.move_to_end(key)
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def cacheable(params: Mapping[str, Sequence[str]]) -> bool:
    """Pages of ``expired`` queries change with the clock alone: never cached."""
    return "expired" not in params
