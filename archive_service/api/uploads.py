"""Receiving a request body as a file: streamed to disk with constant memory, within the limit.

The body is hashed while it is written, so an `Idempotency-Key` can be compared with the body it
was first used with, without reading the file again.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.requests import Request

from archive_service.errors import ArchiveError, ExitCode, InvalidPackageError

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})


class UnsupportedMediaTypeError(ArchiveError):
    code = "unsupported_media_type"
    http_status = 415
    exit_code = ExitCode.REFUSED


class PayloadTooLargeError(ArchiveError):
    code = "payload_too_large"
    http_status = 413
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class ReceivedBody:
    path: Path
    sha256: str
    size: int


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Gói vượt quá giới hạn {limit} byte", f"The package exceeds the limit of {limit} bytes", [{"limit": limit}]
    )


def check_zip_request(request: Request, limit: int) -> None:
    """Refuse before reading: a content type other than ZIP (415), a declared length over the limit (413)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ZIP_TYPES:
        raise UnsupportedMediaTypeError(
            f"Kiểu nội dung '{content_type or '(không có)'}' không được hỗ trợ; gửi application/zip",
            f"Content type '{content_type or '(none)'}' is not supported; send application/zip",
            [{"accepted": sorted(ZIP_TYPES)}],
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def receive_zip(request: Request, target: Path, limit: int) -> ReceivedBody:
    """Write the body to `target` (via a `.part` file), hashing it; 413 as soon as it passes
    `limit` bytes, 400 when it is not a readable ZIP. Nothing is left behind on failure."""
    check_zip_request(request, limit)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with part.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                _check_size(size, limit)
                digest.update(chunk)
                await anyio.to_thread.run_sync(out.write, chunk)
        _check_zip(await anyio.to_thread.run_sync(zipfile.is_zipfile, part))
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return ReceivedBody(target, digest.hexdigest(), size)


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise _too_large(limit)


def _check_zip(readable: bool) -> None:
    if not readable:
        raise InvalidPackageError("Nội dung gửi lên không phải tệp ZIP đọc được", "The body is not a readable ZIP file")
