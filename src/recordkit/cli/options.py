"""What every local command shares: ``--data-dir``, ``--json``, and errors as a one-line message."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from recordkit.errors import RecordKitError
from recordkit.settings import DEFAULT_DATA_DIR, SettingsError

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        envvar="RECORDKIT_DATA_DIR",
        default=DEFAULT_DATA_DIR,
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Where RecordKit keeps its database, keys and files.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RecordKitError as exc:
            raise click.ClickException(exc.message) from None
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]
