"""The file-rule parameters of a profile (rules.md "Files": parameters come from the profile).

They live in the `[files]` section of `profiles/<id>.toml`, next to the metadata tables, so the
accepted formats, the PDF version floor and the scan parameters are data, not code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ingest_rules.field_rules import in_domain
from ingest_rules.profile import ProfileDataError, UnknownProfileError

_PROFILE_DIR = Path(__file__).with_name("profiles")
MODIFICATION_LEVELS = ("none", "lta_updates", "form_filling", "annotations")


@dataclass(frozen=True)
class AcceptedFormat:
    """One accepted format: a MIME type and the file extensions (lower case, no dot) it may carry."""

    mimetype: str
    extensions: tuple[str, ...]


@dataclass(frozen=True)
class FileRules:
    """Parameters of the `file.*` rules for one profile."""

    accepted_formats: tuple[AcceptedFormat, ...]
    mimetype_aliases: tuple[tuple[str, str], ...]
    pdf_min_version: tuple[int, int]
    pdf_trailer_window: int
    scan_min_dpi: float
    scan_dpi_tolerance: float
    scan_colour_required: bool
    scan_scale_tolerance: float
    scan_page_image_min_coverage: float
    digitised_levels: tuple[str, ...]
    mixed_levels: tuple[str, ...]
    born_digital_levels: tuple[str, ...]
    signature_max_modification: str
    placement_min_x: float
    placement_min_y: float
    media_min_audio_kbps: float
    media_min_video_kbps: float
    media_bitrate_tolerance: float

    def accepts(self, mimetype: str) -> bool:
        return any(f.mimetype == mimetype for f in self.accepted_formats)

    def extensions_for(self, mimetype: str) -> frozenset[str]:
        return frozenset(e for f in self.accepted_formats if f.mimetype == mimetype for e in f.extensions)

    def same_type(self, declared: str, identified: str) -> bool:
        """Whether a declared METS @MIMETYPE names the identified type (exactly or by alias)."""
        declared = declared.strip().lower().split(";", 1)[0].strip()
        return declared == identified or (declared, identified) in self.mimetype_aliases

    def is_digitised(self, level: str | None) -> bool:
        return level is not None and in_domain(level, self.digitised_levels)

    def is_mixed(self, level: str | None) -> bool:
        return level is not None and in_domain(level, self.mixed_levels)

    def is_born_digital(self, level: str | None) -> bool:
        return level is not None and in_domain(level, self.born_digital_levels)

    @property
    def pdf_min_version_text(self) -> str:
        return f"{self.pdf_min_version[0]}.{self.pdf_min_version[1]}"


def parse_version(text: str) -> tuple[int, int] | None:
    """ "1.4" → (1, 4); None when it is not `<digit>.<digits>`."""
    major, _, minor = text.strip().lstrip("/").partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


@cache
def load_file_rules(profile_id: str) -> FileRules:
    """The `[files]` section of profile `profile_id`, validated."""
    path = _PROFILE_DIR / f"{profile_id.replace('-', '_')}.toml"
    if not path.is_file():
        raise UnknownProfileError(f"unknown rule profile {profile_id!r}")
    data = tomllib.loads(path.read_text(encoding="utf-8")).get("files")
    if not isinstance(data, dict):
        raise ProfileDataError(f"{path.name}: [files] is missing")
    return _parse(data, path.name)


def _parse(data: Mapping[str, Any], where: str) -> FileRules:
    try:
        formats = tuple(
            AcceptedFormat(str(row["mimetype"]), tuple(str(e).lower() for e in row["extensions"]))
            for row in data["accepted_formats"]
        )
        aliases = tuple((str(r["declared"]), str(r["identified"])) for r in data["mimetype_aliases"])
        version = parse_version(str(data["pdf_min_version"]))
        level = str(data["signature_max_modification"])
        rules = FileRules(
            accepted_formats=formats,
            mimetype_aliases=aliases,
            pdf_min_version=version or (0, 0),
            pdf_trailer_window=int(data["pdf_trailer_window"]),
            scan_min_dpi=float(data["scan_min_dpi"]),
            scan_dpi_tolerance=float(data["scan_dpi_tolerance"]),
            scan_colour_required=bool(data["scan_colour_required"]),
            scan_scale_tolerance=float(data["scan_scale_tolerance"]),
            scan_page_image_min_coverage=float(data["scan_page_image_min_coverage"]),
            digitised_levels=tuple(data["digitised_levels"]),
            mixed_levels=tuple(data["mixed_levels"]),
            born_digital_levels=tuple(data["born_digital_levels"]),
            signature_max_modification=level,
            placement_min_x=float(data["placement_min_x"]),
            placement_min_y=float(data["placement_min_y"]),
            media_min_audio_kbps=float(data["media_min_audio_kbps"]),
            media_min_video_kbps=float(data["media_min_video_kbps"]),
            media_bitrate_tolerance=float(data["media_bitrate_tolerance"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileDataError(f"{where} [files]: {exc!r}") from exc
    if version is None:
        raise ProfileDataError(f"{where} [files]: pdf_min_version must look like 1.4")
    if level not in MODIFICATION_LEVELS:
        raise ProfileDataError(f"{where} [files]: signature_max_modification must be one of {MODIFICATION_LEVELS}")
    return rules
