"""Virus scanning through a running ClamAV daemon (`clamd`), over its socket protocol.

The archive streams each file with clamd's `INSTREAM` command (4-byte big-endian chunk lengths,
a zero-length chunk to end), so clamd needs no access to the archive's work folders and may run
on another host. The few lines of protocol are ours rather than a client library's: the PyPI
clients are unmaintained or add nothing (docs/decisions/0016-file-probes.md).

`address` is a unix socket path (`/run/clamav/clamd.ctl`, optionally `unix:` prefixed) or
`host:port` (optionally `tcp://`). A daemon that cannot be reached raises `BackendUnavailableError`:
the transfer waits and is retried, it is never passed as "clean". A file clamd refuses to read
whole (beyond its `StreamMaxLength`) or larger than ClamAV can scan at all (2 GiB) is "not scanned",
never "clean".
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from archive_service.errors import BackendUnavailableError

CHUNK_BYTES = 1024 * 1024
# ClamAV scans nothing beyond 2 GiB whatever its settings (MaxScanSize/MaxFileSize/StreamMaxLength).
CLAMAV_MAX_BYTES = 2**31 - 1
TIMEOUT_SECONDS = 120.0
SLOWEST_SCAN_BYTES_PER_SECOND = 2_000_000  # the reply may take this long per byte with a full database
_REPLY_LIMIT = 64 * 1024
_LIMIT_ALERT = "Heuristics.Limits.Exceeded"


@dataclass(frozen=True)
class ScanResult:
    """clamd's verdict on one file: "clean", "infected" (with the signature) or "not_scanned" (why)."""

    status: str
    signature: str = ""
    reason: str = ""


class Clamd:
    """A client of one clamd; each command opens its own connection (clamd closes it after a reply)."""

    def __init__(self, address: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.address = address
        self.timeout = timeout

    def version(self) -> str:
        """clamd's version line, e.g. "ClamAV 1.4.6/27000/Mon Nov 23 08:00:00 2026" (engine/db)."""
        with self._connect() as conn:
            conn.sendall(b"zVERSION\0")
            return _reply(conn)

    def scan(self, path: Path) -> ScanResult:
        """Stream the file at `path` to clamd and read its verdict."""
        size = path.stat().st_size
        if size > CLAMAV_MAX_BYTES:
            return ScanResult("not_scanned", reason=f"larger than ClamAV can scan ({size} > {CLAMAV_MAX_BYTES} bytes)")
        with self._connect() as conn:
            try:
                conn.sendall(b"zINSTREAM\0")
                with path.open("rb") as stream:
                    while chunk := stream.read(CHUNK_BYTES):
                        conn.sendall(struct.pack("!L", len(chunk)) + chunk)
                conn.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stops reading past StreamMaxLength and has said why: read its reply
            except OSError as exc:  # a timeout or a dropped link while sending
                raise BackendUnavailableError(
                    f"Gửi tệp tới trình quét virus ClamAV thất bại: {exc}",
                    f"Sending the file to the ClamAV virus scanner failed: {exc}",
                ) from exc
            conn.settimeout(self.timeout + size / SLOWEST_SCAN_BYTES_PER_SECOND)  # clamd scans after the last byte
            return _verdict(_reply(conn))

    def _connect(self) -> socket.socket:
        family, target = _parse(self.address)
        conn = socket.socket(family, socket.SOCK_STREAM)
        conn.settimeout(self.timeout)
        try:
            conn.connect(target)
        except OSError as exc:
            conn.close()
            raise BackendUnavailableError(
                f"Không kết nối được trình quét virus ClamAV tại {self.address}: {exc}",
                f"The ClamAV virus scanner at {self.address} cannot be reached: {exc}",
            ) from exc
        return conn


def _parse(address: str) -> tuple[socket.AddressFamily, str | tuple[str, int]]:
    text = address.strip()
    if text.startswith("unix:"):
        return socket.AF_UNIX, text.removeprefix("unix:").removeprefix("//")
    text = text.removeprefix("tcp://")
    host, _, port = text.rpartition(":")
    if host and port.isdigit() and "/" not in text:
        return socket.AF_INET, (host.strip("[]"), int(port))
    return socket.AF_UNIX, text


def _reply(conn: socket.socket) -> str:
    """One NUL-terminated reply (the `z` form of the commands)."""
    data = b""
    try:
        while not data.endswith(b"\0") and len(data) < _REPLY_LIMIT:
            part = conn.recv(4096)
            if not part:
                break
            data += part
    except OSError as exc:
        raise BackendUnavailableError(
            f"Trình quét virus ClamAV ngắt kết nối: {exc}", f"The ClamAV virus scanner dropped the connection: {exc}"
        ) from exc
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> ScanResult:
    """ "stream: OK", "stream: <signature> FOUND", or "<reason> ERROR" (e.g. the size limit)."""
    body = reply.removeprefix("stream:").strip()
    if body == "OK":
        return ScanResult("clean")
    if body.endswith(" FOUND"):
        name = body.removesuffix(" FOUND").strip()
        if name.startswith(_LIMIT_ALERT):  # AlertExceedsMax: a limit stopped the scan, no infection found
            return ScanResult("not_scanned", reason=f"beyond the scanner's limits ({name})")
        return ScanResult("infected", signature=name)
    if not reply:
        raise BackendUnavailableError(
            "Trình quét virus ClamAV không trả lời", "The ClamAV virus scanner closed the connection without a reply"
        )
    return ScanResult("not_scanned", reason=body.removesuffix("ERROR").strip(" .") or body)
