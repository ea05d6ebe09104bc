"""Findings: what a check says about a transfer, in Vietnamese and English."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    """`error` rejects the transfer; `warning` and `info` are recorded on the receipt."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ObjectKind(StrEnum):
    """What a finding is about (rules.md: package, dossier, document, file, photo, media)."""

    PACKAGE = "package"
    DOSSIER = "dossier"
    DOCUMENT = "document"
    FILE = "file"
    PHOTO = "photo"
    MEDIA = "media"


@dataclass(frozen=True)
class Finding:
    """One problem found in a transfer, with the rule that found it and where."""

    rule: str
    severity: Severity
    object: ObjectKind
    path: str
    field: str | None
    message_vi: str
    message_en: str
    clause: str

    def to_dict(self) -> dict[str, str | None]:
        """The JSON shape of `interfaces.md`."""
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["object"] = str(self.object)
        return data

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def nfc(text: str) -> str:
    """User-facing text is NFC-normalised Vietnamese (and English)."""
    return unicodedata.normalize("NFC", text)


def has_errors(findings: list[Finding]) -> bool:
    """A package is invalid if and only if it has at least one error finding."""
    return any(f.is_error for f in findings)
