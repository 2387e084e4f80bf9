"""Structured logs: with ``RECORDKIT_LOG_JSON=1`` every line on stdout is one JSON object.

Fields: ``time`` (UTC, ms), ``level``, ``logger``, ``message``, ``pid``, the ``request_id`` of the
request being served (when there is one), ``exc`` (a traceback), and for access lines (logger
``recordkit.access``) ``method``, ``route`` (the route template), ``path`` (no query string: signed
links carry their signature there), ``status`` and ``duration_ms``. Headers are never logged, and
anything shaped like a bearer credential in a message is masked. Without the setting, nothing here
is installed and the logs are as before.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import os
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

# The id of the request this task serves (set by the ``api.observe`` middleware); asyncio copies it
# into worker threads, so lines logged there carry it too.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("recordkit_request_id", default=None)

ACCESS_LOGGER = "recordkit.access"
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+|=)[A-Za-z0-9._~+/=-]{8,}")
# What every LogRecord has; anything else on a record came through ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_encode = msgspec.json.Encoder().encode


def mask(text: str) -> str:
    """``text`` with bearer-style credentials replaced by ``***``."""
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
            "pid": record.process if record.process is not None else os.getpid(),
        }
        rid = request_id.get()
        if rid is not None:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, int | float | bool) or value is None else mask(str(value))
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = mask(record.exc_text)
        return _encode(out).decode()


def json_logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for JSON lines on stdout: RecordKit's loggers, granian's
    (the server's start-up and worker messages), and everything else that reaches the root."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    quiet = {"handlers": ["json"], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "recordkit.ops.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "recordkit": {"handlers": ["json"], "level": level, "propagate": False},
            "_granian": {"handlers": ["json"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["json"], "level": level, "propagate": False},
            "httpx": quiet,  # one line per webhook attempt is the dispatcher's own
            "httpcore": quiet,
        },
        "root": {"handlers": ["json"], "level": "WARNING"},
    }


def configure_json_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(json_logging_config(level))
