"""What every route module shares: the RealtimeKit path prefix, query parameters, JSON responses."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

JSON: Final = "application/json"
KIT: Final = "/client/v4/accounts/{account_id}/realtime/kit"


def query_params(request: Request) -> dict[str, list[str]]:
    """The query string as a name -> every value given, in order (``status=A&status=B``)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)
