"""Whole-package probes before the file rules: PRONOM, audio/video bit rates and the virus scan.

Each external tool runs once over the package where it can (siegfried, MediaInfo); clamd gets one
stream per file. `probe_files` gathers the answers, `probe_findings` turns them into the
`file.media.bitrate`, `file.virus` and `file.virus.not_scanned` findings, and the `file.format.*`
rules of `file_checks` read the PRONOM match through `identified_mimetype` and `declared_by_pronom`.
Decisions (tools, what is judged, how "not scanned" is recorded): docs/decisions/0016-file-probes.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import magic

from archive_service.config import Settings
from archive_service.packages.sip import SipPackage
from archive_service.tools.clamav import Clamd, ScanResult
from archive_service.tools.media import MediaFile, MediaStream, probe_media
from archive_service.tools.pronom import PronomMatch, identify_pronom
from ingest_rules.catalogue import finding
from ingest_rules.file_profile import FileRules, load_file_rules
from ingest_rules.findings import Finding

UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "inode/x-empty", "application/x-empty"})
_MEDIA_PREFIXES = ("audio/", "video/")


@dataclass(frozen=True)
class VirusScan:
    """The virus check of a package: the scanner ("" when none is configured) and each file's result."""

    scanner: str
    results: dict[str, ScanResult] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.scanner)


@dataclass(frozen=True)
class FileProbes:
    """What the probes found, by path inside the package."""

    formats: dict[str, PronomMatch]  # empty when siegfried is not installed
    media: dict[str, MediaFile]
    virus: VirusScan


def probe_files(package: SipPackage, settings: Settings) -> FileProbes:
    """Run siegfried and MediaInfo over the record files and clamd over every file of the package."""
    record_files = [f.path for item in package.items for f in item.files]
    absolute = {path: package.root / path for path in record_files}
    pronom = identify_pronom(list(absolute.values()), settings.tools)
    formats = {path: m for path, p in absolute.items() if pronom and (m := pronom.get(p)) is not None}
    media_paths = {path: p for path, p in absolute.items() if _is_media(p)}
    probed = probe_media(list(media_paths.values()))
    media = {path: probed[p] for path, p in media_paths.items() if p in probed}
    every_file = sorted(set(package.files) | set(record_files))
    return FileProbes(formats=formats, media=media, virus=scan_files(package.root, every_file, settings.clamav))


def scan_files(root: Path, paths: list[str], address: str | None) -> VirusScan:
    """Scan each file under `root` with the clamd at `address`; nothing is scanned without one."""
    if not address:
        return VirusScan(scanner="")
    clamd = Clamd(address)
    scanner = clamd.version()
    return VirusScan(scanner=scanner, results={path: clamd.scan(root / path) for path in paths})


def identified_mimetype(libmagic_type: str, match: PronomMatch | None) -> str:
    """libmagic's MIME type (the accepted-format list is keyed on it); when libmagic cannot tell and
    siegfried identified the bytes, PRONOM's MIME type, or the format's name and PUID if PRONOM
    gives none (it is then identified, and not in the accepted list)."""
    if libmagic_type in UNKNOWN_TYPES and match is not None and match.by_content:
        return match.mimetypes[0] if match.mimetypes else f"{match.format_name} (PRONOM {match.puid})"
    return libmagic_type


def declared_by_pronom(declared: str, match: PronomMatch | None) -> bool:
    """Whether a declared @MIMETYPE agrees with the format siegfried identified: it is one PRONOM
    gives for it, or PRONOM gives none to compare with."""
    if match is None or not match.by_content:
        return False
    wanted = declared.strip().lower().split(";", 1)[0].strip()
    return not match.mimetypes or wanted in (m.lower() for m in match.mimetypes)


def probe_findings(package: SipPackage, probes: FileProbes) -> list[Finding]:
    """`file.media.bitrate`, `file.virus` and `file.virus.not_scanned` from the probes' answers."""
    rules = load_file_rules(package.profile.id)
    findings = [f for path, media in probes.media.items() for f in _bitrate(path, media, rules)]
    for path, result in probes.virus.results.items():
        name = PurePosixPath(path).name
        if result.status == "infected":
            scanner = probes.virus.scanner
            findings.append(
                finding(
                    "file.virus",
                    path=path,
                    message_vi=f"{name}: trình quét virus phát hiện mã độc “{result.signature}” ({scanner})",
                    message_en=f"{name}: the virus scanner found “{result.signature}” ({scanner})",
                )
            )
        elif result.status == "not_scanned":
            findings.append(
                finding(
                    "file.virus.not_scanned",
                    path=path,
                    message_vi=f"{name}: chưa quét virus được ({result.reason})",
                    message_en=f"{name}: not scanned for viruses ({result.reason})",
                )
            )
    return findings


_SOURCE_TEXT = {
    "nominal": ("khai báo khi mã hóa", "declared by the encoder"),
    "measured": ("đo trên luồng", "measured on the stream"),
    "overall": ("cả tệp", "whole file"),
}


def _bitrate(path: str, media: MediaFile, rules: FileRules) -> list[Finding]:
    """file.media.bitrate: every video stream of a video file, every audio stream of an audio file."""
    kind = "video" if media.has_video else "audio"
    floor_kbps = rules.media_min_video_kbps if kind == "video" else rules.media_min_audio_kbps
    streams = [s for s in media.streams if s.kind == kind]
    name = PurePosixPath(path).name
    kind_vi = "video" if kind == "video" else "âm thanh"
    if not streams:
        return [
            finding(
                "file.media.bitrate",
                path=path,
                message_vi=f"{name}: không đọc được luồng âm thanh/video nào để xác định tốc độ bit",
                message_en=f"{name}: no audio or video stream can be read to establish the bit rate",
            )
        ]
    found = []
    for stream in streams:
        rate, source = _judged_rate(stream, media, floor_kbps)
        if rate is None:
            found.append(
                finding(
                    "file.media.bitrate",
                    path=path,
                    message_vi=f"{name}: không xác định được tốc độ bit {kind_vi} ({stream.format}), "
                    f"yêu cầu từ {floor_kbps:g} kbps",
                    message_en=f"{name}: the {kind} bit rate ({stream.format}) cannot be established, "
                    f"{floor_kbps:g} kbps or more is required",
                )
            )
            continue
        tolerance = 0.0 if source == "nominal" else rules.media_bitrate_tolerance
        if rate / 1000 < floor_kbps * (1 - tolerance):
            vi, en = _SOURCE_TEXT[source]
            found.append(
                finding(
                    "file.media.bitrate",
                    path=path,
                    message_vi=f"{name}: tốc độ bit {kind_vi} {rate / 1000:g} kbps ({vi}, {stream.format}), "
                    f"yêu cầu từ {floor_kbps:g} kbps",
                    message_en=f"{name}: {kind} bit rate {rate / 1000:g} kbps ({en}, {stream.format}), "
                    f"{floor_kbps:g} kbps or more is required",
                )
            )
    return found


def _judged_rate(stream: MediaStream, media: MediaFile, floor_kbps: float) -> tuple[int | None, str]:
    """The stream's own bit rate; else the file's overall one when it is the only stream, or when
    even the whole file (an upper bound for the stream) stays below the floor."""
    if stream.bit_rate is not None:
        return stream.bit_rate, stream.source
    overall = media.overall_bit_rate
    if overall is not None and (len(media.streams) == 1 or overall / 1000 < floor_kbps):
        return overall, "overall"
    return None, ""


def _is_media(path: Path) -> bool:
    try:
        return magic.from_file(str(path), mime=True).startswith(_MEDIA_PREFIXES)
    except OSError:
        return False
