"""Test data on the wire: times as the API writes them, and JSON Lines files for ``recordkit import``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(t: datetime | int) -> str:
    """``2019-12-27T18:11:19.117Z`` for a datetime, or milliseconds since the epoch (years 1 to
    9999), written independently of recordkit.domain.timefmt."""
    dt = EPOCH + timedelta(milliseconds=t) if isinstance(t, int) else t.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond // 1000:03d}Z"
    )


def write_jsonl(path: Path, rows: list[dict[str, Any]], extra_lines: dict[int, str] | None = None) -> Path:
    """One JSON object a line; ``extra_lines`` puts raw text at 1-based line numbers."""
    lines = [json.dumps(r) for r in rows]
    for number, text in sorted((extra_lines or {}).items()):
        lines.insert(number - 1, text)
    path.write_text("".join(line + "\n" for line in lines))
    return path
