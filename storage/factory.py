"""Build an `ObjectStore` from its URL, the one setting per copy (`ARCHIVE_STORAGE`, ...)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from storage.local import LocalObjectStore
from storage.protocol import ObjectStore

ACCESS_KEY_ENV = "ARCHIVE_S3_ACCESS_KEY"
SECRET_KEY_ENV = "ARCHIVE_S3_SECRET_KEY"  # noqa: S105 (the variable's name, not a secret)
_S3_OPTIONS = frozenset({"lock", "retention_days", "legal_hold", "secure"})
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def from_url(url: str, name: str) -> ObjectStore:
    """Return the store a URL names; `name` labels the copy in reports ("primary", "replica").

    `file:///absolute/path` (percent-encoding allowed, as `Path.as_uri()` writes it) selects the
    local filesystem store. `s3://ACCESS:SECRET@HOST:PORT/BUCKET?lock=governance&retention_days=3650`
    (or `minio://`) selects MinIO; see `_s3_from_url`. Error messages never repeat the URL, which
    may carry credentials.
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
        return _s3_from_url(url, name)
    raise ValueError(
        f"unsupported storage URL scheme {scheme!r}; use file:///absolute/path or s3://host:port/bucket"
    )


def _flag(options: dict[str, str], name: str, default: bool) -> bool:
    value = options.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"the s3 storage option {name} must be true or false")


def _s3_from_url(url: str, name: str) -> ObjectStore:
    """`s3://[ACCESS:SECRET@]HOST:PORT/BUCKET[?OPTIONS]`, the MinIO store (decision 0007).

    Credentials (percent-encoded) come from the URL or else from ARCHIVE_S3_ACCESS_KEY and
    ARCHIVE_S3_SECRET_KEY. Options: `lock=governance|compliance|off` (default governance: every
    object version gets a retention), `retention_days=N` (default 3650), `legal_hold=true|false`
    (default false), `secure=true|false` (HTTPS; default false only for a loopback host).
    """
    from storage.s3 import DEFAULT_RETENTION_DAYS, MinioObjectStore  # the SDK only when used

    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("an s3 storage URL has an invalid port") from None
    if not host:
        raise ValueError("an s3 storage URL must name a host, e.g. s3://127.0.0.1:9010/archive")
    bucket = unquote(parts.path).strip("/")
    if not bucket or "/" in bucket:
        raise ValueError("an s3 storage URL must name exactly one bucket, e.g. s3://127.0.0.1:9010/archive")
    if parts.fragment:
        raise ValueError("an s3 storage URL must not have a fragment")
    try:
        raw_options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError("an s3 storage URL has a malformed query (expected name=value&...)") from None
    unknown = sorted(set(raw_options) - _S3_OPTIONS)
    if unknown:
        raise ValueError(f"unknown s3 storage option(s) {', '.join(unknown)}; known: {', '.join(sorted(_S3_OPTIONS))}")
    options = {key: values[-1] for key, values in raw_options.items()}
    access = unquote(parts.username) if parts.username else os.environ.get(ACCESS_KEY_ENV, "")
    secret = unquote(parts.password) if parts.password else os.environ.get(SECRET_KEY_ENV, "")
    if not access or not secret:
        raise ValueError(
            f"an s3 storage URL needs credentials: ACCESS:SECRET@ in the URL, or {ACCESS_KEY_ENV} "
            f"and {SECRET_KEY_ENV} in the environment"
        )
    lock = options.get("lock", "governance").lower()
    if lock not in ("governance", "compliance", "off"):
        raise ValueError("the s3 storage option lock must be governance, compliance or off")
    retention = options.get("retention_days", str(DEFAULT_RETENTION_DAYS))
    if not retention.isdigit() or int(retention) < 1:
        raise ValueError("the s3 storage option retention_days must be a whole number of days >= 1")
    endpoint = f"[{host}]" if ":" in host else host
    if port is not None:
        endpoint = f"{endpoint}:{port}"
    return MinioObjectStore(
        endpoint,
        access,
        secret,
        bucket,
        name,
        secure=_flag(options, "secure", host not in _LOOPBACK),
        lock_mode=None if lock == "off" else ("governance" if lock == "governance" else "compliance"),
        retention_days=int(retention),
        legal_hold=_flag(options, "legal_hold", False),
    )
