"""Object names at a destination: path + file_name_prefix + file name, never escaping path."""

from __future__ import annotations

import posixpath
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recordkit.domain.naming import build_name, key_under, object_name, parse_path
from recordkit.errors import InvalidRequest


@pytest.mark.parametrize(
    ("path", "prefix", "name", "key"),
    [
        (None, None, "rec.mp4", "rec.mp4"),
        ("", None, "rec.mp4", "rec.mp4"),
        ("a/b", None, "rec.mp4", "a/b/rec.mp4"),
        ("a/b/", None, "rec.mp4", "a/b/rec.mp4"),
        ("/a/b", None, "rec.mp4", "a/b/rec.mp4"),
        ("//a///b//", None, "rec.mp4", "a/b/rec.mp4"),
        ("/", None, "rec.mp4", "rec.mp4"),
        ("a/b", "acme", "rec.mp4", "a/b/acme_rec.mp4"),
        (None, "acme-1_x", "rec.mp4", "acme-1_x_rec.mp4"),
        ("recordings", "p", "tracks/alice.webm", "recordings/tracks/p_alice.webm"),
        ("with space/é", None, "x.mp4", "with space/é/x.mp4"),
        ("a..b/.hidden/...", None, "x.mp4", "a..b/.hidden/.../x.mp4"),
    ],
)
def test_names(path: str | None, prefix: str | None, name: str, key: str) -> None:
    assert object_name(path, prefix, name) == key


def test_sftp_keeps_an_absolute_path() -> None:
    assert build_name("/srv/up/", None, "x.mp4").remote_path == "/srv/up/x.mp4"
    assert build_name("srv/up", None, "x.mp4").remote_path == "srv/up/x.mp4"
    assert build_name(None, None, "x.mp4").remote_path == "x.mp4"


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../x",
        "a/../../x",
        "a/..",
        "/..",
        "./a",
        "a/./b",
        "a\\b",
        "..\\x",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a\x7fb",
        "a\u2028b",
        "a\ud800b",
    ],
)
def test_bad_paths_name_the_field(path: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^storage_config\.path: "):
        object_name(path, None, "x.mp4")


@pytest.mark.parametrize("prefix", ["", "a/b", "..", "a b", "a.b", "x" * 101, "é"])
def test_bad_prefixes_name_the_field(prefix: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^file_name_prefix: "):
        object_name("a", prefix, "x.mp4")


@pytest.mark.parametrize("name", ["", "/x.mp4", "x/", "../x.mp4", "a/../x.mp4", "..", ".x", "a\\b.mp4", "a b.mp4"])
def test_bad_file_names(name: str) -> None:
    with pytest.raises(InvalidRequest, match="file name"):
        object_name("a", None, name)


def test_path_length_is_bounded() -> None:
    with pytest.raises(InvalidRequest, match=r"storage_config\.path: must be at most"):
        parse_path("a/" * 300)
    with pytest.raises(InvalidRequest, match=r"storage_config\.path: each folder"):
        parse_path("x" * 256)


def test_key_under() -> None:
    folder = parse_path("/a/b")
    assert key_under(folder, "a/b/x.mp4")
    assert key_under(folder, "a/b/c/x.mp4")
    assert not key_under(folder, "a/x.mp4")
    assert not key_under(folder, "a/b")
    assert not key_under(folder, "a/b/../x.mp4")
    assert not key_under(folder, "/a/b/x.mp4")
    assert key_under(folder, "/a/b/x.mp4", keep_root=True)
    assert not key_under(folder, "a/b/x.mp4", keep_root=True)
    assert key_under(parse_path(None), "x.mp4")
    assert not key_under(parse_path(None), "")


_texts = st.text(alphabet=st.sampled_from([*"ab./\\_-", "\x00", "\n", "é", " "]), max_size=30)


@given(path=st.one_of(st.none(), _texts, st.text(max_size=40)), name=st.sampled_from(["x.mp4", "d/x.mp4"]))
@example(path="../..", name="x.mp4")
@example(path="/a/../../etc", name="x.mp4")
@example(path="a\\..\\..", name="x.mp4")
def test_names_never_escape_the_path(path: str | None, name: str) -> None:
    try:
        result = build_name(path, None, name)
    except InvalidRequest as exc:
        assert exc.message.startswith("storage_config.path: ")
        return
    key = result.key
    parts = key.split("/")
    assert "" not in parts and "." not in parts and ".." not in parts
    assert "\\" not in key and not any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in key)
    assert posixpath.normpath(key) == key
    folders = [s for s in (path or "").split("/") if s]
    assert parts[: len(folders)] == folders  # the configured folder first, untouched
    assert key.endswith(name)
    assert key_under(parse_path(path), key)
    assert key_under(parse_path(path), result.remote_path, keep_root=True)


@given(
    prefix=st.one_of(st.none(), st.text(max_size=12)),
    name=st.text(max_size=20),
)
def test_prefix_and_name_cannot_add_folders_outside(prefix: str | None, name: str) -> None:
    try:
        result = build_name("base/dir", prefix, name)
    except InvalidRequest:
        return
    assert result.folders[:2] == ("base", "dir")
    assert all(p not in ("", ".", "..") for p in result.key.split("/"))
    assert posixpath.normpath(result.key) == result.key
    if prefix:
        assert result.leaf.startswith(f"{prefix}_")
