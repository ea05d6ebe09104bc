"""Preserve: a verified PDF/A-2 copy of every PDF, word-processing and scanned-image original.

By format: PDF → OCRmyPDF (OCR for digitised records); DOCX/ODT/RTF/DOC → LibreOffice; JPEG,
PNG and TIFF scans → img2pdf + OCR. Audio, video, spreadsheets and every other format keep their
originals only (rules.md Conventions): a migration event with outcome "not applicable" says so.
The copies are made and checked (pikepdf, text fidelity, see preservation/preserve_file.py) in the
warm conversion workers, independent files in parallel; with `ARCHIVE_PRESERVATION__VERAPDF`,
veraPDF then validates all of them in one run. Any failure, or a worker that crashed or stalled
on a file, leaves the transfer in `failed` with the reason; nothing is stored. Originals are never
modified: a signed original keeps its signatures, and the event records that the copy does not
carry them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from archive_service.config import Settings
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import (
    CopyModel,
    EventRecord,
    IdentifyOutput,
    PreserveOutput,
    ValidateOutput,
)
from archive_service.pipeline.outcomes import TransferFailedError
from archive_service.preservation.convert_office import find_soffice
from archive_service.preservation.convert_pdfa import ConversionResult
from archive_service.preservation.preserve_file import CopyOutcome, CopyRequest, SourceKind
from archive_service.preservation.verify_pdfa import extract_text
from archive_service.preservation.workers import WorkerLost
from archive_service.tools.ghostscript import find_ghostscript
from archive_service.tools.identify import identify
from archive_service.tools.verapdf import find_verapdf, verapdf_validate, verapdf_version
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import in_domain
from ingest_rules.findings import Finding
from storage.fixity import sha256_stream

SCANNED_LEVELS = ("Số hóa", "Hỗn hợp")  # digitised, mixed: image-only pages get OCR (rules.md)
DATA_PREFIX = "representations/rep1/data/"
PDF = "application/pdf"
OFFICE_MIMETYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/msword",
        "text/rtf",
        "application/rtf",
    }
)
IMAGE_MIMETYPES = frozenset({"image/jpeg", "image/png", "image/tiff"})
AGENT = ARCHIVE_AGENT
NOT_APPLICABLE = "not applicable"


def copy_name(original: str) -> str:
    """The copy's path under rep2/data: the original's path below data/, as a .pdf.

    A PDF's copy keeps its name (`a.pdf`, `b.PDF` → `b.pdf`); any other original keeps its whole
    name with `.pdf` added (`a.docx` → `a.docx.pdf`), so `a.docx` and `a.pdf` never collide.
    """
    relative = PurePosixPath(original.removeprefix(DATA_PREFIX))
    if relative.suffix.lower() == ".pdf" or not relative.suffix:
        return str(relative.with_suffix(".pdf"))
    return f"{relative}.pdf"


class PreserveStep:
    name = "preserve"
    version = "1"
    output_model = PreserveOutput

    def run(self, ctx: StepContext) -> PreserveOutput:
        settings = ctx.services.settings
        formats = ctx.output(IdentifyOutput).formats
        items = ctx.output(ValidateOutput).items
        gs = find_ghostscript(settings.tools.ghostscript, settings.tools.cache_dir)
        needs_office = any(formats[f.path].mimetype in OFFICE_MIMETYPES for item in items for f in item.files)
        soffice = find_soffice() if needs_office else None
        events: list[EventRecord] = []
        requests: list[CopyRequest] = []
        names: list[str] = []
        used: set[str] = set()
        for item in items:
            digitised = in_domain(item.values.get("ConfidenceLevel", ""), SCANNED_LEVELS)
            for file in item.files:
                mimetype = formats[file.path].mimetype
                kind = _kind(mimetype)
                if kind is None:
                    events.append(_original_only(file.path, mimetype))
                    continue
                name = _unique(copy_name(file.path), file.path, used)
                target = ctx.work_dir / "copies" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                requests.append(
                    CopyRequest(
                        kind=kind,
                        source=ctx.staged_root / file.path,
                        target=target,
                        path=file.path,
                        digitised=digitised,
                        gs=gs,
                        soffice=soffice,
                        ocr_jobs=settings.preservation.ocr_jobs,
                    )
                )
                names.append(name)
        outcomes = ctx.services.conversions.run(requests)
        failures = [f for o in outcomes if not isinstance(o, WorkerLost) and o.result is None for f in o.findings]
        failures += [_lost(r.path, o) for r, o in zip(requests, outcomes, strict=True) if isinstance(o, WorkerLost)]
        made = [
            (r, n, o.result, o.findings)
            for r, n, o in zip(requests, names, outcomes, strict=True)
            if isinstance(o, CopyOutcome) and o.result is not None
        ]
        vera_failures, vera_events = verapdf_check(settings, [(r.path, r.target) for r, _, _, _ in made])
        failures += vera_failures
        if failures:
            raise TransferFailedError(failures, retryable=False)
        copies: list[CopyModel] = []
        notes: list[Finding] = []
        for request, name, result, findings in made:
            copies.append(_copy_model(request.path, name, request.target, result))
            events.append(_migration_event(request.path, request.kind, result))
            notes.extend(findings)
        events.extend(vera_events)
        return PreserveOutput(copies=tuple(copies), findings=tuple(f.to_dict() for f in notes), events=tuple(events))


def _kind(mimetype: str) -> SourceKind | None:
    if mimetype == PDF:
        return SourceKind.PDF
    if mimetype in OFFICE_MIMETYPES:
        return SourceKind.OFFICE
    if mimetype in IMAGE_MIMETYPES:
        return SourceKind.IMAGE
    return None


def _lost(path: str, lost: WorkerLost) -> Finding:
    return finding(
        "pres.pdfa.failed",
        path=path,
        message_vi=f"Không tạo được bản PDF/A: {lost.reason_vi}",
        message_en=f"Cannot make the PDF/A copy: {lost.reason_en}",
    )


def verapdf_check(settings: Settings, copies: Sequence[tuple[str, Path]]) -> tuple[list[Finding], list[EventRecord]]:
    """With the veraPDF setting on, validate every copy (original's path, copy file) in one run:
    pres.pdfa.failed for each copy veraPDF does not find compliant (with the failed rule ids), a
    validation event for the others. With the setting off, nothing."""
    if not settings.preservation.verapdf or not copies:
        return [], []
    lib = find_verapdf(settings.preservation.verapdf_lib, settings.tools.cache_dir)
    agent = f"veraPDF {verapdf_version(lib)}"
    results = verapdf_validate([target for _, target in copies], flavour="0", lib=lib)
    failures: list[Finding] = []
    events: list[EventRecord] = []
    for path, target in copies:
        result = results[target]
        if result.compliant:
            detail = (
                f"Bản sao đạt {result.profile} theo veraPDF / the copy is compliant with {result.profile} (veraPDF)"
            )
            events.append(new_event("validation", detail, agent, (path,)))
            continue
        if result.error is not None:
            vi = f"veraPDF không kiểm tra được bản sao: {result.error}"
            en = f"veraPDF could not validate the copy: {result.error}"
        else:
            rules = ", ".join(r.rule_id for r in result.failed_rules)
            first = result.failed_rules[0].description if result.failed_rules else ""
            vi = f"Bản sao không đạt {result.profile} theo veraPDF (quy tắc {rules}): {first}"
            en = f"veraPDF finds the copy not compliant with {result.profile} (rules {rules}): {first}"
        failures.append(finding("pres.pdfa.failed", path=path, message_vi=vi, message_en=en))
    return failures, events


def _unique(name: str, original: str, used: set[str]) -> str:
    """`name`, or if another copy of this transfer already has it, the original's name + .pdf (+ a number)."""
    candidates = [name, f"{original.removeprefix(DATA_PREFIX)}.pdf"]
    candidates += [f"{original.removeprefix(DATA_PREFIX)}.{n}.pdf" for n in range(2, 1000)]
    chosen = next(c for c in candidates if c.casefold() not in used)
    used.add(chosen.casefold())
    return chosen


def _copy_model(original: str, name: str, target: Path, result: ConversionResult) -> CopyModel:
    digest, size = _digest(target)
    return CopyModel(
        original_path=original,
        copy_path=name,
        sha256=digest,
        size=size,
        conformance=result.conformance,
        puid=identify(target).puid,
        text=extract_text(target),
    )


def _migration_event(original: str, kind: SourceKind, result: ConversionResult) -> EventRecord:
    tools = ", ".join(f"{t.name} {t.version}" for t in result.tools)
    ocr_vi, ocr_en = ("có", "yes") if result.ocr_applied else ("không", "no")
    if kind is SourceKind.PDF:
        tail_vi, tail_en = (
            "bản sao không mang chữ ký số của bản gốc",
            "the copy does not carry the original's signatures",
        )
    elif kind is SourceKind.OFFICE:
        tail_vi, tail_en = "chuyển bằng LibreOffice", "converted with LibreOffice"
    else:
        tail_vi, tail_en = "ảnh quét bọc bằng img2pdf rồi OCR", "scan wrapped with img2pdf, then OCRed"
    assumptions = "; ".join(w for w in result.warnings if w.startswith(("the image", "the alpha", "the CMYK")))
    detail = (
        f"Lập bản sao {result.conformance} ({result.outcome}); OCR: {ocr_vi}; {tail_vi} / "
        f"made a {result.conformance} copy ({result.outcome}); OCR: {ocr_en}; {tail_en}"
    )
    if assumptions:
        detail += f"; {assumptions}"
    return new_event("migration", detail, tools, (original,))


def _original_only(original: str, mimetype: str) -> EventRecord:
    """The event that records that a format keeps its original only (rules.md Conventions)."""
    return new_event(
        "migration",
        f"Không lập bản sao bảo quản: giữ bản gốc ({mimetype}) / no preservation copy: original kept ({mimetype}); "
        "audio, video, spreadsheets and formats without a PDF/A conversion keep their originals only",
        AGENT,
        (original,),
        outcome=NOT_APPLICABLE,
    )


def _digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as stream:
        return sha256_stream(stream)
