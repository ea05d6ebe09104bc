"""Audio and video stream parameters with MediaInfo (Debian `mediainfo`): one run per package.

MediaInfo reads container and stream headers without decoding, so it is cheap on large files and
exposes little decoder surface to untrusted input (docs/decisions/0016-file-probes.md). For each
stream the bit rate judged is the one the encoder declared (`BitRate_Nominal`), else the stream's
own bit rate (exact for CBR, the average for VBR); `source` says which, for the finding's text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive_service.errors import MissingDependencyError

INSTALL_COMMAND = "bash scripts/install-system-deps.sh"
_SECONDS_PER_FILE = 60.0


@dataclass(frozen=True)
class MediaStream:
    """One audio or video stream: its kind, format and bit rate in bit/s (None when unknown)."""

    kind: str  # "audio" | "video"
    format: str
    bit_rate: int | None
    source: str  # "nominal" | "measured" | ""


@dataclass(frozen=True)
class MediaFile:
    """The audio and video streams of one file and the container's overall bit rate."""

    streams: tuple[MediaStream, ...]
    overall_bit_rate: int | None

    @property
    def has_video(self) -> bool:
        return any(s.kind == "video" for s in self.streams)


def mediainfo_binary() -> Path | None:
    found = shutil.which("mediainfo")
    return Path(found) if found else None


def probe_media(paths: Sequence[Path]) -> dict[Path, MediaFile]:
    """The streams of every file in `paths` (absolute), from one mediainfo run."""
    if not paths:
        return {}
    binary = mediainfo_binary()
    if binary is None:
        raise MissingDependencyError(
            f"Cần MediaInfo để kiểm tra tốc độ bit của tệp âm thanh/video; cài bằng: {INSTALL_COMMAND}",
            f"MediaInfo is needed to check the bit rate of audio/video files; install it with: {INSTALL_COMMAND}",
        )
    try:
        done = subprocess.run(
            [str(binary), "--Output=JSON", *(str(p) for p in paths)],
            capture_output=True,
            check=False,
            timeout=_SECONDS_PER_FILE * len(paths),
        )
        report = json.loads(done.stdout) if done.stdout.strip() else []
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise MissingDependencyError(
            f"MediaInfo ({binary}) không chạy được: {exc}",
            f"MediaInfo ({binary}) could not run: {exc}",
        ) from exc
    entries = report if isinstance(report, list) else [report]
    by_name = {str(p): p for p in paths}
    found: dict[Path, MediaFile] = {}
    for entry in entries:
        media = entry.get("media") if isinstance(entry, dict) else None
        path = by_name.get(str(media.get("@ref", ""))) if isinstance(media, dict) else None
        if path is not None and isinstance(media, dict):
            found[path] = _media_file(media.get("track", []))
    return found


def _media_file(tracks: list[dict[str, Any]]) -> MediaFile:
    general = next((t for t in tracks if t.get("@type") == "General"), {})
    streams = tuple(_stream(t) for t in tracks if t.get("@type") in ("Audio", "Video"))
    return MediaFile(streams=streams, overall_bit_rate=_bits(general.get("OverallBitRate")))


def _stream(track: dict[str, Any]) -> MediaStream:
    nominal, measured = _bits(track.get("BitRate_Nominal")), _bits(track.get("BitRate"))
    rate, source = (nominal, "nominal") if nominal else (measured, "measured") if measured else (None, "")
    kind, name = str(track["@type"]).lower(), str(track.get("Format", ""))
    return MediaStream(kind=kind, format=name, bit_rate=rate, source=source)


def _bits(value: object) -> int | None:
    """MediaInfo's bit rates are strings of bit/s ("128000", sometimes "128000 / 96000"); the first counts."""
    if value is None:
        return None
    try:
        number = float(str(value).split("/", 1)[0].strip())
    except ValueError:
        return None
    return int(number) if number > 0 else None
