"""What the commands that talk to a server over HTTP share (``recordkit recordings ...``, ``recordkit sync``)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SERVER = "http://127.0.0.1:8787"
CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"  # = recordkit.client.DEFAULT_BASE_URL


def api_base(url: str) -> str:
    """A server's API base: ``http://host:port`` gets ``/client/v4``; a URL with a path is kept as given."""
    url = url.strip().rstrip("/")
    if urlsplit(url).path in ("", "/"):
        url += "/client/v4"
    return url


def handle_client_errors(func: F) -> F:
    """The client's errors as one line on stderr and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from recordkit.client.errors import RecordKitAPIError, RecordKitClientError

        try:
            return func(*args, **kwargs)
        except RecordKitAPIError as exc:
            raise click.ClickException(f"HTTP {exc.status_code}: {exc.message}") from None
        except RecordKitClientError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a file the command writes (a download)
            raise click.ClickException(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)) from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


def interactive(as_json: bool) -> bool:
    """Progress bars only for a person at a terminal."""
    return not as_json and sys.stderr.isatty()
