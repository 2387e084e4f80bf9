"""The ``Destination`` port and its one error type.

A destination is where a recording's files are delivered besides (or instead of) the RecordKit
bucket: an S3 / DigitalOcean Spaces bucket, an Azure container, a GCS bucket or an SFTP server.

Every failure on the far side is a ``DestinationError``. Its ``transient`` flag tells the caller
whether trying again later can help (network errors, timeouts, 5xx, throttling) or not (bad
credentials, missing bucket, other 4xx). Its message names the destination (``describe()``), the
operation and the vendor's error code, never a credential: backends build messages from their own
words and codes, not from the vendor's error text, and pass them through ``redact`` as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final, Protocol

PROBE_BODY: Final = b"RecordKit write probe: safe to delete.\n"


class DestinationError(Exception):
    """Delivery failed; ``transient`` True when a later retry may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient

    def __repr__(self) -> str:
        return f"DestinationError({self.message!r}, transient={self.transient})"


class Destination(Protocol):
    def describe(self) -> str:
        """A one-line description safe for logs and error messages (no credentials)."""
        ...

    def put(self, local_path: Path, name: str) -> str:
        """Upload one file as ``path`` + ``file_name_prefix`` + ``name``; return the key/remote path used.

        An existing object of that name is replaced."""
        ...

    def delete(self, key: str) -> None:
        """Delete an object by the key ``put`` returned; an already missing object is not an error.

        A key outside the configured path is refused (InvalidRequest), whoever computed it."""
        ...

    def probe(self) -> None:
        """Preflight: write a small object under the configured path, then delete it.

        Checks credentials, the bucket and write (and delete) permission; SFTP creates the folder."""
        ...


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of a secret value (and of each line of a multi-line one) by ``***``."""
    pieces: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        pieces.add(secret)
        pieces.update(line.strip() for line in secret.splitlines())
    for piece in sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def fail(
    where: str, operation: str, detail: str, *, transient: bool, secrets: Iterable[str | None] = ()
) -> DestinationError:
    """Build the error for ``operation`` on the destination ``where`` (its ``describe()``)."""
    kind = "failed (temporary)" if transient else "failed"
    return DestinationError(redact(f"{where}: {operation} {kind}: {detail}", secrets), transient=transient)


def content_type(name: str) -> str:
    """The media type to store with an object, from its name (``video/mp4`` for ``x.mp4``)."""
    import mimetypes

    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def probe_name() -> str:
    import secrets

    return f"recordkit-probe-{secrets.token_hex(8)}.txt"


def check_local_file(local_path: Path) -> int:
    """The size of the file to upload; FileNotFoundError (a caller's bug, not the destination's) if absent."""
    if not local_path.is_file():
        raise FileNotFoundError(f"no such file to upload: {local_path}")
    return local_path.stat().st_size
