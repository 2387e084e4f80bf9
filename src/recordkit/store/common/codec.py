"""The row codec: domain objects <-> the stored row values, the same bytes in both stores.

A recording is kept as its wire rendering (``wire``), the non-default detail fields (``detail``)
and its storage secrets encrypted (``secrets``); recording configs keep their storage secrets
sealed under ``$secrets``. Mixed into each store (it needs nothing but ``cipher``), so a row
conversion is one method call, as in the hot loops of an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.models import DETAIL_DEFAULTS, DETAIL_FIELDS, Meeting, Recording, split_storage_config
from recordkit.domain.timefmt import parse_iso_ms
from recordkit.security.cipher import SecretCipher

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode


def to_json(value: Any) -> bytes | None:
    return None if value is None else _json_encode(value)


def from_json(value: bytes | str | None) -> Any:
    return None if value is None else _json_decode(value)


def _opt_ms(value: str | None) -> int | None:
    return None if value is None else parse_iso_ms(value, "time")


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class RowCodec:
    """Row conversions of meetings and recordings (columns as ``staging.MEETING_COLUMNS`` and
    ``staging.RECORDING_COLUMNS``); a store's dialect converts these values further if it must."""

    cipher: SecretCipher

    @staticmethod
    def _recording(rec_id: str, app_id: str, meeting_id: str, wire: bytes, detail: bytes | None) -> Recording:
        """A recording from its stored rendering and detail (secrets stay encrypted, unread)."""
        w = _json_decode(wire)
        d = _json_decode(detail) if detail else {}
        return Recording(
            id=rec_id,
            app_id=app_id,
            meeting_id=meeting_id,
            status=w["status"],
            invoked_ms=parse_iso_ms(w["invoked_time"], "invoked_time"),
            session_id=w["session_id"],
            started_ms=_opt_ms(w["started_time"]),
            stopped_ms=_opt_ms(w["stopped_time"]),
            download_url=w["download_url"],
            audio_download_url=w["audio_download_url"],
            download_url_expiry_ms=_opt_ms(w["download_url_expiry"]),
            file_size=w["file_size"],
            output_file_name=w["output_file_name"],
            recording_duration=w["recording_duration"],
            storage_config=w["storage_config"],
            **{k: d[k] for k in DETAIL_FIELDS if k in d},
        )

    def _seal(self, config: dict[str, Any] | None) -> bytes | None:
        """A recording config for storage: its storage secrets encrypted (under ``$secrets``)."""
        if config is None:
            return None
        storage = config.get("storage_config")
        if not isinstance(storage, dict):
            return to_json(config)
        public, secrets = split_storage_config(storage)
        if secrets:
            public = {**(public or {}), "$secrets": self.cipher.encrypt_json(secrets).decode()}
        return to_json({**config, "storage_config": public})

    def _unseal(self, stored: bytes | str | None) -> dict[str, Any] | None:
        config = from_json(stored)
        storage = config.get("storage_config") if isinstance(config, dict) else None
        if isinstance(storage, dict) and "$secrets" in storage:
            storage = dict(storage)
            sealed = storage.pop("$secrets")
            opened = self.cipher.decrypt_json(sealed.encode())
            config["storage_config"] = {**storage, **(opened if isinstance(opened, dict) else {})}
        return config  # type: ignore[no-any-return]

    def _meeting(self, row: Sequence[Any]) -> Meeting:
        """A meeting from its columns in the order of ``MEETING_READ``."""
        return Meeting(
            id=row[0],
            app_id=row[1],
            created_ms=row[2],
            updated_ms=row[3],
            title=row[4],
            status=row[5],
            record_on_start=bool(row[6]),
            live_stream_on_start=bool(row[7]),
            persist_chat=bool(row[8]),
            summarize_on_end=bool(row[9]),
            transcribe_on_end=_bool(row[10]),
            session_keep_alive_time_in_secs=row[11],
            recording_config=self._unseal(row[12]),
            ai_config=from_json(row[13]),
        )

    def meeting_row(self, m: Meeting) -> tuple[Any, ...]:
        """A meeting as ``staging.MEETING_COLUMNS`` (the importer stages these)."""
        return (
            m.id,
            m.app_id,
            m.title,
            (m.title or "").casefold(),
            m.status,
            int(m.record_on_start),
            int(m.live_stream_on_start),
            int(m.persist_chat),
            int(m.summarize_on_end),
            None if m.transcribe_on_end is None else int(m.transcribe_on_end),
            m.session_keep_alive_time_in_secs,
            self._seal(m.recording_config),
            to_json(m.ai_config),
            m.created_ms,
            m.updated_ms,
            render.meeting_json(m),
        )

    def recording_row(self, r: Recording, updated: int, app: int, wire: bytes | None = None) -> tuple[Any, ...]:
        """A recording as ``staging.RECORDING_COLUMNS`` (the importer stages these)."""
        secrets = self.cipher.encrypt_json(r.storage_secrets) if r.storage_secrets else None
        detail = {k: v for k in DETAIL_FIELDS if (v := getattr(r, k)) is not None and v != DETAIL_DEFAULTS.get(k, ...)}
        return (
            r.id,
            app,
            r.meeting_id,
            r.status,
            r.invoked_ms,
            r.download_url_expiry_ms,
            wire if wire is not None else render.recording_item_json(r),
            _json_encode(detail) if detail else None,
            secrets,
            updated,
        )


# The columns ``RowCodec._meeting`` reads, in its order (both schemas name them alike).
MEETING_READ = (
    "id, app_id, created_ms, updated_ms, title, status, record_on_start, live_stream_on_start, "
    "persist_chat, summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, "
    "recording_config, ai_config"
)
