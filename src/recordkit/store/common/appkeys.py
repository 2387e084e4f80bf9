"""The app's compact key (``apps.seq``) in the recordings tables, cached: ids never change."""

from __future__ import annotations

from recordkit.errors import NotFound


class AppKeys:
    """Mixed into each store, which reads a key it has not seen yet (``_read_app_seq``)."""

    _app_seqs: dict[str, int]

    def _read_app_seq(self, app_id: str) -> int | None:
        raise NotImplementedError

    def app_seq(self, app_id: str) -> int:
        """The app's compact key; NotFound for an unknown app."""
        seq = self._app_seqs.get(app_id)
        if seq is None:
            found = self._read_app_seq(app_id)
            if found is None:
                raise NotFound(f"app {app_id} not found")
            seq = self._app_seqs[app_id] = found
        return seq
