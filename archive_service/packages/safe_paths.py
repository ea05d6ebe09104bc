"""Entry names from a package, made safe or refused (zip slip, absolute paths, device names).

A name is accepted only if it is a relative path whose every part is an ordinary name; the
result is NFC, uses `/` and has no empty or `.` parts. Nothing here touches the filesystem.
"""

from __future__ import annotations

import re
import unicodedata

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafePathError(ValueError):
    """The name would escape the package or cannot name a plain file; `reason_vi`/`reason_en` say why."""

    def __init__(self, name: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(f"{name!r}: {reason_en}")
        self.name = name
        self.reason_vi = reason_vi
        self.reason_en = reason_en


def safe_relative_path(name: str) -> str:
    """Return `name` as a clean relative POSIX path, or raise `UnsafePathError`."""
    if _CONTROL.search(name):
        raise UnsafePathError(name, "tên chứa ký tự điều khiển", "the name contains control characters")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        raise UnsafePathError(name, "đường dẫn tuyệt đối", "absolute path")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(name, "đường dẫn chứa '..' thoát khỏi gói", "the path contains '..'")
    if not parts:
        raise UnsafePathError(name, "tên rỗng", "empty name")
    return unicodedata.normalize("NFC", "/".join(parts))


def join_relative(base: str, href: str) -> str:
    """Resolve `href` (as written in a METS file) against the folder `base`, refusing escapes.

    `base` is a clean relative folder ('' for the package root); the result is clean too.
    """
    clean = safe_relative_path(href)
    return f"{base}/{clean}" if base else clean
