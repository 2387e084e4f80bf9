"""Search (SPEC §3): meeting id, recording id, or a str.casefold substring of the meeting title."""

from __future__ import annotations

import pytest

from ._harness import (
    T2020,
    ListQuery,
    MeetingSpec,
    Model,
    RecSpec,
    fresh_api,
)
from ._requests import (
    check_request,
)

UNICODE_TITLES = (
    "Straße meeting",
    "STRASSE",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος ς",
    "İstanbul",
    "istanbul",
    "ﬁle share",
    "FILE",
    "ǅungla",
    "Weekly SYNC",
    'say "hi"',
    "50%_off",
    "a*b OR c",
    "col:on",
    "tab\there",
    "日本語の会議",
    "",
    None,
)
UNICODE_SEARCHES = (
    "ß",
    "ss",
    "SS",
    "straße",
    "STRASSE",
    "Strasse meet",
    "ς",
    "σ",  # noqa: RUF001 - the Greek letter on purpose
    "Σ",
    "ΣΊΣ",
    "σίσυφος",
    "İ",
    "i̇",
    "i",
    "I",
    "İstan",
    "ISTANBUL",
    "ﬁ",
    "fi",
    "FI",
    "ﬁle",
    "FILE S",
    "ǆ",
    "ǅ",
    "Ǆ",
    "ǆungla",
    "sync",
    "WEEKLY sync",
    '"hi"',
    '"',
    'say "',
    "%",
    "_",
    "%_",
    "0%_",
    "*",
    "a*b",
    "* OR",
    "OR c",
    "col:on",
    ":",
    "\t",
    "tab\th",
    "本語",
    "日本語の会議",
    " ",
    "  ",
    "no match",
)
# A NUL anywhere in a query string is bad input (400, recordkit.api.guard), searches included.
NUL_SEARCHES = ("\x00", "sta\x00")


def test_search_case_folding_and_special_characters() -> None:
    """Search is a case-insensitive (str.casefold) substring of the title, whatever the characters."""
    model = Model()
    batch = []
    for n, title in enumerate(UNICODE_TITLES):
        meeting = MeetingSpec(id=f"00000000-0000-4000-8000-{n:012d}", title=title, created_ms=T2020, updated_ms=T2020)
        rec = RecSpec(
            id=f"10000000-0000-4000-8000-{n:012d}", meeting_id=meeting.id, status="UPLOADED", invoked_ms=T2020 + n
        )
        batch.append((rec, meeting))
    model.apply(batch)
    with fresh_api() as api:
        api.import_batch(batch)
        for text in UNICODE_SEARCHES:
            for variant in {text, text.upper(), text.lower(), text.casefold()}:
                q = ListQuery(search=variant, per_page=100)
                check_request(api, model, [("search", variant), ("per_page", "100")], q)
        for text in NUL_SEARCHES:
            resp = api.list([("search", text)])
            assert resp.status_code == 400 and "NUL" in resp.json()["error"]["message"]


def test_search_finds_text_after_a_nul_in_the_title(request: pytest.FixtureRequest, store_backend: str) -> None:
    if store_backend == "sqlite":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="a meeting title holding a NUL is cut at the NUL by the FTS5 trigram index, so searches of "
                "3+ characters never find text after it (shorter searches scan and do)",
            )
        )
    meeting = MeetingSpec(
        id="00000000-0000-4000-8000-000000000001", title="x\x00y weekly", created_ms=T2020, updated_ms=T2020
    )
    rec = RecSpec(id="10000000-0000-4000-8000-000000000001", meeting_id=meeting.id, status="UPLOADED", invoked_ms=T2020)
    model = Model()
    model.apply([(rec, meeting)])
    with fresh_api() as api:
        api.import_batch([(rec, meeting)])
        check_request(api, model, [("search", "weekly")], ListQuery(search="weekly"))
