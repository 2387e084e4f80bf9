"""RecordKit's OpenAPI document: the upstream subset, kept as fetched, merged with RecordKit's own
operations (``recordkit-extensions.json``), built once and served at ``/client/v4/openapi.json``.

Where RecordKit knowingly answers what the upstream schema does not allow (SPEC §3: ``null`` where
a value does not exist yet), ``recordkit-extensions.json`` lists the schemas under
``x-recordkit-nullable`` (a JSON pointer and the reason); the served document marks them
``nullable`` and keeps the list, so that it describes what RecordKit sends (docs/decisions.md).

One source of truth: tests check that every route under ``/client/v4`` is an operation here and
every operation here is routed (tests/unit/test_openapi_routes.py), and schemathesis fuzzes a live
server with this document.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

UPSTREAM = "realtimekit-openapi.json"
EXTENSIONS = "recordkit-extensions.json"
# Error statuses every operation may answer (a rate limit, an unavailable store) beside its own 4xx.
ERROR_CODES = ("4XX", "429", "503")
# Upstream paths start at /accounts/...; RecordKit serves them under /client/v4 (the servers entry).
PREFIX = "/client/v4"
NULLABLE = "x-recordkit-nullable"
# Properties RecordKit adds to an upstream schema: {JSON pointer of the schema: {name: schema}}.
PROPERTIES = "x-recordkit-properties"


def _load(name: str) -> dict[str, Any]:
    return json.loads((resources.files(__package__) / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def upstream() -> dict[str, Any]:
    return _load(UPSTREAM)


def nullable_overrides() -> dict[str, str]:
    """JSON pointer of each schema RecordKit may answer ``null`` for, with the reason."""
    overrides: dict[str, str] = _load(EXTENSIONS).get(NULLABLE, {})
    return overrides


def with_nullable(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (changed in place) with every schema of ``nullable_overrides`` marked ``nullable``."""
    for pointer in nullable_overrides():
        _resolve(doc, pointer)["nullable"] = True
    return doc


def _resolve(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@cache
def document() -> dict[str, Any]:
    doc = with_nullable(upstream())
    ext = _load(EXTENSIONS)
    doc[NULLABLE] = ext.get(NULLABLE, {})
    for pointer, added in ext.get(PROPERTIES, {}).items():
        _resolve(doc, pointer).setdefault("properties", {}).update(copy.deepcopy(added))
    doc[PROPERTIES] = ext.get(PROPERTIES, {})
    doc["info"] = {**doc["info"], **ext["info"], "version": doc["info"].get("version", "")}
    doc["servers"] = ext["servers"]
    for path, ops in ext["paths"].items():
        merged = doc["paths"].setdefault(path, {})
        for method, op in ops.items():
            merged.setdefault(method, op)
    for section, items in ext.get("components", {}).items():
        doc.setdefault("components", {}).setdefault(section, {}).update(items)
    # Errors come in the RealtimeKit envelope with these codes; upstream documents few of them.
    error = {"$ref": "#/components/responses/recordkit_error"}
    for ops in doc["paths"].values():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete"):
                responses = op.setdefault("responses", {})
                for code in ERROR_CODES:
                    responses.setdefault(code, error)
    return doc


@cache
def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()


def operations() -> set[tuple[str, str]]:
    """(METHOD, full path template) of every operation, e.g. ("GET", "/client/v4/accounts/{account_id}/...")."""
    doc = copy.deepcopy(document())
    return {
        (method.upper(), PREFIX + path)
        for path, ops in doc["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }
