"""One original's preservation copy: made and checked in a conversion worker process.

`make_copy` converts the original (OCRmyPDF for PDFs, LibreOffice for word-processing documents,
img2pdf + OCR for scanned images), then checks the copy with pikepdf and for text fidelity
(pres.pdfa.text_fidelity: page by page for PDFs, the body words in order for DOCX/ODT; an image has
no text), and gathers the copy's info and warning findings (pres.signature.preserved,
pres.ocr.confidence). Everything it takes and returns pickles, so it runs in the warm worker
processes of `workers.py`; a conversion failure is returned as a finding, a missing tool is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from archive_service.errors import ConversionFailedError
from archive_service.faults import fault_point
from archive_service.preservation.convert_image import OcrQuality, image_to_pdfa, ocr_quality
from archive_service.preservation.convert_office import office_fidelity, office_signed, office_to_pdfa
from archive_service.preservation.convert_pdfa import ConversionResult, make_pdfa
from archive_service.preservation.verify_pdfa import (
    FidelityResult,
    PdfTextError,
    check_pdfa,
    page_texts,
    text_fidelity,
)
from archive_service.tools.pdf_info import has_signatures
from ingest_rules.catalogue import finding
from ingest_rules.findings import Finding


class SourceKind(StrEnum):
    """How an original is converted."""

    PDF = "pdf"
    OFFICE = "office"
    IMAGE = "image"


@dataclass(frozen=True)
class CopyRequest:
    """What to convert, where to write the copy, and with which tools."""

    kind: SourceKind
    source: Path
    target: Path
    path: str  # the original's path in the package, named by the findings
    digitised: bool
    gs: Path
    soffice: Path | None = None
    ocr_jobs: int | None = None


@dataclass(frozen=True)
class CopyOutcome:
    """The verified copy (None if there is none) and the findings about it.

    Without a copy, `findings` holds the errors that say why (pres.pdfa.failed,
    pres.pdfa.text_fidelity); with one, its info and warning notes.
    """

    result: ConversionResult | None
    findings: tuple[Finding, ...]


def make_copy(request: CopyRequest) -> CopyOutcome:
    """Convert and verify one original; MissingDependencyError propagates."""
    fault_point("convert")
    try:
        result = _convert(request)
    except ConversionFailedError as exc:
        return CopyOutcome(None, (_failed(request.path, exc.message_vi, exc.message_en),))
    failure = _verification_failure(request)
    if failure is not None:
        return CopyOutcome(None, (failure,))
    return CopyOutcome(result, tuple(_notes(request, result)))


def _convert(request: CopyRequest) -> ConversionResult:
    if request.kind is SourceKind.PDF:
        return make_pdfa(request.source, request.target, gs=request.gs, ocr=request.digitised, jobs=request.ocr_jobs)
    if request.kind is SourceKind.OFFICE:
        return office_to_pdfa(request.source, request.target, soffice=request.soffice)
    return image_to_pdfa(request.source, request.target, gs=request.gs, jobs=request.ocr_jobs)


def _failed(path: str, message_vi: str, message_en: str) -> Finding:
    return finding("pres.pdfa.failed", path=path, message_vi=message_vi, message_en=message_en)


def _verification_failure(request: CopyRequest) -> Finding | None:
    """pikepdf's PDF/A check, then the text fidelity check; the first failure, or None."""
    check = check_pdfa(request.target)
    if check.verdict == "fail":
        detail = "; ".join(check.findings[:3])
        return _failed(request.path, f"Bản sao không đạt PDF/A-2: {detail}", f"The copy is not PDF/A-2: {detail}")
    fidelity: FidelityResult | None = None
    if request.kind is SourceKind.PDF:
        fidelity = text_fidelity(request.source, request.target, request.digitised)
    elif request.kind is SourceKind.OFFICE:
        fidelity = office_fidelity(request.source, request.target)
    if fidelity is not None and not fidelity.ok:
        return finding(
            "pres.pdfa.text_fidelity",
            path=request.path,
            message_vi=fidelity.message_vi,
            message_en=fidelity.message_en,
        )
    return None


def _notes(request: CopyRequest, result: ConversionResult) -> list[Finding]:
    """The info and warning findings of one verified copy."""
    notes: list[Finding] = []
    if request.kind is SourceKind.PDF:
        signed = has_signatures(request.source)
    else:
        signed = request.kind is SourceKind.OFFICE and office_signed(request.source)
    if signed:
        notes.append(
            finding(
                "pres.signature.preserved",
                path=request.path,
                message_vi="Bản gốc có chữ ký số và được giữ nguyên từng bit; bản sao PDF/A không mang chữ ký số",
                message_en="The original is digitally signed and kept bit for bit; the PDF/A copy does not carry "
                "the signatures",
            )
        )
    if result.ocr_applied:
        notes.extend(_ocr_warning(request))
    return notes


def _ocr_warning(request: CopyRequest) -> list[Finding]:
    """pres.ocr.confidence when the OCRed pages (all of an image; a PDF's pages that had no text)
    have empty or implausible text."""
    try:
        ocred = None
        if request.kind is SourceKind.PDF:
            ocred = [n for n, t in enumerate(page_texts(request.source), 1) if not t.strip()]
            if not ocred:
                return []
        quality: OcrQuality | None = ocr_quality(request.target, ocred)
    except PdfTextError:
        quality = None
    if quality is not None and not quality.low:
        return []
    if quality is None or quality.empty:
        vi, en = "OCR không nhận được chữ nào", "OCR found no text"
    else:
        pages = ", ".join(map(str, quality.poor_pages))
        vi = f"Chữ OCR có độ tin cậy thấp ở trang {pages} ({quality.words} từ, {quality.plausible_share:.0%} từ hợp lệ)"
        en = f"Low-confidence OCR text on page {pages} ({quality.words} words, {quality.plausible_share:.0%} plausible)"
    return [finding("pres.ocr.confidence", path=request.path, message_vi=vi, message_en=en)]
