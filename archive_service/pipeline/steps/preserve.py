"""Preserve: a verified PDF/A-2 copy of every PDF, word-processing and scanned-image original.

By format: PDF → OCRmyPDF (OCR for digitised records); DOCX/ODT/RTF/DOC → LibreOffice; JPEG,
PNG and TIFF scans → img2pdf + OCR. Audio, video, spreadsheets and every other format keep their
originals only (rules.md Conventions): a migration event with outcome "not applicable" says so.
A copy counts only if pikepdf does not reject it as PDF/A-2 and its text matches the original's
(pres.pdfa.text_fidelity: page by page for PDFs, the body words in order for DOCX/ODT; an image
has no text, and an empty or implausible OCR text layer gets the pres.ocr.confidence warning).
Any failure leaves the transfer in `failed` with the reason; nothing is stored. Originals are
never modified: a signed original keeps its signatures, and the event records that the copy does
not carry them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from archive_service.errors import ConversionFailedError
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
from archive_service.preservation.convert_image import OcrQuality, image_to_pdfa, ocr_quality
from archive_service.preservation.convert_office import find_soffice, office_fidelity, office_signed, office_to_pdfa
from archive_service.preservation.convert_pdfa import ConversionResult, make_pdfa
from archive_service.preservation.verify_pdfa import (
    FidelityResult,
    PdfTextError,
    check_pdfa,
    extract_text,
    page_texts,
    text_fidelity,
)
from archive_service.tools.ghostscript import find_ghostscript
from archive_service.tools.identify import identify
from archive_service.tools.pdf_info import has_signatures
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
        copies: list[CopyModel] = []
        notes: list[Finding] = []
        failures: list[Finding] = []
        events: list[EventRecord] = []
        used: set[str] = set()
        for item in items:
            digitised = in_domain(item.values.get("ConfidenceLevel", ""), SCANNED_LEVELS)
            for file in item.files:
                mimetype = formats[file.path].mimetype
                if mimetype not in OFFICE_MIMETYPES | IMAGE_MIMETYPES and mimetype != PDF:
                    events.append(_original_only(file.path, mimetype))
                    continue
                source = ctx.staged_root / file.path
                name = _unique(copy_name(file.path), file.path, used)
                target = ctx.work_dir / "copies" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    if mimetype == PDF:
                        result = make_pdfa(source, target, gs=gs, ocr=digitised)
                    elif mimetype in OFFICE_MIMETYPES:
                        result = office_to_pdfa(source, target, soffice=soffice)
                    else:
                        result = image_to_pdfa(source, target, gs=gs)
                except ConversionFailedError as exc:
                    failures.append(
                        finding(
                            "pres.pdfa.failed", path=file.path, message_vi=exc.message_vi, message_en=exc.message_en
                        )
                    )
                    continue
                if not self._verified(source, target, file.path, mimetype, digitised, failures):
                    continue
                copies.append(_copy_model(file.path, name, target, result))
                events.append(_migration_event(file.path, mimetype, result))
                notes.extend(_notes(source, target, file.path, mimetype, result))
        if failures:
            raise TransferFailedError(failures, retryable=False)
        return PreserveOutput(copies=tuple(copies), findings=tuple(f.to_dict() for f in notes), events=tuple(events))

    @staticmethod
    def _verified(
        source: Path, target: Path, path: str, mimetype: str, digitised: bool, failures: list[Finding]
    ) -> bool:
        """pikepdf's PDF/A check and the text fidelity check; a failure is added to `failures`."""
        check = check_pdfa(target)
        if check.verdict == "fail":
            detail = "; ".join(check.findings[:3])
            failures.append(
                finding(
                    "pres.pdfa.failed",
                    path=path,
                    message_vi=f"Bản sao không đạt PDF/A-2: {detail}",
                    message_en=f"The copy is not PDF/A-2: {detail}",
                )
            )
            return False
        fidelity: FidelityResult | None = None
        if mimetype == PDF:
            fidelity = text_fidelity(source, target, digitised)
        elif mimetype in OFFICE_MIMETYPES:
            fidelity = office_fidelity(source, target)
        if fidelity is not None and not fidelity.ok:
            failures.append(
                finding(
                    "pres.pdfa.text_fidelity",
                    path=path,
                    message_vi=fidelity.message_vi,
                    message_en=fidelity.message_en,
                )
            )
            return False
        return True


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


def _migration_event(original: str, mimetype: str, result: ConversionResult) -> EventRecord:
    tools = ", ".join(f"{t.name} {t.version}" for t in result.tools)
    ocr_vi, ocr_en = ("có", "yes") if result.ocr_applied else ("không", "no")
    if mimetype == PDF:
        tail_vi, tail_en = (
            "bản sao không mang chữ ký số của bản gốc",
            "the copy does not carry the original's signatures",
        )
    elif mimetype in OFFICE_MIMETYPES:
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


def _notes(source: Path, target: Path, path: str, mimetype: str, result: ConversionResult) -> list[Finding]:
    """The info and warning findings of one verified copy."""
    notes: list[Finding] = []
    signed = has_signatures(source) if mimetype == PDF else mimetype in OFFICE_MIMETYPES and office_signed(source)
    if signed:
        notes.append(
            finding(
                "pres.signature.preserved",
                path=path,
                message_vi="Bản gốc có chữ ký số và được giữ nguyên từng bit; bản sao PDF/A không mang chữ ký số",
                message_en="The original is digitally signed and kept bit for bit; the PDF/A copy does not carry "
                "the signatures",
            )
        )
    if result.ocr_applied:
        notes.extend(_ocr_warning(source, target, path, mimetype))
    return notes


def _ocr_warning(source: Path, target: Path, path: str, mimetype: str) -> list[Finding]:
    """pres.ocr.confidence when the OCRed pages (all of an image; a PDF's pages that had no text)
    have empty or implausible text."""
    try:
        ocred = None if mimetype != PDF else [n for n, t in enumerate(page_texts(source), 1) if not t.strip()]
        if ocred == []:
            return []
        quality: OcrQuality | None = ocr_quality(target, ocred)
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
    return [finding("pres.ocr.confidence", path=path, message_vi=vi, message_en=en)]


def _digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as stream:
        return sha256_stream(stream)
