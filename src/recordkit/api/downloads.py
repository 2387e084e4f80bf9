"""Serving a file of the local bucket behind a signed link: whole, or the byte ranges asked for.

Starlette's ``FileResponse`` does the work (``Range``, ``If-Range``, multipart ranges, ``HEAD``);
this module only keeps its answers to bad ranges in RecordKit's terms (SPEC §1):

- a ``Range`` header that does not parse (``Range: foo``, ``bytes=5-2``, an empty one) is ignored,
  as RFC 9110 §14.2 lets a server do, and the whole file is sent (200), instead of Starlette's
  plain-text 400;
- a range that starts past the end of the file is a 416 in the error envelope, with
  ``content-range: bytes */{size}``.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response

from recordkit.api import wire

JSON = "application/json"


class DownloadResponse(FileResponse):
    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []  # not a range we understand: the whole file


def serve_file(request: Request, path: Path) -> Response:
    stat = os.stat(path)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = DownloadResponse(path, media_type=media_type, filename=path.name, stat_result=stat)
    http_range = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if http_range is not None and (if_range is None or response._should_use_range(if_range)):
        try:
            DownloadResponse._parse_range_header(http_range, stat.st_size)
        except RangeNotSatisfiable:
            return Response(
                wire.error(416, f"range: not satisfiable for a file of {stat.st_size} bytes"),
                status_code=416,
                media_type=JSON,
                headers={"content-range": f"bytes */{stat.st_size}"},
            )
    return response
