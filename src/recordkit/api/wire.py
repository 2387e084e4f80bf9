"""Domain objects to the JSON shapes Cloudflare's API returns (snake_case, ISO times with ms + Z)."""

from __future__ import annotations

from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.query import Page

encode = msgspec.json.Encoder().encode

meeting = render.meeting
app = render.app


def paging(page: Page, total: int, returned: int) -> dict[str, int]:
    start, end = page.window(total, returned)
    return {"total_count": total, "start_offset": start, "end_offset": end}


def ok(data: Any) -> bytes:
    return encode({"success": True, "data": data})


def ok_list(data: list[Any], page: Page, total: int) -> bytes:
    return encode({"success": True, "data": data, "paging": paging(page, total, len(data))})


def ok_raw_list(items: list[bytes], page: Page, total: int) -> bytes:
    """A list whose items are already JSON (rendered by the store at write time)."""
    return encode({"success": True, "data": [msgspec.Raw(i) for i in items], "paging": paging(page, total, len(items))})


def error(status: int, message: str) -> bytes:
    return encode({"success": False, "error": {"code": status, "message": message}})


AUTH_ERROR = encode(
    {
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
        "result": None,
    }
)
