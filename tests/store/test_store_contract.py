"""One contract for every ``RecordingStore``: the SQLite store and the PostgreSQL store pass the same tests.

Each test gets a fresh store of each kind (SQLite in a temp dir; PostgreSQL: a fresh database on
the session's throwaway cluster, see tests/support/postgres.py). Answers are compared with plain-Python
references written from the definitions (SPEC §3), never with the other store; the raw tables are
read to check what is at rest (token hashes only, secrets encrypted, exact counters).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet
from msgspec.structs import replace

from recordkit.domain.counting import DAY_MS, HOUR_MS, counter_keys
from recordkit.domain.models import Meeting, Recording
from recordkit.domain.query import Page, parse_meeting_query, parse_recording_query
from recordkit.domain.timefmt import format_ms, now_ms
from recordkit.errors import Conflict, InvalidRequest, NotFound
from recordkit.importer import import_file
from recordkit.security.cipher import SecretCipher
from recordkit.store.sqlite import SqliteRecordingStore
from tests.support import listing
from tests.support.listing import Listed, ListQuery

NOW = now_ms()
SECRET_VALUES = ("AKIA-CONTRACT-ACCESS-4242", "contract-secret-value-8181", "contract-password-5151")
STATUSES = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")
TITLES = (
    "Weekly Standup",
    "weekly STANDUP retro",
    "Café Planning — Q3",
    "Straße",
    "50%_off a\\b",
    'say "hi"',
    "x\x00yz after a NUL",
    "日本語の会議",
    None,
    "",
)


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Backend:
    kind: str
    cipher: SecretCipher
    open_with: Callable[[SecretCipher], Any]
    raw: Callable[[str], list[tuple[Any, ...]]]

    def open(self) -> Any:
        """Another store on the same database: another process, as far as the database can tell."""
        return self.open_with(self.cipher)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    cipher = SecretCipher([Fernet.generate_key()])
    if request.param == "sqlite":
        path = tmp_path / "data" / "recordkit.sqlite3"

        def raw_sqlite(sql: str) -> list[tuple[Any, ...]]:
            conn = sqlite3.connect(path)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()

        return Backend("sqlite", cipher, lambda c: SqliteRecordingStore(path, c), raw_sqlite)
    url: str = request.getfixturevalue("pg_url")
    import psycopg

    from recordkit.store.postgres import PostgresRecordingStore

    def raw_pg(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in conn.execute(sql)]  # type: ignore[arg-type]

    return Backend("postgres", cipher, lambda c: PostgresRecordingStore(url, c), raw_pg)


@pytest.fixture
def store(backend: Backend) -> Iterator[Any]:
    s = backend.open()
    yield s
    s.close()


@pytest.fixture
def tenant(store: Any) -> tuple[str, str]:
    account = store.create_account(now=NOW)
    return account.id, store.create_app(account.id, "contract", now=NOW).id


def blob(value: Any) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


# -- data ---------------------------------------------------------------------------------------


def make_meeting(rng: random.Random, app_id: str, title: str | None, **extra: Any) -> Meeting:
    created = NOW - rng.randrange(30 * DAY_MS)
    return Meeting(id=uid(rng), app_id=app_id, created_ms=created, updated_ms=created + 1, title=title, **extra)


def make_recording(rng: random.Random, app_id: str, meeting: Meeting, **extra: Any) -> Recording:
    status = extra.pop("status", rng.choice(STATUSES))
    invoked = extra.pop("invoked_ms", NOW - rng.randrange(10 * DAY_MS) + rng.choice([0, 0, 1, -1]) * HOUR_MS)
    expiry = rng.choice([None, NOW - rng.randrange(1, 40 * DAY_MS), NOW + rng.randrange(1, 40 * DAY_MS)])
    storage = rng.choice(
        [
            None,
            {
                "type": "aws",
                "bucket": "b",
                "region": "us-east-1",
                "access_key": SECRET_VALUES[0],
                "secret": SECRET_VALUES[1],
            },
            {"type": "sftp", "host": "h", "username": "u", "password": SECRET_VALUES[2]},
        ]
    )
    public = (
        None if storage is None else {k: v for k, v in storage.items() if k not in ("access_key", "secret", "password")}
    )
    secrets = (
        None
        if storage is None
        else ({k: v for k, v in storage.items() if k in ("access_key", "secret", "password")} or None)
    )
    fields: dict[str, Any] = {
        "id": uid(rng),
        "app_id": app_id,
        "meeting_id": meeting.id,
        "status": status,
        "invoked_ms": invoked,
        "download_url_expiry_ms": expiry,
        "storage_config": public,
        "storage_secrets": secrets,
        "output_file_name": "out.mp4",
    }
    fields.update(extra)
    return Recording(**fields)


def seed(store: Any, app_id: str, rng: random.Random, n: int = 240) -> tuple[list[Meeting], list[Recording]]:
    meetings = [make_meeting(rng, app_id, t) for t in TITLES]
    recs = []
    for i in range(n):
        rec = make_recording(rng, app_id, rng.choice(meetings))
        if i % 9 == 0 and recs:  # ties: the same instant, ordered by id
            rec = replace(rec, invoked_ms=recs[-1].invoked_ms)
        recs.append(rec)
    store.import_recordings(app_id, [(r, next(m for m in meetings if m.id == r.meeting_id)) for r in recs], now=NOW)
    return meetings, recs


# -- the reference --------------------------------------------------------------------------------


def ref_ids(recs: list[Recording], meetings: list[Meeting], params: dict[str, str], now: int) -> list[str]:
    """The list reference (tests/support/listing.py) over ``recs``, for a query in ``query_of``'s terms."""
    titles = {m.id: m.title for m in meetings}
    rows = [
        Listed(r.id, r.invoked_ms, r.download_url_expiry_ms, r.meeting_id, r.status, titles[r.meeting_id]) for r in recs
    ]
    q = ListQuery(
        meeting_id=params.get("meeting_id"),
        start_us=int(params["start_ms"]) * 1000 if "start_ms" in params else None,
        end_us=int(params["end_ms"]) * 1000 if "end_ms" in params else None,
        statuses=frozenset(params["status"].split(",")) if "status" in params else frozenset(),
        expired=params["expired"] == "true" if "expired" in params else None,
        search=params.get("search"),
        ascending=params.get("sort_order", "DESC") != "DESC",
    )
    return listing.ordered(rows, q, now)


