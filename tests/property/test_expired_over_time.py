"""``expired`` stays exact while time passes: rows that expire after an import (not yet flagged
``lapsed``), before and after the sweep that flags them, on both walks and both orders.

The store is asked with an explicit "now" hours and days after the import, which is what a server
running that long would see; the reference is the plain definition ``expiry <= now``.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import msgspec
import pytest

from recordkit.domain.counting import HOUR_MS
from recordkit.domain.importing import decode_recording, to_domain
from recordkit.domain.query import parse_recording_query
from recordkit.settings import Settings
from recordkit.store.factory import open_store
from tests.support import listing
from tests.support.listing import Listed, ListQuery

from ._harness import iso, wall_ms

MINUTE = 60_000
STATUSES = ("UPLOADED", "ERRORED", "RECORDING")


def _row(rng: random.Random, n: int, now: int) -> dict[str, object]:
    invoked = now - rng.randrange(0, 20 * 24) * HOUR_MS - rng.randrange(HOUR_MS)
    # expiries crowd the hours around "now" so that many fall between the import and later reads
    expiry = None if n % 7 == 0 else now + rng.randrange(-3 * HOUR_MS, 30 * HOUR_MS)
    return {
        "id": f"{n:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
        "invoked_time": iso(invoked),
        "download_url_expiry": None if expiry is None else iso(expiry),
        "status": rng.choice(STATUSES),
        "meeting": {"id": f"{n % 5:08x}-1111-4000-8000-000000000000", "title": f"m{n % 5}"},
    }


@pytest.fixture
def loaded() -> tuple[object, str, list[tuple[str, int, int | None]], int]:
    rng = random.Random(7)
    now = wall_ms()
    rows = [_row(rng, n, now) for n in range(600)]
    tmp = tempfile.TemporaryDirectory(prefix="recordkit-expired-")
    settings = Settings.from_env(data_dir=Path(tmp.name))
    store = open_store(settings)
    account = store.create_account(now=now)
    app = store.create_app(account.id, "a", now=now)
    items = [to_domain(decode_recording(msgspec.json.encode(r)), app.id) for r in rows]
    store.import_recordings(app.id, items, now=now)
    facts = [(rec.id, rec.invoked_ms, rec.download_url_expiry_ms) for rec, _ in items]
    yield store, app.id, facts, now
    store.close()
    tmp.cleanup()


def _reference(facts: list[tuple[str, int, int | None]], expired: bool, now: int, ascending: bool) -> list[str]:
    rows = [Listed(rid, inv, exp) for rid, inv, exp in facts]
    return listing.ordered(rows, ListQuery(expired=expired, ascending=ascending), now)


@pytest.mark.parametrize("later_hours", [0, 1, 2, 5, 26, 40])
def test_expired_pages_exact_before_and_after_the_sweep(loaded: tuple, later_hours: int) -> None:  # type: ignore[type-arg]
    store, app_id, facts, t0 = loaded
    now = t0 + later_hours * HOUR_MS + 7 * MINUTE
    for sweep in (False, True):
        if sweep:
            assert store.flag_lapsed(now) >= 0
        for expired in (True, False):
            for ascending in (True, False):
                want = _reference(facts, expired, now, ascending)
                got: list[str] = []
                for page_no in range(1, 40):
                    query = parse_recording_query(
                        {
                            "expired": ["true" if expired else "false"],
                            "sort_order": ["ASC" if ascending else "DESC"],
                            "per_page": ["37"],
                            "page_no": [str(page_no)],
                        }
                    )
                    items, total = store.list_recordings(app_id, query, now)
                    assert total == len(want), (later_hours, sweep, expired)
                    if not items:
                        break
                    got.extend(msgspec.json.decode(item)["id"] for item in items)
                assert got == want, (later_hours, sweep, expired, ascending)


def test_sweep_flags_only_rows_behind_the_cut(loaded: tuple) -> None:  # type: ignore[type-arg]
    store, _app_id, facts, t0 = loaded
    later = t0 + 30 * HOUR_MS
    cut = (later // HOUR_MS - 1) * HOUR_MS
    before = _lapsed(store)
    flagged = store.flag_lapsed(later)
    after = _lapsed(store)
    should = sum(1 for _, _, exp in facts if exp is not None and exp < cut)
    assert after == should and flagged == after - before > 0
    assert store.flag_lapsed(later) == 0  # nothing left to flag


def _lapsed(store: object) -> int:
    sql = "SELECT COUNT(*) FROM recordings WHERE lapsed"
    pool = store.pool  # type: ignore[attr-defined]
    row = pool.get().execute(sql).fetchone() if hasattr(pool, "get") else pool.fetchone(sql)  # SQLite | PostgreSQL
    return int(row[0])
