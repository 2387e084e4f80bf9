"""The destination contract: one set of behaviours of the ``Destination`` port (destinations/base.py),
run over every kind on its local server: aws and digitalocean (moto), azure (Azurite), gcs
(gcp-storage-emulator and a checking token endpoint) and sftp (asyncssh).

What differs between the kinds (their error codes, how a large file goes up, SFTP's absolute paths)
is data in tests/support/destination_kinds.py. What only one kind does stays in its own file:
test_dest_gcs.py (the token exchange), test_dest_sftp.py (key users, known_hosts, the address
policy, the folder a probe creates).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from recordkit.destinations import DestinationError
from recordkit.errors import InvalidRequest
from tests.support.destination_kinds import KINDS, Far, far
from tests.support.destinations import assert_secret_free, check_failure, random_file

BUCKET_KINDS = tuple(kind for kind in KINDS if kind != "sftp")


@pytest.fixture(params=KINDS)
def place(request: pytest.FixtureRequest) -> Far:
    return far(request.param, request)


@pytest.fixture(params=BUCKET_KINDS)
def bucket_place(request: pytest.FixtureRequest) -> Far:
    return far(request.param, request)


def test_describe_names_the_kind_and_the_place_and_no_secret(place: Far) -> None:
    shown = place.open(path=f"{place.base}rec").describe()
    assert place.label in shown
    assert place.where in shown
    assert all(secret not in shown for secret in place.secrets)


@pytest.mark.parametrize("spelling", ["recordings/2026/", "recordings/2026", "/recordings/2026/", "/recordings/2026"])
def test_put_stores_the_bytes_under_path_and_prefix(place: Far, tmp_path: Path, spelling: str) -> None:
    rooted = spelling.startswith("/")
    dest = place.open(path=("/" if rooted else "") + place.base + spelling.lstrip("/"), prefix="acme")
    source, data = random_file(tmp_path, 300 * 1024, "meeting.mp4")
    key = dest.put(source, "meeting.mp4")
    # a bucket has no root but its own: a leading "/" changes nothing; on SFTP it is the server's root
    assert key == ("/" if rooted and place.keeps_root else "") + f"{place.base}recordings/2026/acme_meeting.mp4"
    assert place.read(key) == data
    assert place.listing() == [key.removeprefix("/")]  # that object only: no temporary file left behind
    if place.content_type is not None:
        assert place.content_type(key) == "video/mp4"


def test_a_large_file_goes_up_whole(place: Far, tmp_path: Path) -> None:
    dest = place.open(path=f"{place.base}big")
    source, data = random_file(tmp_path, 9 * 1024 * 1024 + 123)
    key = dest.put(source, "rec.mp4")
    assert key == f"{place.base}big/rec.mp4"
    assert place.read(key) == data
    if place.went_in_parts is not None:  # multipart (S3), blocks (Azure), resumable (GCS)
        assert place.went_in_parts(key)


@pytest.mark.parametrize("rooted", [False, True])
def test_put_replaces_and_delete_removes(place: Far, tmp_path: Path, rooted: bool) -> None:
    dest = place.open(path=("/" if rooted else "") + f"{place.base}p")
    first, _ = random_file(tmp_path, 1000)
    second, data = random_file(tmp_path, 2000)
    key = dest.put(first, "x.mp4")
    assert key == ("/" if rooted and place.keeps_root else "") + f"{place.base}p/x.mp4"
    assert dest.put(second, "x.mp4") == key  # the same name: replaced, not a second object
    assert place.read(key) == data
    assert place.listing() == [key.removeprefix("/")]
    dest.delete(key)
    assert place.listing() == []
    dest.delete(key)  # already gone: fine
    other_root = key.removeprefix("/") if key.startswith("/") else f"/{key}"
    for outside in ("x.mp4", f"{place.base}q/x.mp4", f"{place.base}p/../x.mp4", other_root):
        with pytest.raises(InvalidRequest, match=r"not under storage_config\.path"):
            dest.delete(outside)


def test_probe_writes_and_deletes_only_its_own_object(place: Far, tmp_path: Path) -> None:
    dest = place.open(path=f"{place.base}probe/here")
    dest.probe()
    assert place.listing() == []
    source, data = random_file(tmp_path, 1000)
    key = dest.put(source, "rec.webm")
    dest.probe()
    assert place.listing() == [key.removeprefix("/")]
    assert place.read(key) == data


@pytest.mark.parametrize("variant", [0, 1])
def test_bad_credentials_are_permanent_named_and_secret_free(place: Far, variant: int) -> None:
    bad = place.bad_credentials[variant]
    dest = place.open(**bad.changes)
    with pytest.raises(DestinationError) as caught:
        dest.probe()
    check_failure(caught.value, transient=False, secrets=(*place.secrets, *bad.secrets))
    assert caught.value.message.startswith(f"{dest.describe()}: "), bad.label  # which destination
    if bad.says is not None:
        assert re.search(bad.says, caught.value.message), (bad.label, caught.value.message)


def test_a_missing_bucket_is_permanent_named_and_secret_free(bucket_place: Far, tmp_path: Path) -> None:
    assert bucket_place.missing_bucket is not None and bucket_place.missing_says is not None
    dest = bucket_place.missing_bucket()
    source, _ = random_file(tmp_path, 10)
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=False, secrets=bucket_place.secrets)
    assert caught.value.message.startswith(f"{dest.describe()}: ")
    assert re.search(bucket_place.missing_says, caught.value.message), caught.value.message


def test_an_unreachable_server_is_transient_and_quick(place: Far, tmp_path: Path) -> None:
    dest = place.down()
    source, _ = random_file(tmp_path, 10)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        dest.put(source, "x.mp4")
    check_failure(caught.value, transient=True, secrets=place.secrets)
    if place.down_says is not None:
        assert place.down_says in caught.value.message
    assert time.monotonic() - started < place.down_seconds


def test_a_missing_local_file_is_the_callers_error(place: Far, tmp_path: Path) -> None:
    dest = place.open(path=f"{place.base}p")
    with pytest.raises(FileNotFoundError):
        dest.put(tmp_path / "never-written.mp4", "x.mp4")
    assert place.listing() == []


def test_repr_and_str_of_an_error_carry_no_secret(place: Far) -> None:
    bad = place.bad_credentials[0]
    with pytest.raises(DestinationError) as caught:
        place.open(**bad.changes).probe()
    assert_secret_free(caught.value, *place.secrets, *bad.secrets)
    assert repr(caught.value) == f"DestinationError({caught.value.message!r}, transient=False)"
