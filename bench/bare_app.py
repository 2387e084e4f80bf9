"""The baseline for bench/throughput.py: a bare Starlette app returning precomputed JSON bytes.

Same route shape as RecordKit's list endpoint, no auth, no database, no encoding: whatever it
serves per second is the ceiling for this server stack on this machine.

    BARE_BODY_FILE=bench/out/bare_body.json .venv/bin/python bench/bare_app.py --port 8799

It is served exactly as ``recordkit serve`` serves RecordKit (granian, ASGI, factory, 1 worker,
no access log).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"


def create_app() -> Starlette:
    """ASGI factory: the body comes from the file named by ``BARE_BODY_FILE``."""
    body = Path(os.environ["BARE_BODY_FILE"]).read_bytes()

    async def recordings(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/healthz", healthz), Route(PATH, recordings, methods=["GET"])])


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser(description="Serve the bare baseline app with granian.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--body", type=Path, default=None, help="JSON file to serve (else $BARE_BODY_FILE)")
    args = parser.parse_args()
    if args.body is not None:
        os.environ["BARE_BODY_FILE"] = str(args.body.resolve())
    Granian(
        "bare_app:create_app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
        log_access=False,
        working_dir=Path(__file__).resolve().parent,
    ).serve()


if __name__ == "__main__":
    main()
