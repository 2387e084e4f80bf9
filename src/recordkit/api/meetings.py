"""Routes of the meetings endpoints (SPEC §5): create (201), list (paged), get one.

``PUT`` / ``PATCH`` of a meeting (the SDK's ``replace_meeting_by_id`` / ``update_meeting_by_id``)
are not implemented: they answer 501 naming the operation, as every unimplemented RealtimeKit
path does, rather than the 405 a known path with another method would get.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from recordkit.api import wire
from recordkit.api.auth import authenticate
from recordkit.api.body import read_body
from recordkit.domain.service import RecordingsService
from recordkit.errors import NotImplementedYet
from recordkit.security.netpolicy import AddressPolicy
from recordkit.settings import Settings

JSON = "application/json"
KIT = "/client/v4/accounts/{account_id}/realtime/kit"
MEETINGS = f"{KIT}/{{app_id}}/meetings"
MEETING = f"{MEETINGS}/{{meeting_id}}"


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def meeting_routes(
    service: RecordingsService, settings: Settings, addresses: AddressPolicy | None = None
) -> list[BaseRoute]:
    store = service.store

    async def create_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        # Who may do it and where, before the body is read (401, 403, 404, then 413 / 400).
        service.check_account(principal, p["account_id"])
        service.require_write(principal)
        service.app_for(principal, p["account_id"], p["app_id"])
        raw = await read_body(request, settings.max_body_bytes)
        args = (principal, p["account_id"], p["app_id"], raw, addresses)
        if addresses is not None and addresses.resolves:  # an SFTP host is looked up: off the loop
            meeting = await run_in_threadpool(service.create_meeting, *args)
        else:
            meeting = service.create_meeting(*args)
        return _json(wire.ok(wire.meeting(meeting)), status=201)

    async def list_meetings(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        rows, total, page = service.list_meetings(principal, p["account_id"], p["app_id"], _params(request))
        return _json(wire.ok_raw_list(rows, page, total))

    async def get_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        meeting = service.get_meeting(principal, p["account_id"], p["app_id"], p["meeting_id"])
        return _json(wire.ok(wire.meeting(meeting)))

    async def change_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        service.check_account(principal, request.path_params["account_id"])
        operation = "replace_meeting_by_id" if request.method == "PUT" else "update_meeting_by_id"
        raise NotImplementedYet(
            f"RecordKit does not implement {request.method} .../meetings/{{meeting_id}} ({operation}) yet"
        )

    return [
        Route(MEETINGS, create_meeting, methods=["POST"]),
        Route(MEETINGS, list_meetings, methods=["GET"]),
        Route(MEETING, get_meeting, methods=["GET"]),
        Route(MEETING, change_meeting, methods=["PUT", "PATCH"]),
    ]
