"""The served OpenAPI document and the routes are one: each routed operation under /client/v4 is in
the document, and each operation in the document is routed (no 404/405/501 fallback answers it)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from recordkit.api import openapi
from recordkit.api.app import create_app
from recordkit.settings import Settings

# Routes that are not API operations: the bare files prefix (a 404 helper) and the catch-all that
# answers unknown RealtimeKit paths with 404, 405 or 501.
NOT_OPERATIONS = {"/client/v4/files", "/client/v4/accounts/{account_id}/realtime/kit/{rest}"}
# Upstream operations outside the subset that RecordKit routes only to say 501 (docs/api-coverage.md).
MEETING = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}/meetings/{meeting_id}"
ANSWERED_501 = {("PUT", MEETING), ("PATCH", MEETING)}


def _routed(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path, run_jobs=False))
    found = set()
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/client/v4/"):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path in NOT_OPERATIONS:
            continue
        for method in route.methods or ():
            if method != "HEAD" and (method, path) not in ANSWERED_501:
                found.add((method, path))
    return found


def _normalized(ops: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Path parameter names may differ between the document and the routes: compare shapes."""
    return {(m, re.sub(r"\{\w+\}", "{}", p)) for m, p in ops}


def test_every_route_is_documented_and_every_operation_routed(tmp_path: Path) -> None:
    routed = _normalized(_routed(tmp_path))
    documented = _normalized(openapi.operations())
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations without a route"


def test_document_is_served_and_extends_upstream(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, run_jobs=False))
    transport = httpx.ASGITransport(app=app)

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://rk") as client:
            return await client.get("/client/v4/openapi.json")

    import asyncio

    resp = asyncio.run(fetch())
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": "/client/v4", "description": "this RecordKit server"}]
    upstream = openapi.upstream()
    for path, ops in upstream["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                assert doc["paths"][path][method] == op
                continue
            served = doc["paths"][path][method]
            # upstream operations kept as fetched; only the error responses are added
            assert {k: v for k, v in served.items() if k != "responses"} == {
                k: v for k, v in op.items() if k != "responses"
            }
            for code, response in op.get("responses", {}).items():
                assert served["responses"][code] == response
            assert {"4XX", "429", "503"} <= set(served["responses"])


@pytest.mark.parametrize("name", [openapi.UPSTREAM, openapi.EXTENSIONS])
def test_documents_are_package_data(name: str) -> None:
    assert openapi._load(name)