def query_of(params: dict[str, str], page_no: int = 1, per_page: int = 100) -> Any:
    wire: dict[str, list[str]] = {}
    for k, v in params.items():
        if k in ("start_ms", "end_ms"):
            wire[k.replace("_ms", "_time")] = [format_ms(int(v))]
        else:
            wire[k] = [v]
    wire["page_no"] = [str(page_no)]
    wire["per_page"] = [str(per_page)]
    return parse_recording_query(wire)


def list_all(store: Any, app_id: str, params: dict[str, str], now: int, per_page: int = 100) -> tuple[list[str], int]:
    ids: list[str] = []
    total = -1
    page = 1
    while True:
        rows, total = store.list_recordings(app_id, query_of(params, page, per_page), now)
        ids += [msgspec.json.decode(r)["id"] for r in rows]
        if not rows or len(ids) >= total:
            return ids, total
        page += 1


def recount(backend: Backend) -> Counter[tuple[int, str, str, int]]:
    """The counters recomputed from the rows themselves."""
    out: Counter[tuple[int, str, str, int]] = Counter()
    for app, status, invoked, expiry in backend.raw("SELECT app, status, invoked_ms, expiry_ms FROM recordings"):
        for dim, st, bucket in counter_keys(status, invoked, expiry):
            out[(int(app), dim, st, bucket)] += 1
    return out


def stored_counts(backend: Backend) -> Counter[tuple[int, str, str, int]]:
    return Counter(
        {
            (int(a), d, s, int(b)): int(n)
            for a, d, s, b, n in backend.raw("SELECT app, dim, status, bucket, n FROM recording_counts")
            if n
        }
    )


# -- accounts, apps, tokens -------------------------------------------------------------------------


def test_accounts(store: Any) -> None:
    assert not store.has_accounts()
    made = store.create_account(now=NOW)
    assert store.has_accounts()
    assert store.get_account(made.id) == made
    assert store.get_account("0" * 32) is None
    given = store.create_account("a" * 32, now=NOW)
    assert given.id == "a" * 32 and store.get_account("a" * 32) == given


def test_apps_create_get_list_and_search(store: Any) -> None:
    account = store.create_account(now=NOW).id
    other = store.create_account(now=NOW).id
    with pytest.raises(NotFound):
        store.create_app("f" * 32, "nobody's", now=NOW)
    names = ["Alpha", "alphabet SOUP", "CAFÉ", "café", "nul\x00name", "beta", "ALPHA two"]
    made = [store.create_app(account, name, now=NOW) for name in names]
    store.create_app(other, "alpha elsewhere", now=NOW)
    fixed = store.create_app(account, "fixed id", app_id="00000000-0000-4000-8000-000000000001", now=NOW)
    made.append(fixed)
    assert fixed.id == "00000000-0000-4000-8000-000000000001"
    for app in made:
        got = store.get_app(app.id)
        assert got is not None and (got.id, got.account_id, got.name) == (app.id, account, app.name)
    assert store.get_app(str(uuid.uuid4())) is None
    order = sorted(made, key=lambda a: (a.created_ms, a.id))
    for ascending in (True, False):
        want = [a.id for a in (order if ascending else order[::-1])]
        apps, total = store.list_apps(account, Page(1, 3), None, ascending)
        assert total == len(made) and [a.id for a in apps] == want[:3]
        apps, total = store.list_apps(account, Page(3, 3), None, ascending)
        assert [a.id for a in apps] == want[6:9]
        assert store.list_apps(account, Page(99, 3), None, ascending) == ([], len(made))
    # SQLite's lower() folds ASCII only: "É" stays upper case, so "é" finds "café" but not "CAFÉ".
    for search, expected in (
        ("alpha", {"Alpha", "alphabet SOUP", "ALPHA two"}),
        ("é", {"café"}),
        ("\x00", {"nul\x00name"}),
    ):
        apps, total = store.list_apps(account, Page(1, 50), search, True)
        assert {a.name for a in apps} == expected and total == len(expected), search


