"""Object keys: the one rule every backend applies, so a key valid on one copy is valid on all.

A key is a relative POSIX path of safe segments. The rule is strict on purpose: the local store
turns a key into a file path under its root, operators read keys in `sha256sum`-style listings,
and the audit compares copies key by key across backends, so a key must never escape the root,
never depend on Unicode normalisation, and mean the same file name everywhere.
"""

from __future__ import annotations

import unicodedata

MAX_KEY_BYTES = 1024
"""S3's limit on key length, applied to every backend so keys stay portable."""

MAX_SEGMENT_BYTES = 255
"""NAME_MAX of common filesystems: each segment is a file or folder name in the local store."""

_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control and invisible formatting characters, lone surrogates, line and paragraph separators:
they break line-oriented listings, cannot be encoded, or make two different keys look alike."""


def _show(key: str) -> str:
    return repr(key) if len(key) <= 80 else repr(key[:80]) + "…"


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key; raise ValueError saying why otherwise.

    Rules: not empty; at most 1024 bytes of UTF-8; already NFC (it is refused, not normalised,
    so the key the catalog records is exactly the key the store lists); no control, formatting,
    surrogate or line-separator characters; no backslash; segments separated by single '/', none
    empty (so no leading or trailing '/'), none longer than 255 bytes, and none starting with '.'
    (that excludes '.' and '..' and reserves dot-names for the stores' own files).
    """
    if not key:
        raise ValueError("an object key must not be empty")
    for char in key:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"object key {_show(key)} contains the character U+{ord(char):04X}")
    if "\\" in key:
        raise ValueError(f"object key {_show(key)} contains a backslash; use '/' between segments")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"object key {_show(key)} is longer than {MAX_KEY_BYTES} bytes of UTF-8")
    if not unicodedata.is_normalized("NFC", key):
        raise ValueError(f"object key {_show(key)} is not in Unicode NFC form")
    if key.startswith("/"):
        raise ValueError(f"object key {_show(key)} must be relative (no leading '/')")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"object key {_show(key)} has an empty segment")
        if segment.startswith("."):
            raise ValueError(f"object key {_show(key)} has a segment starting with '.'")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValueError(
                f"object key {_show(key)} has a segment longer than {MAX_SEGMENT_BYTES} bytes"
            )
    return key
