"""Streaming SHA-256: the single hashing code path of every backend.

Fixity is computed by the application while the bytes stream past, never taken from the backend
(an S3 ETag or multipart checksum is not a SHA-256 of the object), and always in fixed-size
chunks so memory stays constant whatever the object size.
"""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from storage.errors import IntegrityMismatch
from storage.protocol import ObjectInfo

CHUNK_SIZE = 1 << 20
"""Bytes read or written at a time by every backend (1 MiB)."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class HashingReader:
    """Wraps a binary stream and hashes and counts every byte read through it.

    Backends hand it to whatever consumes the stream (a temp file, an SDK upload) and compare
    `hexdigest()` with the expected SHA-256 afterwards, so the bytes are read exactly once.
    Read it in chunks: `read()` without a size materialises the rest of the stream.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def sha256_stream(stream: BinaryIO, chunk: int = CHUNK_SIZE) -> tuple[str, int]:
    """Read `stream` to its end in `chunk`-sized pieces; return (hex SHA-256, size in bytes)."""
    reader = HashingReader(stream)
    while reader.read(chunk):
        pass
    return reader.hexdigest(), reader.size


def normalise_sha256(value: str) -> str:
    """Return `value` as 64 lowercase hex digits; raise ValueError for anything that is not one.

    Case is accepted either way because senders' METS checksums are often upper case.
    """
    lowered = value.lower()
    if not _SHA256_HEX.fullmatch(lowered):
        raise ValueError(f"not a SHA-256 hex digest: {value[:80]!r}")
    return lowered


def check_stream(key: str, expected: str, found: str) -> None:
    """Refuse bytes whose SHA-256 is not the one the caller expected (nothing is stored)."""
    if found != expected:
        raise IntegrityMismatch(
            key,
            "the bytes received do not have the expected SHA-256; nothing was stored",
            expected=expected,
            found=found,
        )


def same_or_refuse(existing: ObjectInfo, expected: str) -> ObjectInfo:
    """A re-put of the same object is a no-op; other bytes under a stored key are refused."""
    if existing.sha256 != expected:
        raise IntegrityMismatch(
            existing.key,
            "a different object is already stored under this key; stored objects are immutable",
            expected=expected,
            found=existing.sha256,
        )
    return existing
