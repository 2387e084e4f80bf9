"""Routes of the recordings endpoints (SPEC §4): the list (the seed endpoint), start, track, get,
act, active; and of signed downloads (SPEC §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from recordkit.api import wire
from recordkit.api.auth import authenticate
from recordkit.api.body import decode, read_body
from recordkit.api.downloads import serve_file
from recordkit.api.http import KIT, json_response, query_params
from recordkit.blobs.local import LocalBlobStore
from recordkit.blobs.signing import FILES_PATH, UrlSigner
from recordkit.domain import render
from recordkit.domain.models import Principal, Recording
from recordkit.domain.ports import Clock
from recordkit.domain.recordings import ActionBody, StartRecordingBody, StartTrackBody
from recordkit.domain.services import Services
from recordkit.errors import Forbidden, Gone, NotFound

T = TypeVar("T")


def recording_detail(rec: Recording) -> dict[str, Any]:
    """A recording as start / get / PUT return it: the seed fields plus reasons and storage, and
    ``error``: why it ended ERRORED (the recorder's or the destination's message; never a secret)."""
    out = render.recording(rec)
    out["recording_duration"] = rec.recording_duration
    out["storage_config"] = rec.storage_config
    out["start_reason"] = rec.start_reason
    out["stop_reason"] = rec.stop_reason
    out["error"] = _error(rec)
    return out


def _error(rec: Recording) -> str | None:
    if rec.status == "ERRORED":
        return rec.error
    last = (rec.delivery or {}).get("last_error") if rec.status == "UPLOADING" else None
    return f"{last} (retrying)" if last else None


def _ok(data: Any, status: int = 200) -> Response:
    return json_response(wire.ok(data), status)


def recording_routes(services: Services, max_body: int) -> list[BaseRoute]:
    store, access, ops = services.store, services.access, services.recordings

    async def list_recordings(request: Request) -> Response:
        """The seed endpoint: rows come rendered from the store (or the page cache), joined as they are."""
        principal = authenticate(request, store)
        p = request.path_params
        rows, total, page = ops.list(principal, p["account_id"], p["app_id"], query_params(request))
        return json_response(wire.ok_raw_list(rows, page, total))

    async def writer(request: Request, kind: type[T]) -> tuple[Principal, dict[str, str], T]:
        """A write call: who calls (allowed to write in this app), its path, its body (checked last)."""
        principal = authenticate(request, store)
        p = request.path_params
        access.app_for(principal, p["account_id"], p["app_id"])
        access.require_write(principal)
        return principal, p, decode(await read_body(request, max_body), kind)

    async def start(request: Request) -> Response:
        principal, p, body = await writer(request, StartRecordingBody)
        if ops.blocking:  # a preflight or an address check takes network time: off the event loop
            rec = await run_in_threadpool(ops.start, principal, p["account_id"], p["app_id"], body)
        else:
            rec = ops.start(principal, p["account_id"], p["app_id"], body)
        return _ok(recording_detail(rec))

    async def start_track(request: Request) -> Response:
        principal, p, body = await writer(request, StartTrackBody)
        if ops.blocking:
            rec = await run_in_threadpool(ops.start_track, principal, p["account_id"], p["app_id"], body)
        else:
            rec = ops.start_track(principal, p["account_id"], p["app_id"], body)
        return _ok({"recording": recording_detail(rec)})

    async def get_one(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        return _ok(recording_detail(ops.get(principal, p["account_id"], p["app_id"], p["recording_id"])))

    async def act(request: Request) -> Response:
        principal, p, body = await writer(request, ActionBody)
        rec = ops.act(principal, p["account_id"], p["app_id"], p["recording_id"], body.action)
        return _ok(recording_detail(rec))

    async def active(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        return _ok(recording_detail(ops.active(principal, p["account_id"], p["app_id"], p["meeting_id"])))

    base = f"{KIT}/{{app_id}}/recordings"
    return [
        Route(base, list_recordings, methods=["GET"]),
        Route(base, start, methods=["POST"]),
        Route(f"{base}/track", start_track, methods=["POST"]),
        Route(f"{base}/active-recording/{{meeting_id}}", active, methods=["GET"]),
        Route(f"{base}/{{recording_id}}", get_one, methods=["GET"]),
        Route(f"{base}/{{recording_id}}", act, methods=["PUT"]),
    ]


def file_routes(bucket: LocalBlobStore | None, signer: UrlSigner, clock: Clock) -> list[BaseRoute]:
    """``GET /client/v4/files/{key}?expires=&signature=``: a signed URL, served with Range support.

    With the bucket on S3 (``bucket`` None) links point at S3 itself and this path serves nothing."""

    async def download(request: Request) -> Response:
        if bucket is None:
            raise NotFound("no such file")
        key = request.path_params["key"]  # percent-decoded once already, by the server (ASGI)
        signer.verify(key, request.query_params.get("expires"), request.query_params.get("signature"), clock())
        try:
            path: Path = bucket.path_of(key)
        except Exception:
            raise Forbidden("invalid download link") from None
        if not path.is_file():
            raise Gone("the file is no longer stored")
        return serve_file(request, path)

    async def head_not_found(request: Request) -> Response:
        raise NotFound("no such file")

    return [
        Route(FILES_PATH + "{key:path}", download, methods=["GET", "HEAD"]),
        Route(FILES_PATH.rstrip("/"), head_not_found, methods=["GET"]),
    ]
