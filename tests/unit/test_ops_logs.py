"""JSON log lines (``RECORDKIT_LOG_JSON=1``): one object per line, the request id, no credentials."""

from __future__ import annotations

import io
import json
import logging

from recordkit.ops.logs import JsonFormatter, json_logging_config, mask, request_id


def _line(record: logging.LogRecord) -> dict[str, object]:
    text = JsonFormatter().format(record)
    assert "\n" not in text
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("recordkit.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_has_the_fields() -> None:
    line = _line(_record("recording %s: %s", "r1", "lost", route="/x/{id}", status=503, duration_ms=1.5))
    assert line["level"] == "warning" and line["logger"] == "recordkit.test"
    assert line["message"] == "recording r1: lost"
    assert str(line["time"]).endswith("Z") and len(str(line["time"])) == 24  # 2026-01-02T03:04:05.678Z
    assert isinstance(line["pid"], int)
    assert (line["route"], line["status"], line["duration_ms"]) == ("/x/{id}", 503, 1.5)
    assert "request_id" not in line


def test_the_request_id_of_the_task_is_on_its_lines() -> None:
    token = request_id.set("req-42")
    try:
        assert _line(_record("hello"))["request_id"] == "req-42"
    finally:
        request_id.reset(token)


def test_credentials_are_masked_wherever_they_appear() -> None:
    secret = "Q4q0WqITSYhWZ4nnZF74gZwcbkjeucwofFWMq8GB"
    assert secret not in mask(f"Authorization: Bearer {secret}")
    line = _line(_record("failed with header %s", f"Bearer {secret}", detail=f"token={secret}"))
    assert secret not in json.dumps(line)
    try:
        raise RuntimeError(f"bearer {secret}")
    except RuntimeError:
        import sys

        record = _record("boom")
        record.exc_info = sys.exc_info()
    line = _line(record)
    assert "RuntimeError" in str(line["exc"]) and secret not in str(line["exc"])


def test_the_config_sends_recordkit_and_granian_lines_to_one_json_handler() -> None:
    config = json_logging_config()
    assert config["formatters"]["json"]["()"] == "recordkit.ops.logs.JsonFormatter"
    for name in ("recordkit", "_granian", "granian.access"):
        assert config["loggers"][name]["handlers"] == ["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("recordkit.test.config")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        log.info("one")
        log.info("two")
    finally:
        log.removeHandler(handler)
    assert [json.loads(x)["message"] for x in stream.getvalue().splitlines()] == ["one", "two"]