def test_app_recording_config_secrets_sealed(store: Any, backend: Backend, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    config = {"max_seconds": 120, "storage_config": {"type": "aws", "bucket": "b", "secret": SECRET_VALUES[1]}}
    before = store.app_version(app_id)
    store.set_app_recording_config(app_id, config)
    assert store.get_app(app_id).recording_config == config
    raw = b"".join(blob(r[0]) for r in backend.raw("SELECT recording_config FROM apps"))
    assert SECRET_VALUES[1].encode() not in raw and b"$secrets" in raw
    with pytest.raises(NotFound):
        store.set_app_recording_config(str(uuid.uuid4()), config)
    assert store.app_version(app_id)[0] == before[0]
    store.set_app_recording_config(app_id, None)
    assert store.get_app(app_id).recording_config is None


def test_tokens_hash_only_authenticate_and_revoke(store: Any, backend: Backend, tenant: tuple[str, str]) -> None:
    account, _ = tenant
    with pytest.raises(NotFound):
        store.create_token("f" * 32, "Realtime", now=NOW)
    token_id, token = store.create_token(account, "Realtime Admin", now=NOW)
    ro_id, ro = store.create_token(account, "Realtime", now=NOW)
    raw = backend.raw("SELECT id, hash FROM tokens")
    assert all(token not in str(r) and ro not in str(r) for r in raw)
    assert {r[0] for r in raw} == {token_id, ro_id}
    who = store.authenticate(token)
    assert (who.token_id, who.account_id, who.permission, who.can_write) == (token_id, account, "Realtime Admin", True)
    assert store.authenticate(ro).can_write is False
    assert store.authenticate("not-a-token") is None
    assert store.revoke_token(token, now=NOW) is True  # by the token itself
    assert store.authenticate(token) is None
    assert store.revoke_token(token, now=NOW) is False
    assert store.revoke_token(ro_id, now=NOW) is True  # by its id
    assert store.authenticate(ro) is None
    assert store.revoke_token("nothing", now=NOW) is False


# -- meetings ---------------------------------------------------------------------------------------


def test_meetings_create_get_and_list_with_every_filter(store: Any, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    other_app = store.create_app(tenant[0], "other", now=NOW).id
    rng = random.Random(5)
    meetings = []
    for i in range(60):
        m = make_meeting(
            rng,
            app_id,
            TITLES[i % len(TITLES)],
            status=("ACTIVE", "INACTIVE")[i % 2],
            transcribe_on_end=(None, True, False)[i % 3],
            recording_config={"max_seconds": 90, "storage_config": {"type": "sftp", "password": SECRET_VALUES[2]}}
            if i % 5 == 0
            else None,
            ai_config={"summarization": {"word_limit": 200}} if i % 7 == 0 else None,
            session_keep_alive_time_in_secs=(60, 90.5)[i % 2],
        )
        if i % 11 == 0 and meetings:
            m = replace(m, created_ms=meetings[-1].created_ms)  # ties: by id
        store.create_meeting(m)
        meetings.append(m)
    store.create_meeting(make_meeting(rng, other_app, "Weekly Standup"))
    for m in meetings:
        assert store.get_meeting(app_id, m.id) == m
    assert store.get_meeting(other_app, meetings[0].id) is None
    times = sorted(m.created_ms for m in meetings)
    cases: list[dict[str, str]] = [
        {},
        {"status": "ACTIVE"},
        {"status": "INACTIVE"},
        {"start_time": format_ms(times[10])},
        {"end_time": format_ms(times[40])},
        {"start_time": format_ms(times[10]), "end_time": format_ms(times[40]), "status": "ACTIVE"},
        *(
            {"search": s}
            for s in (
                "standup",
                "STAND",
                "é",
                "ß",
                "ss",
                "\x00",
                "\x00y",
                "x\x00yz",
                "%",
                "_",
                "\\",
                '"hi"',
                "本語",
                "no such title",
            )
        ),
        {"search": meetings[3].id.upper()},
        {"search": meetings[3].id, "status": "INACTIVE"},
    ]
    for params in cases:
        hits = []
        for m in meetings:
            if params.get("status") not in (None, m.status):
                continue
            if "start_time" in params and m.created_ms < times[10]:
                continue
            if "end_time" in params and m.created_ms > times[40]:
                continue
            if "search" in params:
                s = params["search"]
                if not (s.lower() == m.id or s.casefold() in (m.title or "").casefold()):
                    continue
            hits.append((m.created_ms, m.id))
        want = [i for _, i in sorted(hits, reverse=True)]
        got: list[str] = []
        page = 1
        while True:
            rows, total = store.list_meetings(
                app_id,
                parse_meeting_query({**{k: [v] for k, v in params.items()}, "per_page": ["7"], "page_no": [str(page)]}),
            )
            assert total == len(want), params
            got += [msgspec.json.decode(r)["id"] for r in rows]
            if not rows:
                break
            page += 1
        assert got == want, params


# -- recordings: insert, read, change, counters -------------------------------------------------------


def test_insert_get_update_and_counters_stay_exact(store: Any, backend: Backend, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    rng = random.Random(11)
    meeting = make_meeting(rng, app_id, "live")
    store.create_meeting(meeting)
    composite = make_recording(
        rng, app_id, meeting, status="INVOKED", config={"max_seconds": 60}, download_url_expiry_ms=None
    )
    store.insert_recording(composite, exclusive=True, now=NOW)
    with pytest.raises(Conflict):
        store.insert_recording(make_recording(rng, app_id, meeting, status="INVOKED"), exclusive=True, now=NOW)
    track = make_recording(rng, app_id, meeting, status="INVOKED", kind="track", download_url_expiry_ms=None)
    store.insert_recording(track, exclusive=True, now=NOW)  # another kind: allowed
    extra = make_recording(rng, app_id, meeting, status="INVOKED", download_url_expiry_ms=None)
    store.insert_recording(extra, exclusive=False, now=NOW)
    got = store.get_recording(app_id, composite.id)
    assert got == replace(composite, storage_secrets=None)  # secrets stay encrypted, unread
    assert store.recording_by_id(track.id).kind == "track"
    assert store.get_recording(store.create_app(tenant[0], "x", now=NOW).id, composite.id) is None
    assert store.recording_by_id(str(uuid.uuid4())) is None
    active = store.active_recordings(app_id, meeting.id)
    assert [r.id for r in active] == [
        r.id for r in sorted([composite, track, extra], key=lambda r: (r.invoked_ms, r.id), reverse=True)
    ]
    if composite.storage_secrets:
        assert store.recording_secrets(composite.id) == composite.storage_secrets
    with pytest.raises(NotFound):
        store.recording_secrets(str(uuid.uuid4()))

    def to(status: str, expiry: int | None = None) -> Callable[[Recording], Recording]:
        return lambda r: replace(
            r, status=status, download_url_expiry_ms=expiry, error="x" if status == "ERRORED" else None
        )

    store.update_recording(composite.id, to("RECORDING"), NOW)
    store.update_recording(composite.id, to("UPLOADING"), NOW)
    done = store.update_recording(composite.id, to("UPLOADED", NOW - 3 * DAY_MS), NOW)
    assert done.status == "UPLOADED" and store.recording_by_id(composite.id) == replace(done, storage_secrets=None)
    store.update_recording(track.id, to("ERRORED"), NOW)
    with pytest.raises(NotFound):
        store.update_recording(str(uuid.uuid4()), to("RECORDING"), NOW)

    def boom(r: Recording) -> Recording:
        raise Conflict("refused")

    with pytest.raises(Conflict):
        store.update_recording(extra.id, boom, NOW)
    assert store.recording_by_id(extra.id).status == "INVOKED"  # nothing written
    assert store.active_recordings(app_id, meeting.id)[0].id == extra.id
    assert stored_counts(backend) == recount(backend)
    rows, total = store.list_recordings(app_id, query_of({"status": "UPLOADED"}), NOW)
    assert total == 1 and msgspec.json.decode(rows[0])["id"] == composite.id
    assert store.list_recordings(app_id, query_of({"expired": "true"}), NOW)[1] == 1


def test_list_every_filter_kind_matches_the_reference(store: Any, backend: Backend, tenant: tuple[str, str]) -> None:
    account, app_id = tenant
    rng = random.Random(23)
    meetings, recs = seed(store, app_id, rng)
    other = store.create_app(account, "noise", now=NOW).id
    seed(store, other, random.Random(24), 40)
    assert stored_counts(backend) == recount(backend)
    times = sorted(r.invoked_ms for r in recs)
    hour = (times[100] // HOUR_MS) * HOUR_MS
    day = (times[50] // DAY_MS) * DAY_MS
    with_title = next(m for m in meetings if m.title == "Weekly Standup")
    cases: list[dict[str, str]] = [
        {},
        {"sort_order": "ASC"},
        {"status": "UPLOADED"},
        {"status": "INVOKED,ERRORED", "sort_order": "ASC"},
        {"status": "INVOKED,RECORDING,PAUSED,UPLOADING,UPLOADED"},
        {"start_ms": str(times[20])},
        {"end_ms": str(times[200])},
        {"start_ms": str(times[20] + 1), "end_ms": str(times[200] - 1)},
        {"start_ms": str(hour), "end_ms": str(hour + HOUR_MS - 1)},
        {"start_ms": str(day), "end_ms": str(day + 2 * DAY_MS - 1), "status": "ERRORED"},
        {"expired": "true"},
        {"expired": "false", "sort_order": "ASC"},
        {"expired": "true", "status": "UPLOADED,ERRORED"},
        {"expired": "true", "start_ms": str(times[30])},
        {"meeting_id": with_title.id},
        {"meeting_id": with_title.id, "status": "UPLOADED", "expired": "false"},
        {"search": "standup"},
        {"search": "STANDUP", "sort_order": "ASC", "status": "INVOKED,UPLOADED"},
        {"search": "é"},
        {"search": "\x00y"},
        {"search": "50%_"},
        {"search": "a\\b"},
        {"search": "zzz-nothing"},
        {"search": recs[7].id.upper()},
        {"search": recs[7].meeting_id},
        {"search": recs[7].id, "expired": "true"},
    ]
    for params in cases:
        want = ref_ids(recs, meetings, params, NOW)
        got, total = list_all(store, app_id, params, NOW, per_page=37)
        assert total == len(want), params
        assert got == want, params
        # one deep page on its own (offset-based, no walk)
        if len(want) > 60:
            rows, total = store.list_recordings(app_id, query_of(params, 3, 25), NOW)
            assert [msgspec.json.decode(r)["id"] for r in rows] == want[50:75], params
    # every item carries its meeting, secrets never
    rows, _ = store.list_recordings(app_id, query_of({}, 1, 100), NOW)
    for raw in rows:
        item = msgspec.json.decode(raw)
        assert item["meeting"]["id"] == next(r.meeting_id for r in recs if r.id == item["id"])
        assert not any(s.encode() in raw for s in SECRET_VALUES)
    assert store.list_recordings(store.create_app(account, "empty", now=NOW).id, query_of({}), NOW) == ([], 0)


def test_search_finds_text_after_a_nul_in_the_title(
    request: pytest.FixtureRequest, backend: Backend, store: Any, tenant: tuple[str, str]
) -> None:
    if backend.kind == "sqlite":
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="SQLite's FTS5 trigram index cuts a title at a NUL (known)")
        )
    _, app_id = tenant
    rng = random.Random(29)
    meeting = make_meeting(rng, app_id, "x\x00y weekly")
    rec = make_recording(rng, app_id, meeting)
    store.import_recordings(app_id, [(rec, meeting)], now=NOW)
    assert list_all(store, app_id, {"search": "weekly"}, NOW) == ([rec.id], 1)
    rows, total = store.list_meetings(app_id, parse_meeting_query({"search": ["WEEKLY"]}))
    assert total == 1 and msgspec.json.decode(rows[0])["id"] == meeting.id


def test_expired_stays_exact_across_the_lapse_sweep(store: Any, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    rng = random.Random(31)
    meeting = make_meeting(rng, app_id, "t")
    recs = [
        replace(
            make_recording(rng, app_id, meeting), download_url_expiry_ms=NOW + rng.randrange(-3 * HOUR_MS, 30 * HOUR_MS)
        )
        for _ in range(150)
    ]
    store.import_recordings(app_id, [(r, meeting) for r in recs], now=NOW)
    for later in (0, 2 * HOUR_MS, 26 * HOUR_MS):
        now = NOW + later
        for sweep in (False, True):
            if sweep:
                assert store.flag_lapsed(now) >= 0
            for expired in ("true", "false"):
                for order in ("ASC", "DESC"):
                    params = {"expired": expired, "sort_order": order}
                    want = ref_ids(recs, [meeting], params, now)
                    assert list_all(store, app_id, params, now, 40) == (want, len(want)), (later, sweep, params)
    assert store.flag_lapsed(NOW + 100 * DAY_MS) > 0
    assert store.flag_lapsed(NOW + 100 * DAY_MS) == 0


# -- imports ----------------------------------------------------------------------------------------


def test_reimport_updates_never_duplicates_and_keeps_secrets_encrypted(
    store: Any, backend: Backend, tenant: tuple[str, str], tmp_path: Path
) -> None:
    account, app_id = tenant
    rng = random.Random(41)
    meetings, recs = seed(store, app_id, rng, 120)
    v1 = store.app_version(app_id)[1]
    changed = [replace(r, status="ERRORED", download_url_expiry_ms=None) for r in recs[:40]]
    # (a title holding a NUL is left alone here: see test_search_finds_text_after_a_nul_in_the_title)
    renamed = {
        m.id: replace(m, title=m.title if "\x00" in (m.title or "") else (m.title or "") + " renamed") for m in meetings
    }
    written = store.import_recordings(app_id, [(r, renamed[r.meeting_id]) for r in changed + changed[:5]], now=NOW)
    assert written == 40
    assert store.app_version(app_id)[1] > v1
    final = {r.id: r for r in recs} | {r.id: r for r in changed}
    assert backend.raw("SELECT COUNT(*) FROM recordings")[0][0] == len(final)
    assert stored_counts(backend) == recount(backend)
    got, total = list_all(store, app_id, {}, NOW)
    assert total == len(final) and set(got) == set(final)
    for rec_id in list(final)[:50]:
        assert store.recording_by_id(rec_id).status == final[rec_id].status
    # titles changed with the re-import
    hits, _ = list_all(store, app_id, {"search": "renamed"}, NOW)
    touched = {r.meeting_id for r in changed if "renamed" in (renamed[r.meeting_id].title or "")}
    assert set(hits) == {r.id for r in final.values() if r.meeting_id in touched}
    # at rest: secrets only encrypted, wherever they are
    everything = b"".join(
        blob(v) for row in backend.raw("SELECT wire, detail, secrets FROM recordings") for v in row
    ) + b"".join(blob(v) for row in backend.raw("SELECT wire, recording_config FROM meetings") for v in row)
    assert not any(s.encode() in everything for s in SECRET_VALUES)
    with_secrets = [r for r in final.values() if r.storage_secrets]
    assert with_secrets
    for r in with_secrets[:10]:
        assert store.recording_secrets(r.id) == r.storage_secrets
    # an id of another app is refused, nothing written
    other = store.create_app(account, "other", now=NOW).id
    with pytest.raises(InvalidRequest):
        store.import_recordings(other, [(replace(recs[0], app_id=other), replace(meetings[0], app_id=other))], now=NOW)
    assert store.conflicting_ids(other, [recs[0].id, str(uuid.uuid4())], [meetings[0].id]) == {
        recs[0].id,
        meetings[0].id,
    }
    assert store.list_recordings(other, query_of({}), NOW) == ([], 0)


def test_import_file_path_stages_and_moves_in_batches(
    store: Any, backend: Backend, tenant: tuple[str, str], tmp_path: Path
) -> None:
    _, app_id = tenant
    rng = random.Random(43)
    lines = []
    ids: dict[str, str] = {}
    meeting = {"id": uid(rng), "title": "Imported Café", "created_at": "2024-05-01T00:00:00.000Z", "status": "ACTIVE"}
    for i in range(300):
        rec_id = uid(rng) if i < 280 else lines[i - 280]["id"]  # the last 20 repeat earlier ids: later wins
        status = STATUSES[i % 6]
        row = {
            "id": rec_id,
            "status": status,
            "invoked_time": format_ms(NOW - rng.randrange(20 * DAY_MS)),
            "download_url_expiry": rng.choice([None, format_ms(NOW - DAY_MS), format_ms(NOW + DAY_MS)]),
            "meeting": meeting,
            "storage_config": {"type": "aws", "bucket": "b", "access_key": SECRET_VALUES[0]},
        }
        ids[rec_id] = status
        lines.append(row)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(msgspec.json.encode(r).decode() + "\n" for r in lines))
    report = import_file(store, path, app_id, batch_size=64, workers=1)
    assert report.ok and report.written == 280  # a repeated id: the later line wins, written once
    assert backend.raw("SELECT COUNT(*) FROM recordings")[0][0] == 280
    assert stored_counts(backend) == recount(backend)
    for rec_id, status in ids.items():
        assert store.recording_by_id(rec_id).status == status
    assert store.list_recordings(app_id, query_of({"search": "café"}), NOW)[1] == 280
    raw = b"".join(blob(r[0]) for r in backend.raw("SELECT secrets FROM recordings"))
    assert SECRET_VALUES[0].encode() not in raw and raw
    # again: updates only
    report = import_file(store, path, app_id, batch_size=1000, workers=1)
    assert report.ok and backend.raw("SELECT COUNT(*) FROM recordings")[0][0] == 280
    assert stored_counts(backend) == recount(backend)


def test_import_file_in_forked_workers(
    store: Any, backend: Backend, tenant: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big files are converted by forked workers that each open their own connections."""
    import recordkit.importer as importer

    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 1)
    _, app_id = tenant
    rng = random.Random(47)
    meeting = {"id": uid(rng), "title": "Forked", "created_at": "2024-05-01T00:00:00.000Z"}
    rows = [
        {"id": uid(rng), "status": "UPLOADED", "invoked_time": format_ms(NOW - i * 1000), "meeting": meeting}
        for i in range(400)
    ]
    path = tmp_path / "big.jsonl"
    path.write_text("".join(msgspec.json.encode(r).decode() + "\n" for r in rows))
    store.app_version(app_id)  # the parent has used its connections before it forks
    report = import_file(store, path, app_id, batch_size=150, workers=2)
    assert report.ok and report.written == 400
    assert store.list_recordings(app_id, query_of({"search": "forked"}), NOW)[1] == 400
    assert stored_counts(backend) == recount(backend)


def test_import_file_in_forked_workers_with_ids_in_both_parts(
    store: Any, backend: Backend, tenant: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id in both halves of a file (two workers, two staging parts): the later line wins and every
    counter stays exact, into an empty app and into one holding rows."""
    import recordkit.importer as importer

    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 1)
    _, app_id = tenant
    rng = random.Random(48)
    meeting = {"id": uid(rng), "title": "Halves", "created_at": "2024-05-01T00:00:00.000Z"}
    first = [
        {"id": uid(rng), "status": "UPLOADED", "invoked_time": format_ms(NOW - i * 60_000), "meeting": meeting}
        for i in range(300)
    ]
    # The second half repeats 40 ids of the first with another status and a time days away.
    again = [
        {**r, "status": "ERRORED", "invoked_time": format_ms(NOW - 9 * DAY_MS - i * 1000)}
        for i, r in enumerate(first[::7][:40])
    ]
    fresh = [
        {"id": uid(rng), "status": "PAUSED", "invoked_time": format_ms(NOW - i * 3000), "meeting": meeting}
        for i in range(260)
    ]
    path = tmp_path / "halves.jsonl"
    path.write_text(
        "".join(msgspec.json.encode(r).decode() + "\n" for r in [*first, *fresh[:130], *again, *fresh[130:]])
    )
    assert len(importer._chunks(path, 2)) == 2 and b"Halves" in path.read_bytes()
    report = import_file(store, path, app_id, batch_size=50, workers=2)
    assert report.ok and report.written == 600  # row writes: the 40 ids are written once per part
    assert backend.raw("SELECT COUNT(*) FROM recordings")[0][0] == 560
    assert stored_counts(backend) == recount(backend)
    for r in again:
        assert store.recording_by_id(r["id"]).status == "ERRORED"
    assert store.list_recordings(app_id, query_of({"status": "ERRORED"}), NOW)[1] == 40
    # into an app that holds rows: the same file again replaces, never adds
    report = import_file(store, path, app_id, batch_size=50, workers=2)
    assert report.ok and backend.raw("SELECT COUNT(*) FROM recordings")[0][0] == 560
    assert stored_counts(backend) == recount(backend)
    assert store.list_recordings(app_id, query_of({"status": "UPLOADED"}), NOW)[1] == 260


# -- leases -----------------------------------------------------------------------------------------


def managed(store: Any, app_id: str, n: int, rng: random.Random) -> list[Recording]:
    meeting = make_meeting(rng, app_id, "leases")
    store.create_meeting(meeting)
    out = []
    for i in range(n):
        rec = make_recording(
            rng, app_id, meeting, status=("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")[i % 6]
        )
        store.insert_recording(rec, exclusive=False, now=NOW)
        out.append(rec)
    return out


def test_claims_from_two_processes_never_overlap(backend: Backend, store: Any, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    recs = managed(store, app_id, 60, random.Random(51))
    unfinished = {r.id for r in recs if r.status in ("INVOKED", "RECORDING", "PAUSED", "UPLOADING")}
    # imported rows are never claimed
    meeting = make_meeting(random.Random(52), app_id, "imported")
    store.import_recordings(
        app_id, [(make_recording(random.Random(53), app_id, meeting, status="INVOKED"), meeting)], now=NOW
    )
    stores = [backend.open(), backend.open()]  # two processes (on other hosts: only lapsed leases are taken)
    owners = ["host-a.example:101", "host-b.example:202"]
    claimed: list[set[str]] = [set(), set()]
    rounds: list[list[set[str]]] = [[], []]

    def worker(i: int) -> None:
        for _ in range(15):
            got, taken = stores[i].claim_unfinished(owners[i], NOW, 15_000)
            assert not taken
            claimed[i].update(r.id for r in got)
            rounds[i].append({r.id for r in got})

    race(worker)
    assert not claimed[0] & claimed[1]
    assert claimed[0] | claimed[1] == unfinished
    for seen in rounds:  # what a process holds it keeps seeing, whatever the other one does meanwhile
        assert all(earlier <= later for earlier, later in itertools.pairwise(seen)), seen
    for rec_id in unfinished:
        owner, lease = store.lease_of(rec_id)
        assert owner == owners[0 if rec_id in claimed[0] else 1] and lease == NOW + 15_000
    # a lapsed lease is taken over
    got, taken = stores[1].claim_unfinished(owners[1], NOW + 16_000, 15_000)
    assert {r.id for r in got} == unfinished and taken == claimed[0]
    # a holder of this host whose process is gone is taken over at once, a live one is not
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    alive = f"{socket.gethostname()}:{os.getpid()}"
    first, second = sorted(unfinished)[:2]
    stores[0].hold_lease(first, dead, NOW + 60_000)
    stores[0].hold_lease(second, alive, NOW + 60_000)
    got, taken = stores[1].claim_unfinished(owners[1], NOW + 17_000, 15_000)
    assert first in taken and first in {r.id for r in got}
    assert second not in {r.id for r in got}
    for s in stores:
        s.close()


def race(worker: Callable[[int], None]) -> None:
    """``worker(0)`` and ``worker(1)`` in two threads released at once (two processes, as far as the
    database can tell, when each uses its own store); fails with what either raised."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            worker(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def _dead_pid() -> int:
    pid = 2**22 - 7
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_retention_expired_files_and_purge(store: Any, tenant: tuple[str, str]) -> None:
    _, app_id = tenant
    rng = random.Random(61)
    recs = managed(store, app_id, 12, rng)
    expiring = [r for r in recs if r.download_url_expiry_ms is not None and r.download_url_expiry_ms <= NOW]
    assert {r.id for r in store.expired_files(NOW)} == {r.id for r in expiring}
    version = store.app_version(app_id)[1]
    for r in expiring:
        store.mark_purged(r.id, NOW)
    assert store.expired_files(NOW) == []
    assert store.app_version(app_id)[1] == version  # nothing a list shows changed


def test_purges_are_leased_to_one_process(backend: Backend, store: Any, tenant: tuple[str, str]) -> None:
    """Every process sweeps retention; ``claim_purge`` lets one of them delete each recording's files."""
    _, app_id = tenant
    recs = managed(store, app_id, 30, random.Random(62))
    for r in recs:  # finished, with links that have expired
        store.update_recording(r.id, lambda x: replace(x, status="UPLOADED", download_url_expiry_ms=NOW - 1), NOW)
    expiring = {r.id for r in store.expired_files(NOW)}
    assert len(expiring) == 30
    stores = [backend.open(), backend.open()]  # two processes on other hosts: only lapsed leases are taken
    owners = ["host-a.example:101", "host-b.example:202"]
    won: list[set[str]] = [set(), set()]

    def worker(i: int) -> None:
        for rec_id in sorted(expiring):
            if stores[i].claim_purge(rec_id, owners[i], NOW, 15_000):
                won[i].add(rec_id)

    race(worker)
    assert not won[0] & won[1] and won[0] | won[1] == expiring
    first, second, third = sorted(expiring)[:3]
    holder = 0 if first in won[0] else 1
    assert stores[holder].claim_purge(first, owners[holder], NOW + 1, 15_000)  # its own lease: renewed
    assert not stores[1 - holder].claim_purge(first, owners[1 - holder], NOW + 2, 15_000)  # live: left alone
    assert stores[1 - holder].claim_purge(first, owners[1 - holder], NOW + 16_002, 15_000)  # lapsed: taken
    store.hold_lease(second, f"{socket.gethostname()}:{_dead_pid()}", NOW + 60_000)
    assert stores[0].claim_purge(second, owners[0], NOW, 15_000)  # a holder of this host that is gone
    store.hold_lease(third, f"{socket.gethostname()}:{os.getpid()}", NOW + 60_000)
    assert not stores[0].claim_purge(third, owners[0], NOW, 15_000)  # ... and one that lives
    store.mark_purged(first, NOW)
    assert not stores[0].claim_purge(first, owners[0], NOW + 60_000, 15_000)  # purged: nothing left to do
    assert not stores[0].claim_purge(str(uuid.uuid4()), owners[0], NOW, 15_000)
    for s in stores:
        s.close()


# -- the list version -------------------------------------------------------------------------------


def test_version_bumps_with_every_visible_write_only(store: Any, tenant: tuple[str, str]) -> None:
    account, app_id = tenant
    other = store.create_app(account, "other", now=NOW).id
    rng = random.Random(71)

    def version() -> int:
        return int(store.app_version(app_id)[1])

    assert store.app_version(str(uuid.uuid4())) is None
    assert store.app_version(app_id)[0] == account
    steps: list[tuple[str, Callable[[], Any], bool]] = []
    meeting = make_meeting(rng, app_id, "v")
    rec = make_recording(rng, app_id, meeting, status="INVOKED", download_url_expiry_ms=None)
    imported = make_recording(rng, app_id, meeting, status="UPLOADED")
    steps += [
        ("create meeting", lambda: store.create_meeting(meeting), True),
        ("insert recording", lambda: store.insert_recording(rec, exclusive=True, now=NOW), True),
        ("claim", lambda: store.claim_unfinished("h.example:1", NOW, 15_000), False),
        ("hold lease", lambda: store.hold_lease(rec.id, "h.example:2", NOW + 1), False),
        ("update", lambda: store.update_recording(rec.id, lambda r: replace(r, status="RECORDING"), NOW), True),
        ("import", lambda: store.import_recordings(app_id, [(imported, meeting)], now=NOW), True),
        ("claim purge", lambda: store.claim_purge(rec.id, "h.example:3", NOW + 10, 15_000), False),
        ("purge", lambda: store.mark_purged(rec.id, NOW), False),
        ("flag lapsed", lambda: store.flag_lapsed(NOW), False),
        ("other app's meeting", lambda: store.create_meeting(make_meeting(rng, other, "o")), False),
    ]
    for name, step, bumps in steps:
        before = version()
        step()
        assert (version() > before) == bumps, name


def test_rotate_secrets_re_encrypts_under_the_first_key(backend: Backend, tenant: tuple[str, str], store: Any) -> None:
    _, app_id = tenant
    rng = random.Random(81)
    recs = managed(store, app_id, 12, rng)
    store.set_app_recording_config(app_id, {"storage_config": {"type": "aws", "secret": SECRET_VALUES[1]}})
    store.create_meeting(
        make_meeting(
            rng, app_id, "m", recording_config={"storage_config": {"type": "sftp", "password": SECRET_VALUES[2]}}
        )
    )
    new_key = Fernet.generate_key()
    rotated_cipher = SecretCipher([new_key, *backend.cipher._keys])
    rotated = backend.open_with(rotated_cipher)
    counts = rotated.rotate_secrets(batch=5)
    assert counts["unreadable"] == 0 and counts["apps"] == 1 and counts["meetings"] == 1
    assert counts["recordings"] == sum(1 for r in recs if r.storage_secrets)
    only_new = backend.open_with(SecretCipher([new_key]))
    for r in recs:
        if r.storage_secrets:
            assert only_new.recording_secrets(r.id) == r.storage_secrets
    assert only_new.get_app(app_id).recording_config["storage_config"]["secret"] == SECRET_VALUES[1]
    rotated.close()
    only_new.close()


def test_postgres_sessions_end_a_transaction_left_idle(pg_url: str) -> None:
    """A process frozen inside a transaction must not hold its leased rows' locks for hours."""
    from recordkit.store.postgres import PostgresRecordingStore

    store = PostgresRecordingStore(pg_url, SecretCipher([Fernet.generate_key()]))
    try:
        with store.pool.connection() as conn:
            (value,) = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    finally:
        store.close()
    assert value == "1min"
