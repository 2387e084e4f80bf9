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
from recordkit.api.http import KIT, json_response, query_params
from recordkit.domain.services import Services
from recordkit.errors import NotImplementedYet

MEETINGS = f"{KIT}/{{app_id}}/meetings"
MEETING = f"{MEETINGS}/{{meeting_id}}"


def meeting_routes(services: Services, max_body: int) -> list[BaseRoute]:
    store, access, meetings = services.store, services.access, services.meetings

    async def create_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        # Who may do it and where, before the body is read (401, 403, 404, then 413 / 400).
        access.check_account(principal, p["account_id"])
        access.require_write(principal)
        access.app_for(principal, p["account_id"], p["app_id"])
        raw = await read_body(request, max_body)
        args = (principal, p["account_id"], p["app_id"], raw)
        addresses = meetings.addresses
        if addresses is not None and addresses.resolves:  # an SFTP host is looked up: off the loop
            meeting = await run_in_threadpool(meetings.create, *args)
        else:
            meeting = meetings.create(*args)
        return json_response(wire.ok(wire.meeting(meeting)), status=201)

    async def list_meetings(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        rows, total, page = meetings.list(principal, p["account_id"], p["app_id"], query_params(request))
        return json_response(wire.ok_raw_list(rows, page, total))

    async def get_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        meeting = meetings.get(principal, p["account_id"], p["app_id"], p["meeting_id"])
        return json_response(wire.ok(wire.meeting(meeting)))

    async def change_meeting(request: Request) -> Response:
        principal = authenticate(request, store)
        access.check_account(principal, request.path_params["account_id"])
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
