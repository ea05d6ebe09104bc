"""Build an `ObjectStore` from its URL, the one setting per copy (`ARCHIVE_STORAGE`, ...)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.local import LocalObjectStore
from storage.protocol import ObjectStore


def from_url(url: str, name: str) -> ObjectStore:
    """Return the store a URL names; `name` labels the copy in reports ("primary", "replica").

    `file:///absolute/path` (percent-encoding allowed, as `Path.as_uri()` writes it) selects the
    local filesystem store. Error messages never repeat the URL: a future s3:// URL may carry
    credentials.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(
                "a file storage URL must name an absolute local path with three slashes, "
                "e.g. file:///var/lib/archive/store (a host name is not allowed)"
            )
        if parts.query or parts.fragment:
            raise ValueError("a file storage URL must not have a query or fragment")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ValueError(
                "a file storage URL must name an absolute path, e.g. file:///var/lib/archive/store"
            )
        return LocalObjectStore(Path(path), name)
    if not scheme:
        raise ValueError("a storage URL needs a scheme, e.g. file:///var/lib/archive/store")
    if scheme in ("s3", "minio"):
        raise ValueError(f"{scheme}:// storage is not implemented yet; use file:///absolute/path")
    raise ValueError(f"unsupported storage URL scheme {scheme!r}; use file:///absolute/path")
