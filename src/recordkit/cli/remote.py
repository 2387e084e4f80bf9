"""What the commands that talk to a server over HTTP share (``recordkit recordings ...``, ``recordkit sync``)."""

from __future__ import annotations

import functools
import json
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from recordkit.client.errors import RecordKitConnectionError

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
        from recordkit.client.errors import RecordKitAPIError, RecordKitClientError, RecordKitConnectionError

        try:
            return func(*args, **kwargs)
        except RecordKitAPIError as exc:
            raise click.ClickException(f"HTTP {exc.status_code}: {exc.message}") from None
        except RecordKitConnectionError as exc:
            raise click.ClickException(no_answer(str(kwargs.get("url") or DEFAULT_SERVER), exc)) from None
        except RecordKitClientError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a file the command writes (a download)
            raise click.ClickException(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)) from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def no_answer(server: str, exc: RecordKitConnectionError) -> str:
    """The line for a request that got no answer (``RecordKitConnectionError``). A refused
    connection to the API itself says that no server runs there and how to start one."""
    if not exc.refused or not str(exc.url).startswith(api_base(server)):
        return str(exc)  # a timeout, an unknown host, or a download link elsewhere: the client's own words
    shown = server.strip().rstrip("/")
    message = f"no RecordKit server answers at {shown} (connection refused)"
    parts = urlsplit(api_base(server))
    host = (parts.hostname or "").lower()
    if host != "localhost" and host != "::1" and not host.startswith("127."):
        return f"{message}; is it running, and is --url (env RECORDKIT_URL) right?"
    from recordkit.settings import DEFAULT_PORT, data_dir_from_env

    serve = ["recordkit", "serve", "--data-dir", data_dir_from_env()]
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = DEFAULT_PORT
    if port != DEFAULT_PORT:
        serve += ["--port", str(port)]
    return f"{message}; start one with `{shlex.join(serve)}`, or point --url (env RECORDKIT_URL) at one"


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


def interactive(as_json: bool) -> bool:
    """Progress bars only for a person at a terminal."""
    return not as_json and sys.stderr.isatty()
