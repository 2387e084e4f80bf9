"""Request bodies: size-limited, strictly decoded JSON (SPEC §1, §8).

Before any decoding, a body must be UTF-8 (all of it: also strings in fields a decoder would skip)
and no string in it may hold a NUL character (``\u0000``: PostgreSQL cannot store one, and no
name, title or URL needs one): 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request

from recordkit.errors import InvalidRequest, PayloadTooLarge

T = TypeVar("T")


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes:
                raise PayloadTooLarge(f"body: must be at most {max_bytes} bytes")
        except ValueError:
            raise InvalidRequest("content-length: must be a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"body: must be at most {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    check_text(raw)
    return raw


# A JSON \u0000 escape: an odd number of backslashes before "u0000" (an even number is a
# literal backslash followed by the text "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def check_text(raw: bytes) -> None:
    """InvalidRequest unless ``raw`` is UTF-8 without NUL characters in its strings."""
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("body: not valid UTF-8") from None
    if _NUL_ESCAPE.search(raw) is None:
        return
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return  # not JSON at all: the decoder says so
    where = _nul_path(value, "")
    if where is not None:
        raise InvalidRequest(f"{where or 'body'}: must not contain NUL characters")


def _nul_path(value: Any, at: str) -> str | None:
    """The path of the first string (or key) holding a NUL character, if any."""
    stack: list[tuple[Any, str]] = [(value, at)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path
        elif isinstance(node, dict):
            for key, item in reversed(list(node.items())):
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return path or "body"
                stack.append((item, child))
        elif isinstance(node, list):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(node))))
    return None


def decode(raw: bytes, kind: type[T]) -> T:
    if not raw.strip():
        raise InvalidRequest("body: a JSON object is required")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"body: {_clean(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body: malformed JSON ({_clean(str(exc))})") from None
    except UnicodeDecodeError:
        raise InvalidRequest("body: not valid UTF-8") from None
    except RecursionError:
        raise InvalidRequest("body: JSON nested too deeply") from None


def _clean(message: str) -> str:
    # msgspec says "Expected `str`, got `int` - at `$.name`": name the field first, as SPEC §1 asks.
    if " - at `$." in message:
        what, _, where = message.partition(" - at `$.")
        return f"{where.rstrip('`')}: {what}"
    if " - at `key` in `$." in message:  # a bad key of an object (``layers``' names)
        what, _, where = message.partition(" - at `key` in `$.")
        return f"{where.rstrip('`')}: {what} (a key)"
    return message
