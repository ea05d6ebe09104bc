from __future__ import annotations

import posixpath
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.keys import MAX_KEY_BYTES, MAX_SEGMENT_BYTES, validate_key


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "aip/0d3c9a/METS.xml",
        "Phông-01/Hồ sơ 2024/Quyết định số 12.pdf",
        "a..b/c.d.",  # dots are fine inside a segment
        "x" * MAX_SEGMENT_BYTES,
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


def test_longest_key_is_accepted() -> None:
    vietnamese = "ệ" * (MAX_SEGMENT_BYTES // 3)  # 3 bytes of UTF-8 each
    key = "/".join([vietnamese, "x" * 255, vietnamese, "x" * 254, "y"])
    assert len(key.encode()) == MAX_KEY_BYTES
    assert validate_key(key) == key
    with pytest.raises(ValueError, match="1024 bytes"):
        validate_key(key + "x")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("a/", "empty segment"),
        ("a//b", "empty segment"),
        (".", "'.'"),
        ("..", "'.'"),
        ("a/../../b", "'.'"),
        ("a/./b", "'.'"),
        (".fixity/a", "'.'"),
        ("a/.tmp-0123", "'.'"),
        ("a\\b", "backslash"),
        ("a\x00b", "U\\+0000"),
        ("a\tb", "U\\+0009"),
        ("a\x7fb", "U\\+007F"),
        ("a\u202eb", "U\\+202E"),  # right-to-left override: spoofs the rest of the name
        ("a\u2028b", "U\\+2028"),
        ("a\ud800b", "U\\+D800"),  # lone surrogate, cannot be encoded
        ("Quye\u0302\u0301t.pdf", "NFC"),
        ("x" * (MAX_SEGMENT_BYTES + 1), "segment longer"),
        ("ệ" * 86, "segment longer"),  # 258 bytes in 86 characters
    ],
)
def test_invalid_keys_are_refused_with_the_reason(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_key(key)


def test_long_keys_are_shortened_in_messages() -> None:
    with pytest.raises(ValueError, match="is longer than") as caught:
        validate_key("x" * 5000)
    assert len(str(caught.value)) < 200


SEGMENT_PARTS = st.sampled_from(
    ["a", "Hồ sơ", ".", "..", "/", "\\", "\x00", "e\u0301", " ", "x" * 200]
)
KEYISH = st.lists(SEGMENT_PARTS, max_size=12).map("".join)


@given(st.one_of(st.text(), KEYISH))
def test_accepted_keys_never_escape_the_root(key: str) -> None:
    try:
        validate_key(key)
    except ValueError:
        return
    root = "/srv/store"
    joined = posixpath.join(root, key)
    assert posixpath.normpath(joined) == joined  # nothing for a path resolver to collapse
    assert joined.startswith(root + "/")
    assert not any(segment in ("", ".", "..") for segment in key.split("/"))
    assert unicodedata.is_normalized("NFC", key)
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
