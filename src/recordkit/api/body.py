"""Request bodies: size-limited, strictly decoded JSON (SPEC §1, §8)."""

from __future__ import annotations

from typing import TypeVar

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
    return b"".join(chunks)


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
    return message
