"""Receiving a request body as a file: streamed to disk with constant memory, within the limit.

The package is hashed while it is written, so an `Idempotency-Key` can be compared with the body it
was first used with, without reading the file again.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from archive_service.errors import ArchiveError, BadRequestError, ExitCode, InvalidPackageError

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
MULTIPART_TYPE = "multipart/form-data"
FILE_FIELD = "file"
# What a multipart envelope may add to the package: boundaries, part headers and small fields.
_ENVELOPE_ALLOWANCE = 1024 * 1024


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


def check_zip_request(request: Request, limit: int) -> str:
    """Refuse before reading: a content type other than ZIP or multipart (415), a declared length
    over the limit (413). Returns the media type."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ZIP_TYPES | {MULTIPART_TYPE}:
        raise UnsupportedMediaTypeError(
            f"Kiểu nội dung '{content_type or '(không có)'}' không được hỗ trợ; gửi application/zip "
            f"hoặc multipart/form-data với trường '{FILE_FIELD}'",
            f"Content type '{content_type or '(none)'}' is not supported; send application/zip "
            f"or multipart/form-data with a '{FILE_FIELD}' field",
            [{"accepted": [*sorted(ZIP_TYPES), MULTIPART_TYPE]}],
        )
    declared = request.headers.get("content-length", "")
    allowance = _ENVELOPE_ALLOWANCE if content_type == MULTIPART_TYPE else 0
    if declared.isdigit() and int(declared) > limit + allowance:
        raise _too_large(limit)
    return content_type


class _PackageSink:
    """Writes the package's bytes to a file, hashing and counting them against the limit."""

    def __init__(self, out: BinaryIO, limit: int) -> None:
        self.out = out
        self.limit = limit
        self.digest = hashlib.sha256()
        self.size = 0

    def package_bytes(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.digest.update(data)
        self.out.write(data)

    def write(self, chunk: bytes) -> None:
        """A chunk of the request body (here: the package itself)."""
        self.package_bytes(chunk)

    def finish(self) -> None:
        """Called once the body has ended."""


class _MultipartSink(_PackageSink):
    """The package is the multipart part named `file`; other parts are read and ignored.

    The part is parsed as it streams (python-multipart's push parser), so the package is never
    held in memory, and its SHA-256 is that of the package alone: a retry through multipart or as
    a plain body matches the same `Idempotency-Key`.
    """

    def __init__(self, out: BinaryIO, limit: int, content_type: str) -> None:
        super().__init__(out, limit)
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise BadRequestError(
                "Thiếu boundary trong Content-Type multipart", "The multipart Content-Type has no boundary"
            )
        self.received = 0
        self.found = self.active = self.ended = False
        self._field = b""
        self._value = b""
        self._disposition = b""
        callbacks: dict[str, Any] = {
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        self.parser = MultipartParser(boundary, cast(Any, callbacks))

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.limit + _ENVELOPE_ALLOWANCE:
            raise _too_large(self.limit)
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise _bad_multipart() from exc

    def finish(self) -> None:
        if not self.ended or not self.found:
            raise _bad_multipart()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        if self._field.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._field = self._value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self.active = not self.found and options.get(b"name") == FILE_FIELD.encode()
        self.found = self.found or self.active
        self._disposition = b""

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.active:
            self.package_bytes(data[start:end])

    def _on_part_end(self) -> None:
        self.active = False

    def _on_end(self) -> None:
        self.ended = True


def _bad_multipart() -> BadRequestError:
    return BadRequestError(
        f"Thân multipart không đọc được hoặc thiếu trường '{FILE_FIELD}' chứa gói ZIP",
        f"The multipart body cannot be read or has no '{FILE_FIELD}' field holding the ZIP package",
    )


async def receive_zip(request: Request, target: Path, limit: int) -> ReceivedBody:
    """Write the package to `target` (via a `.part` file), hashing it; 413 as soon as it passes
    `limit` bytes, 400 when it is not a readable ZIP. Nothing is left behind on failure.

    The body is either the ZIP itself or multipart/form-data with the ZIP in its `file` part.
    """
    content_type = check_zip_request(request, limit)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with part.open("wb") as out:
            sink = (
                _MultipartSink(out, limit, request.headers["content-type"])
                if content_type == MULTIPART_TYPE
                else _PackageSink(out, limit)
            )
            async for chunk in request.stream():
                await anyio.to_thread.run_sync(sink.write, chunk)
            sink.finish()
        _check_zip(await anyio.to_thread.run_sync(zipfile.is_zipfile, part))
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return ReceivedBody(target, sink.digest.hexdigest(), sink.size)


def _check_zip(readable: bool) -> None:
    if not readable:
        raise InvalidPackageError("Nội dung gửi lên không phải tệp ZIP đọc được", "The body is not a readable ZIP file")
