"""Validation of a transfer package: stage it, check the structure, the metadata and the files.

`archive validate`, `POST /validate` and the validation step of `archive ingest` all call
`validate_package`, so a package is judged the same way whichever door it came through.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from archive_service.config import Settings
from archive_service.file_checks import FileSignatures, inspect_files
from archive_service.file_probes import FileProbes, probe_files, probe_findings
from archive_service.packages.edxml_documents import EdxmlOpening, open_edxml_files
from archive_service.packages.sip import DOSSIER_EAD, SipPackage, read_sip
from archive_service.packages.staging import StagedPackage, stage_package
from archive_service.tools.pdf_info import pdf_page_count
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import RecordValues
from ingest_rules.findings import Finding, ObjectKind, has_errors
from ingest_rules.metadata_rules import (
    DocumentIdentity,
    MetadataContext,
    MetadataRecord,
    check_metadata,
)
from search.vietnamese import looks_legacy_encoded


class CatalogLookup(Protocol):
    """What validation needs to know about the archive's holdings."""

    def holds_dossier(self, code: str) -> bool: ...

    def holds_document(self, identity: DocumentIdentity, exclude_dossier: str) -> bool: ...

    def held_documents(self, code: str) -> list[tuple[str, dict[str, str]]]:
        """(DocCode, metadata values) of the documents of the current version of dossier `code`."""
        ...


