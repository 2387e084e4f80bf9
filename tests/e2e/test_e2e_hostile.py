"""Hostile input through the public API of a live server (issue 8 §3, SPEC §8): every write
operation with oversized bodies, deep JSON, long strings, numbers out of range, NaN / Infinity,
invalid UTF-8 and NUL characters; invalid UTF-8 and NUL in query strings and path segments; and
path traversal in every name that reaches a file or an object key (``file_name_prefix``, track
names, ``storage_config.path``, the ``/files/{key}`` route, with and without a valid signature).

Each gets a clear 4xx in the error envelope, and nothing changes: after every refused request the
tenant's apps, meetings, recordings and webhooks are exactly as before. (Cases already covered
elsewhere, such as the meeting body's fields in test_e2e_meetings.py and the list parameters in
test_e2e_errors.py, are not repeated.)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from recordkit.blobs.bucket import open_signer
from recordkit.settings import Settings
from recordkit.store.factory import open_store
from tests.support.recording import Tenant
from tests.support.servers import RkServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("store_kind")]  # every test on both stores (tests/conftest.py)

MAX_BODY = 65_536  # the server below runs with RECORDKIT_MAX_BODY_BYTES at this


@dataclass
class Hostile:
    tenant: Tenant
    meeting: str  # has the active recording
    free_meeting: str  # no recording: a good start would succeed here
    recording: str
    webhook: str
    signer: Any

    @property
    def server(self) -> RkServer:
        return self.tenant.server

    def writes(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(method, path, a valid body) of every write operation that takes a body."""
        t = self.tenant
        hook = {"name": "h", "url": "https://93.184.215.14/h", "events": ["recording.statusUpdate"]}
        return [
            ("POST", f"/client/v4/accounts/{t.account}/realtime/kit/apps", {"name": "x"}),
            ("POST", f"{t.kit}/meetings", {"title": "x"}),
            ("POST", f"{t.kit}/recordings", {"meeting_id": self.free_meeting}),
            ("POST", f"{t.kit}/recordings/track", {"meeting_id": self.free_meeting}),
            ("PUT", f"{t.kit}/recordings/{self.recording}", {"action": "stop"}),
            ("POST", f"{t.kit}/webhooks", hook),
            ("PUT", f"{t.kit}/webhooks/{self.webhook}", hook),
            ("PATCH", f"{t.kit}/webhooks/{self.webhook}", {"name": "renamed"}),
        ]

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused request could have changed."""
        t = self.tenant
        with t.http() as http:
            apps = http.get(f"/client/v4/accounts/{t.account}/realtime/kit/apps", params={"per_page": 100}).json()
            meetings = http.get(f"{t.kit}/meetings", params={"per_page": 100}).json()
            recordings = http.get(f"{t.kit}/recordings", params={"per_page": 100}).json()
            hooks = http.get(f"{t.kit}/webhooks").json()
        return {"apps": apps, "meetings": meetings, "recordings": recordings, "webhooks": hooks}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Hostile]:
    srv = RkServer(
        tmp_path_factory.mktemp("hostile"),
        env={**databases(), "RECORDKIT_RUN_JOBS": "0", "RECORDKIT_MAX_BODY_BYTES": str(MAX_BODY)},
    )
    tenant = Tenant.create(srv)
    srv.start()
    try:
        with tenant.http() as http:
            meeting = http.post(f"{tenant.kit}/meetings", json={"title": "hostile"}).json()["data"]["id"]
            free = http.post(f"{tenant.kit}/meetings", json={"title": "free"}).json()["data"]["id"]
            rec = http.post(f"{tenant.kit}/recordings", json={"meeting_id": meeting}).json()["data"]["id"]
            hook = {"name": "h", "url": "https://93.184.215.14/h", "events": ["recording.statusUpdate"]}
            webhook = http.post(f"{tenant.kit}/webhooks", json=hook).json()["data"]["id"]
        store = open_store(Settings(data_dir=srv.data_dir, database_url=srv.env.get("RECORDKIT_DATABASE_URL")))
        try:
            signer = open_signer(store.cipher)
        finally:
            store.close()
        yield Hostile(tenant, meeting, free, rec, webhook, signer)
        log = srv.log()
        assert "Traceback" not in log and "unexpected error" not in log, log[-5000:]
    finally:
        srv.stop()


def assert_refused(resp: httpx.Response, status: int, prefix: str = "") -> str:
    """A 4xx in the RealtimeKit error envelope whose message starts with ``prefix``."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert set(body) == {"success", "error"} and body["success"] is False, body
    assert body["error"]["code"] == status, body
    message = str(body["error"]["message"])
    assert message.startswith(prefix), (prefix, message)
    assert "Traceback" not in resp.text
    return message


