"""A real local HTTP server whose answers a test scripts (status, headers, body, delays, broken bodies).

``ScriptedServer.script(path, *answers)``: the requests to ``path`` get the answers in order (the
last one repeats). Every request is recorded with its arrival time, so a test can check how long
the client waited between attempts.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.cli import invoke


def import_rows(data_dir: Path, account: str, app: str, path: Path) -> None:
    """``recordkit import`` into a (running) server's data dir, in this process."""
    done = invoke("import", str(path), "--data-dir", str(data_dir), "--account", account, "--app", app)
    assert done.exit_code == 0, done.stderr


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    cut_after: int | None = None  # send only this many body bytes (Content-Length says all), then close
    ranges: bool = False  # honour "Range: bytes=N-" with a 206


def json_answer(status: int, value: Any, **headers: str) -> Answer:
    return Answer(status, json.dumps(value).encode(), {"content-type": "application/json", **headers})


def envelope_error(status: int, message: str, **headers: str) -> Answer:
    return json_answer(status, {"success": False, "error": {"code": status, "message": message}}, **headers)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server.lock:
                    server.seen.append(Seen(self.command, self.path, headers, body, time.monotonic()))
                    queue = server.scripts.get(path) or [envelope_error(404, "unscripted")]
                    answer = queue.pop(0) if len(queue) > 1 else queue[0]
                if answer.delay:
                    time.sleep(answer.delay)
                payload, status, extra = answer.body, answer.status, dict(answer.headers)
                wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("range") or "")
                if answer.ranges and wanted and status == 200:
                    start = int(wanted.group(1))
                    extra["content-range"] = f"bytes {start}-{len(payload) - 1}/{len(payload)}"
                    payload, status = payload[start:], 206
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                if answer.cut_after is not None:
                    self.send_header("connection", "close")
                self.end_headers()
                if answer.cut_after is not None:
                    self.wfile.write(payload[: answer.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/client/v4"

    def script(self, path: str, *answers: Answer) -> None:
        with self.lock:
            self.scripts[path] = list(answers)

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path.split("?", 1)[0] == path]