@dataclass
class ValidationReport:
    """The verdict on one package: the profile used, every finding, and the package model."""

    profile: str
    findings: list[Finding] = field(default_factory=list)
    package: SipPackage | None = None
    probes: FileProbes | None = None
    edxml: list[EdxmlOpening] = field(default_factory=list)
    signatures: dict[str, FileSignatures] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not has_errors(self.findings)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `archive validate --json` (spec interfaces.md)."""
        return {
            "profile": self.profile,
            "status": "valid" if self.valid else "invalid",
            "findings": [f.to_dict() for f in self.findings],
        }


@contextmanager
def work_dir(settings: Settings, name: str = "validate") -> Iterator[Path]:
    """A private folder under `ARCHIVE_HOME/work`, removed afterwards unless kept for debugging."""
    settings.work_root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=settings.work_root))
    try:
        yield path
    finally:
        if not settings.keep_work_dirs:
            shutil.rmtree(path, ignore_errors=True)


def check_package(
    source: Path,
    into: Path,
    settings: Settings,
    *,
    profile_id: str | None = None,
    submitter_org: str | None = None,
) -> ValidationReport:
    """Stage `source` into the folder `into` and judge it; the staged copy stays for the caller."""
    staged = stage_package(source, into, settings.limits)
    report = ValidationReport(profile=profile_id or settings.default_profile)
    report.findings.extend(staged.findings)
    if not staged.ok:
        return report
    return judge_staged(staged, settings, profile_id=profile_id, submitter_org=submitter_org)


def judge_staged(
    staged: StagedPackage,
    settings: Settings,
    *,
    profile_id: str | None = None,
    submitter_org: str | None = None,
    catalog: CatalogLookup | None = None,
) -> ValidationReport:
    """Judge a package already staged in a work dir: structure, METS, metadata, and (given the
    catalog) duplicates of what the archive already holds."""
    report = ValidationReport(profile=profile_id or settings.default_profile)
    reading = read_sip(
        staged,
        max_xml_bytes=settings.limits.max_xml_bytes,
        profile_id=profile_id,
        submitter_org=submitter_org,
    )
    report.findings.extend(reading.findings)
    package = reading.package
    if package is None:
        return report
    report.profile = package.profile.id
    report.package = package
    report.edxml, edxml_findings = open_edxml_files(package, settings.limits)
    report.findings.extend(edxml_findings)
    code = package.dossier_values.get("FileCode") or ""
    holds: Callable[[DocumentIdentity], bool] | None = None
    held: list[MetadataRecord] = []
    if catalog is not None:
        report.findings.extend(_dossier_exists(package, code, catalog))
        holds = partial(catalog.holds_document, exclude_dossier=code)
        if package.record_status == "SUPPLEMENT":
            held = [
                MetadataRecord(kind=ObjectKind.DOCUMENT, path=f"{HELD_PREFIX}{doc_code}", values=RecordValues(values))
                for doc_code, values in catalog.held_documents(code)
            ]
    report.findings.extend(_metadata_findings(package, holds, held))
    report.probes = probe_files(package, settings)
    files = inspect_files(package, settings, report.probes.formats)
    report.findings.extend(files.findings)
    report.signatures = files.signatures
    report.findings.extend(probe_findings(package, report.probes))
    return report


HELD_PREFIX = "(đã lưu / held) "


def _dossier_exists(package: SipPackage, code: str, catalog: CatalogLookup) -> list[Finding]:
    """A NEW package for a dossier code the archive already holds (rules.md, RECORDSTATUS)."""
    if package.record_status != "NEW" or not code or not catalog.holds_dossier(code):
        return []
    return [
        finding(
            "pkg.dossier.exists",
            path=DOSSIER_EAD,
            field="FileCode",
            message_vi=f"Kho đã lưu hồ sơ có Mã hồ sơ (FileCode) “{code}”; gói NEW không được nộp lại hồ sơ "
            "này (dùng RECORDSTATUS REPLACEMENT hoặc SUPPLEMENT)",
            message_en=f"The archive already holds a dossier with FileCode “{code}”; a NEW package cannot "
            "transfer it again (use RECORDSTATUS REPLACEMENT or SUPPLEMENT)",
        )
    ]


def validate_package(source: Path, settings: Settings, *, profile_id: str | None = None) -> ValidationReport:
    """Judge `source` (ZIP or folder) without storing anything."""
    with work_dir(settings) as folder:
        return check_package(source, folder, settings, profile_id=profile_id)


def _metadata_findings(
    package: SipPackage, holds_document: Callable[[DocumentIdentity], bool] | None, held: list[MetadataRecord]
) -> list[Finding]:
    """The profile's metadata rules; a SUPPLEMENT is judged with the documents already held, so
    counts, ordinals and duplicates cover the whole dossier it completes."""
    page_counts: dict[str, int] = {}
    for item in package.items:
        counts = [pdf_page_count(package.root / f.path) for f in item.files if _is_pdf(f.path, f.mimetype)]
        if counts and all(c is not None for c in counts):
            page_counts[item.metadata_path] = sum(c for c in counts if c is not None)
    dossier = MetadataRecord(kind=ObjectKind.DOSSIER, path=DOSSIER_EAD, values=package.dossier_values)
    items = [MetadataRecord(kind=i.kind, path=i.metadata_path, values=i.values) for i in package.items]
    legacy = [_legacy_text(r) for r in (dossier, *items)]
    return check_metadata(
        package.profile,
        dossier,
        [*held, *items],
        MetadataContext(page_counts=page_counts, catalog_has_document=holds_document),
    ) + [f for found in legacy for f in found]


def _legacy_text(record: MetadataRecord) -> list[Finding]:
    """Values typed in TCVN3 or VNI (pre-Unicode Vietnamese fonts) read as gibberish: flag them."""
    return [
        finding(
            "tt02.text.legacy_encoding",
            path=record.path,
            field=tag,
            obj=record.kind,
            message_vi=f"Trường {tag} có vẻ được gõ bằng bảng mã cũ (TCVN3/VNI), không phải Unicode: “{value[:60]}”",
            message_en=f"The field {tag} looks typed in a legacy encoding (TCVN3/VNI), not Unicode: “{value[:60]}”",
        )
        for tag, value in record.values.values.items()
        if looks_legacy_encoded(value)
    ]


def _is_pdf(path: str, mimetype: str | None) -> bool:
    return path.lower().endswith(".pdf") or mimetype == "application/pdf"