def send(hostile: Hostile, method: str, path: str, raw: bytes) -> httpx.Response:
    with hostile.tenant.http() as http:
        return http.request(method, path, content=raw, headers={"content-type": "application/json"})


def raw_request(hostile: Hostile, head: list[str], pieces: list[bytes], token: bool = True) -> httpx.Response:
    """One request over a bare socket (no client-side normalisation of the target or the body)."""
    lines = [*head, "Host: 127.0.0.1", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {hostile.tenant.token}")
    with socket.create_connection(("127.0.0.1", hostile.server.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for piece in pieces:
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused early: the answer is already on its way
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, content = rest.partition(b"\r\n\r\n")
    pairs = [line.decode("latin-1").split(":", 1) for line in raw_headers.split(b"\r\n") if b":" in line]
    headers = {k.strip().lower(): v.strip() for k, v in pairs}
    if headers.get("transfer-encoding") == "chunked":
        out = b""
        while content:
            size_line, _, content = content.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, content = out + content[:size], content[size + 2 :]
        content = out
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=content)


def raw_get(hostile: Hostile, target: bytes, token: bool = True) -> httpx.Response:
    return raw_request(hostile, [f"GET {target.decode('latin-1')} HTTP/1.1"], [], token=token)


def write_ids(hostile: Hostile) -> list[str]:
    return [f"{m} {p.split('/realtime/kit/')[1].split('/', 1)[-1]}" for m, p, _ in hostile.writes()]


WRITES = range(8)  # the indexes of Hostile.writes()
WRITE_IDS = [
    "create-app",
    "create-meeting",
    "start",
    "start-track",
    "act",
    "create-webhook",
    "replace-webhook",
    "edit-webhook",
]


# -- body size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", WRITES, ids=WRITE_IDS)
def test_a_body_over_the_limit_is_413_declared_or_streamed(hostile: Hostile, index: int) -> None:
    method, path, _ = hostile.writes()[index]
    before = hostile.snapshot()
    head = [f"{method} {path} HTTP/1.1", "Content-Type: application/json"]
    declared = raw_request(hostile, [*head, f"Content-Length: {MAX_BODY + 1}"], [])
    assert_refused(declared, 413, "body: must be at most 65536 bytes")
    piece = b" " * 8192
    chunks = [b'{"name": "'] + [piece] * (MAX_BODY // len(piece) + 2)
    streamed = raw_request(
        hostile, [*head, "Transfer-Encoding: chunked"], [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks]
    )
    assert_refused(streamed, 413, "body: must be at most 65536 bytes")
    assert hostile.snapshot() == before


# -- JSON depth, NaN / Infinity, invalid UTF-8, NUL --------------------------------------------------

MALFORMED: list[tuple[str, bytes, str]] = [
    ("deep-arrays", b'{"x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "body: "),
    ("deep-objects", b'{"x": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}", "body: "),
    ("deep-in-known-field", b'{"interactive_config": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}", "body: "),
    ("NaN", b'{"name": NaN, "title": NaN, "action": NaN, "meeting_id": NaN}', "body: malformed JSON"),
    ("Infinity", b'{"max_seconds": Infinity, "name": "x"}', "body: malformed JSON"),
    ("-Infinity", b'{"max_seconds": -Infinity, "name": "x"}', "body: malformed JSON"),
    ("bad-utf8-value", b'{"name": "\xff\xfe", "title": "\xc3\x28"}', "body: not valid UTF-8"),
    ("bad-utf8-key", b'{"\xff": 1}', "body: not valid UTF-8"),
    (
        "bad-utf8-unknown-field",
        b'{"ignored_field": "\xed\xa0\x80", "name": "x", "action": "stop"}',
        "body: not valid UTF-8",
    ),
    ("overlong-utf8", b'{"name": "\xc0\xaf"}', "body: not valid UTF-8"),
    ("lone-surrogate-escape", b'{"name": "\\ud800", "title": "\\udfff", "action": "\\ud800"}', "body: "),
]


@pytest.mark.parametrize("index", WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(("kind", "raw", "prefix"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_are_400(hostile: Hostile, index: int, kind: str, raw: bytes, prefix: str) -> None:
    method, path, _ = hostile.writes()[index]
    before = hostile.snapshot()
    assert_refused(send(hostile, method, path, raw), 400, prefix)
    assert hostile.snapshot() == before


@pytest.mark.parametrize("index", WRITES, ids=WRITE_IDS)
def test_a_nul_character_in_any_string_is_400_naming_the_field(hostile: Hostile, index: int) -> None:
    method, path, body = hostile.writes()[index]
    before = hostile.snapshot()
    field = next(iter(body))  # every valid body's first field is a string
    bad = {**body, field: "x\u0000y"}
    assert_refused(send(hostile, method, path, json.dumps(bad).encode()), 400, f"{field}: must not contain NUL")
    nested = {**body, "extra": {"list": ["ok", {"deep": "\u0000"}]}}
    assert_refused(send(hostile, method, path, json.dumps(nested).encode()), 400, "extra.list[1].deep: ")
    assert hostile.snapshot() == before


def test_an_escaped_backslash_before_u0000_is_just_text(hostile: Hostile) -> None:
    """``"\\\\u0000"`` in JSON is a backslash and the text ``u0000``, not a NUL: accepted."""
    with hostile.tenant.http() as http:
        made = http.post(f"{hostile.tenant.kit}/meetings", content=b'{"title": "a\\\\u0000b"}')
        assert made.status_code == 201, made.text
        assert made.json()["data"]["title"] == "a\\u0000b"


# -- string lengths and numbers out of range, field by field ------------------------------------------

LONG = "x" * 5000


def number(literal: str) -> str:
    """A JSON number written exactly as given (``1e400``: no Python float can carry it)."""
    return f"NUMBER:{literal}:NUMBER"


def bad_fields(h: Hostile) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, the field the 400 names) beyond what other suites cover."""
    t = h.tenant
    start = f"{t.kit}/recordings"
    track = f"{t.kit}/recordings/track"
    hooks = f"{t.kit}/webhooks"
    m = h.free_meeting
    sftp = {"type": "sftp", "host": "8.8.8.8", "username": "u", "password": "p"}
    return [
        # strings too long
        ("POST", f"/client/v4/accounts/{t.account}/realtime/kit/apps", {"name": LONG}, "name"),
        ("POST", start, {"meeting_id": m, "file_name_prefix": "p" * 101}, "file_name_prefix"),
        ("POST", start, {"meeting_id": m, "url": "https://93.184.215.14/" + LONG}, "url"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "path": "a/" * 300}}, "storage_config.path"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "path": "d" * 300}}, "storage_config.path"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "username": LONG}}, "storage_config.username"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "host": LONG}}, "storage_config.host"),
        ("POST", start, {"meeting_id": LONG}, "meeting_id"),
        ("POST", track, {"meeting_id": m, "layers": {"k" * 65: {}}}, "layers"),
        ("POST", track, {"meeting_id": m, "user_ids": ["u" * 256]}, "user_ids"),
        ("POST", track, {"meeting_id": m, "layers": {"default": {"file_name_prefix": "p" * 101}}}, "layers"),
        ("POST", hooks, {"name": LONG, "url": "https://93.184.215.14/", "events": ["meeting.started"]}, "name"),
        ("POST", hooks, {"name": "n", "url": "https://93.184.215.14/" + LONG, "events": ["meeting.started"]}, "url"),
        ("POST", hooks, {"name": "n", "url": "https://93.184.215.14/", "events": ["meeting.started"] * 101}, "events"),
        ("POST", hooks, {"name": "n", "url": "https://93.184.215.14/", "events": [LONG]}, "events[0]"),
        # numbers out of range: huge, tiny, negative, fractional
        ("POST", start, {"meeting_id": m, "max_seconds": 10**400}, "max_seconds"),
        ("POST", start, {"meeting_id": m, "max_seconds": number("1e400")}, "max_seconds"),
        ("POST", start, {"meeting_id": m, "max_seconds": number("-1e400")}, "max_seconds"),
        ("POST", start, {"meeting_id": m, "max_seconds": number("1e-400")}, "max_seconds"),
        ("POST", start, {"meeting_id": m, "max_seconds": -(2**63)}, "max_seconds"),
        ("POST", start, {"meeting_id": m, "video_config": {"width": 2**64}}, "video_config.width"),
        ("POST", start, {"meeting_id": m, "video_config": {"height": -1}}, "video_config.height"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "port": 10**30}}, "storage_config.port"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "port": number("1e400")}}, "storage_config.port"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "port": 22.5}}, "storage_config.port"),
        ("POST", start, {"meeting_id": m, "storage_config": {**sftp, "port": 0}}, "storage_config.port"),
        ("POST", start, {"meeting_id": m, "allow_multiple_recordings": number("1e400")}, "allow_multiple_recordings"),
        ("POST", f"{t.kit}/meetings", {"session_keep_alive_time_in_secs": 10**400}, "session_keep_alive_time_in_secs"),
        (
            "POST",
            f"{t.kit}/meetings",
            {"session_keep_alive_time_in_secs": number("1e400")},
            "session_keep_alive_time_in_secs",
        ),
        (
            "POST",
            f"{t.kit}/meetings",
            {"ai_config": {"summarization": {"word_limit": 10**400}}},
            "ai_config.summarization.word_limit",
        ),
        ("PUT", f"{t.kit}/recordings/{h.recording}", {"action": number("1e400")}, "action"),
        (
            "POST",
            hooks,
            {"name": "n", "url": "https://93.184.215.14/", "events": ["meeting.started"], "enabled": 2},
            "enabled",
        ),
    ]


def test_long_strings_and_numbers_out_of_range_are_400_naming_the_field(hostile: Hostile) -> None:
    before = hostile.snapshot()
    problems = []
    with hostile.tenant.http() as http:
        for method, path, body, field in bad_fields(hostile):
            raw = json.dumps(body).replace('"NUMBER:', "").replace(':NUMBER"', "").encode()
            resp = http.request(method, path, content=raw, headers={"content-type": "application/json"})
            message = resp.json().get("error", {}).get("message", "") if resp.status_code < 500 else ""
            named = message.startswith(f"{field}") or message.startswith(f"body: {field}")
            if resp.status_code != 400 or not named:
                problems.append((method, path.rsplit("/", 1)[-1], field, resp.status_code, resp.text[:200]))
    assert problems == []
    assert hostile.snapshot() == before


def test_numbers_out_of_range_in_query_strings(hostile: Hostile) -> None:
    """Huge page numbers are past the end (an empty page), huge page sizes are clamped (SPEC §3)."""
    with hostile.tenant.http() as http:
        for path in (f"{hostile.tenant.kit}/recordings", f"{hostile.tenant.kit}/meetings"):
            for params in (
                {"page_no": "1e400"},
                {"page_no": "9" * 400},
                {"page_no": "9223372036854775808"},
                {"per_page": "1e400", "page_no": "1e308"},
            ):
                resp = http.get(path, params=params)
                assert resp.status_code == 200, (params, resp.text)
                assert resp.json()["data"] == [] and resp.json()["paging"]["start_offset"] == 0
            assert http.get(path, params={"per_page": "9" * 400}).json()["paging"]["start_offset"] == 1
            for params in ({"page_no": "NaN"}, {"per_page": "-1e400"}, {"page_no": "0x10"}, {"per_page": "1e"}):
                assert_refused(http.get(path, params=params), 400, next(iter(params)) + ": ")


# -- query strings and path segments ---------------------------------------------------------------


def query_targets(h: Hostile) -> list[tuple[bytes, str]]:
    kit = h.tenant.kit.encode()
    return [
        (kit + b"/recordings?search=%FF%FE", "search: not valid UTF-8"),
        (kit + b"/recordings?search=%ED%A0%80", "search: not valid UTF-8"),  # an encoded surrogate
        (kit + b"/recordings?search=%C0%AF", "search: not valid UTF-8"),  # overlong "/"
        (kit + b"/recordings?status=UPLOADED&status=%FF", "status: not valid UTF-8"),
        (kit + b"/recordings?%FF=1", "query: a parameter name is not valid UTF-8"),
        (kit + b"/recordings?search=a%00b", "search: must not contain NUL"),
        (kit + b"/recordings?meeting_id=%00", "meeting_id: must not contain NUL"),
        (kit + b"/recordings?unknown=%00", "unknown: must not contain NUL"),
        (kit + b"/meetings?search=%FF", "search: not valid UTF-8"),
        (kit + b"/meetings?search=%00", "search: must not contain NUL"),
        (kit + b"/webhooks?x=%FF", "x: not valid UTF-8"),
        (b"/client/v4/files/a?expires=%FF&signature=%FF", "expires: not valid UTF-8"),
    ]


def path_targets(h: Hostile) -> list[bytes]:
    t = h.tenant
    acct = f"/client/v4/accounts/{t.account}/realtime/kit".encode()
    kit = t.kit.encode()
    return [
        b"/client/v4/accounts/%FF/realtime/kit/apps",
        acct + b"/apps/%FF",
        acct + b"/%FF/recordings",
        kit + b"/meetings/%FF",
        kit + b"/meetings/%C3%28",
        kit + b"/recordings/%FF",
        kit + b"/recordings/active-recording/%ED%A0%80",
        kit + b"/webhooks/%FF",
        b"/client/v4/files/%FF?expires=1&signature=00",
        acct + b"/apps/%00",
        kit + b"/recordings/%00",
        b"/client/v4/files/a%00b?expires=1&signature=00",
    ]


def test_invalid_utf8_and_nul_in_query_strings_are_400_naming_the_parameter(hostile: Hostile) -> None:
    for target, message in query_targets(hostile):
        assert_refused(raw_get(hostile, target), 400, message)


def test_invalid_utf8_and_nul_in_path_segments_are_400(hostile: Hostile) -> None:
    before = hostile.snapshot()
    for target in path_targets(hostile):
        resp = raw_get(hostile, target)
        message = assert_refused(resp, 400, "path: ")
        assert "not valid UTF-8" in message or "NUL" in message
        for method in ("PUT", "POST", "DELETE", "PATCH"):
            body = b'{"action": "stop", "name": "x"}'
            head = [f"{method} {target.decode()} HTTP/1.1", f"Content-Length: {len(body)}"]
            assert_refused(raw_request(hostile, head, [body]), 400, "path: ")
    assert hostile.snapshot() == before


def test_raw_bytes_outside_ascii_in_the_request_line_are_refused_by_the_http_server(hostile: Hostile) -> None:
    """Not valid HTTP: the server (granian) answers a bare 400 before any application code runs."""
    for target in (b"/client/v4/\xff\xfe", b"/healthz?\xff", hostile.tenant.kit.encode() + b"/recordings?search=\xc3"):
        assert raw_get(hostile, target).status_code == 400


def test_wrong_shaped_ids_in_paths_are_400_or_404_never_more(hostile: Hostile) -> None:
    t = hostile.tenant
    acct = f"/client/v4/accounts/{t.account}/realtime/kit"
    with t.http() as http:
        assert_refused(http.get(f"/client/v4/accounts/{'a' * 33}/realtime/kit/apps"), 400, "account_id: ")
        assert_refused(http.get(f"{acct}/{'b' * 33}/recordings"), 400, "app_id: ")
        assert_refused(http.get(f"{t.kit}/recordings/{'c' * 5000}"), 400, "recording_id: ")
        assert_refused(http.get(f"{t.kit}/meetings/not-a-uuid"), 400, "meeting_id: ")
        assert_refused(http.get(f"{t.kit}/webhooks/1;DROP TABLE webhooks"), 400, "webhook_id: ")
    # "..%2F.." is decoded before routing: a path no RealtimeKit operation has, so 404, not 501
    assert_refused(raw_get(hostile, t.kit.encode() + b"/recordings/..%2F..%2Fapps"), 404, "Route not found")
    assert_refused(raw_get(hostile, t.kit.encode() + b"/meetings/%2e%2e"), 400, "meeting_id: ")


# -- path traversal in every name that reaches a file or an object key ---------------------------------

TRAVERSALS = [
    "..",
    "../x",
    "../../etc/passwd",
    "a/../../b",
    "..\\..\\x",
    "%2e%2e%2fx",
    "/abs/path",
    "a\u0000b",
    ".hidden",
]


def test_traversal_in_file_name_prefix_is_400_wherever_it_is_given(hostile: Hostile) -> None:
    t = hostile.tenant
    before = hostile.snapshot()
    with t.http() as http:
        for prefix in TRAVERSALS:
            body = {"meeting_id": hostile.free_meeting, "file_name_prefix": prefix}
            assert_refused(http.post(f"{t.kit}/recordings", json=body), 400)
            meeting = {"title": "t", "recording_config": {"file_name_prefix": prefix}}
            assert_refused(http.post(f"{t.kit}/meetings", json=meeting), 400)
            track = {"meeting_id": hostile.free_meeting, "layers": {"default": {"file_name_prefix": prefix}}}
            assert_refused(http.post(f"{t.kit}/recordings/track", json=track), 400)
            named = {"meeting_id": hostile.free_meeting, "layers": {prefix: {}}}  # the layer's name is the prefix
            assert_refused(http.post(f"{t.kit}/recordings/track", json=named), 400)
    assert hostile.snapshot() == before


def test_traversal_in_storage_config_path_is_400_for_every_type(hostile: Hostile) -> None:
    t = hostile.tenant
    configs = {
        "aws": {"type": "aws", "bucket": "bkt", "region": "us-east-1", "access_key": "a", "secret": "s"},
        "sftp": {"type": "sftp", "host": "8.8.8.8", "username": "u", "password": "p"},
        "azure": {"type": "azure", "bucket": "container", "access_key": "account1", "secret": "c2VjcmV0"},
    }
    before = hostile.snapshot()
    with t.http() as http:
        for kind, config in configs.items():
            for path in ("..", "../x", "a/../../b", "a/./b", "..\\x", "a\u0000b", "a\nb", "/../etc"):
                body = {"meeting_id": hostile.free_meeting, "storage_config": {**config, "path": path}}
                message = assert_refused(http.post(f"{t.kit}/recordings", json=body), 400)
                assert message.startswith(("storage_config.path: ", "body: ", "storage_config: ")), (kind, message)
                meeting = {"title": "t", "recording_config": {"storage_config": {**config, "path": path}}}
                message = assert_refused(http.post(f"{t.kit}/meetings", json=meeting), 400)
                assert "storage_config" in message or "NUL" in message, (kind, message)
    assert hostile.snapshot() == before


def test_user_ids_cannot_steer_track_file_names(hostile: Hostile) -> None:
    """User ids end up in track file names: they are cleaned to letters, digits, ``_`` and ``-``."""
    t = hostile.tenant
    with t.http() as http:
        meeting = http.post(f"{t.kit}/meetings", json={"title": "tracks"}).json()["data"]["id"]
        body = {"meeting_id": meeting, "user_ids": ["../../etc/passwd", "..", "a/b\\c", "é"]}
        made = http.post(f"{t.kit}/recordings/track", json=body)
        assert made.status_code == 200, made.text
        rec = made.json()["data"]["recording"]
        assert "/" not in rec["output_file_name"] and ".." not in rec["output_file_name"]
        http.put(f"{t.kit}/recordings/{rec['id']}", json={"action": "stop"})


def test_the_files_route_never_leaves_the_bucket(hostile: Hostile) -> None:
    """Traversal keys on /files/{key}: refused (403, the same answer as any bad link) with or
    without a valid signature, whatever the encoding; never a file from outside the bucket."""
    data_dir = hostile.server.data_dir
    secret = (data_dir / "secret.key").read_bytes()
    keys = [
        "../secret.key",
        "../../data/secret.key",
        "../recordkit.sqlite3",
        "/etc/passwd",
        "a/../../secret.key",
        "./secret.key",
        ".secret",
        "..",
    ]
    expires = 4_102_444_800_000
    for key in keys:
        signature = hostile.signer.signature(key, expires)  # a *valid* link for the hostile key
        for encoded in (key.replace("/", "%2F"), key.replace(".", "%2e").replace("/", "%2F"), key):
            target = f"/client/v4/files/{encoded}?expires={expires}&signature={signature}".encode()
            resp = raw_get(hostile, target, token=False)
            assert resp.status_code in (403, 404), (key, encoded, resp.status_code)
            assert_refused(resp, resp.status_code)
            assert secret not in resp.content
            unsigned = raw_get(hostile, f"/client/v4/files/{encoded}".encode(), token=False)
            assert unsigned.status_code in (403, 404) and secret not in unsigned.content


def test_a_range_past_the_end_is_416_and_a_malformed_one_is_ignored(hostile: Hostile) -> None:
    key = "hostile/sample.mp4"
    path = hostile.server.data_dir / "bucket" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"0123456789" * 10)
    expires = 4_102_444_800_000
    signature = hostile.signer.signature(key, expires)
    url = f"{hostile.server.origin}/client/v4/files/{key}?expires={expires}&signature={signature}"
    assert httpx.get(url, headers={"Range": "bytes=10-19"}).content == b"0123456789"
    past = httpx.get(url, headers={"Range": "bytes=500-600"})
    assert_refused(past, 416, "range: ")
    assert past.headers["content-range"] == "bytes */100"
    for bad in ("", "bytes", "bytes=9-2", "lines=0-1", "bytes=x-y", "bytes=" + ",".join(["0-1"] * 200)):
        whole = httpx.get(url, headers={"Range": bad})
        assert whole.status_code in (200, 206), (bad, whole.status_code, whole.text[:200])
        if whole.status_code == 200:
            assert whole.content == path.read_bytes()
