"""Verify a preservation copy: PDF/A conformance and text fidelity (pres.pdfa.text_fidelity).

Text is what PDFium extracts from the page content. Annotations (signature stamps, form fields,
comments) are not part of it in the original, but Ghostscript's PDF/A conversion flattens form
fields, including the visible stamps of signature fields, into the copy's page content. So the
fidelity check leaves out, on both sides, every character whose centre lies in the area of one of
the original's visible annotations: a stamp's "Ký bởi …" or a stamped document number never counts,
and neither does content text the stamp covers. (`pdftotext` would include annotation text.)
Words are compared after NFC, with control and format characters removed (PDFium marks a line-end
hyphen with U+0002) and whitespace collapsed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

import pikepdf
import pypdfium2 as pdfium
from ocrmypdf.builtin_plugins.pypdfium import _pdfium_lock
from pikepdf.pdfa import validate_written

PAGE_SEPARATOR = "\f"
MAX_FINDINGS = 50
CONTEXT_WORDS = 6

# PDFium is not thread-safe; every call into it from this process goes through this lock, which
# is the one OCRmyPDF's PDFium rasteriser takes (convert_pdfa rasterises pages to OCR with it).
_PDFIUM_LOCK = _pdfium_lock
# Annotation flags Hidden (2) and NoView (32): such annotations are never shown.
_HIDDEN_FLAGS = 2 | 32

Area = tuple[float, float, float, float]

Verdict = Literal["pass", "fail", "not_checked"]


@dataclass(frozen=True)
class PdfaCheck:
    """pikepdf's verdict on a file against the PDF/A part it claims (PDF/A-2 if it claims none).

    pikepdf checks the b level; `not_checked` means it met constructs it does not check (signed
    files, AcroForms), which veraPDF must decide.
    """

    claimed: str
    flavour: str
    verdict: Verdict
    findings: tuple[str, ...]
    tool: str
    tool_version: str

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def is_pdfa2(self) -> bool:
        """A valid PDF/A-2 file (b level checked; a claimed 2U or 2A is reported as claimed)."""
        return self.passed and self.flavour == "2b"

    @property
    def conformance(self) -> str:
        """The claim, e.g. "PDF/A-2B", unless pikepdf found a violation ("" then, or if none)."""
        return f"PDF/A-{self.claimed}" if self.claimed and self.verdict != "fail" else ""


@dataclass(frozen=True)
class FidelityResult:
    """The outcome of pres.pdfa.text_fidelity; on failure, where the texts first part ways."""

    ok: bool
    digitised: bool
    original_words: int
    copy_words: int
    page: int | None = None
    original_context: str = ""
    copy_context: str = ""
    reason_en: str = ""
    reason_vi: str = ""

    @property
    def message_en(self) -> str:
        if self.ok:
            return ""
        where = f" on page {self.page}" if self.page else ""
        return f"{self.reason_en}{where}: original «{self.original_context}», copy «{self.copy_context}»"

    @property
    def message_vi(self) -> str:
        if self.ok:
            return ""
        where = f" ở trang {self.page}" if self.page else ""
        return f"{self.reason_vi}{where}: bản gốc «{self.original_context}», bản sao «{self.copy_context}»"


class PdfTextError(Exception):
    """PDFium cannot read the text of a PDF (damaged, or encrypted with a user password)."""


def check_pdfa(path: Path) -> PdfaCheck:
    """Validate the file as written, with `pikepdf.pdfa.validate_written`; bad files never raise."""
    claimed = pdfa_claim(path)
    part = claimed[:1] if claimed[:1] in ("1", "2", "3") else "2"
    flavour = f"{part}b"
    report = validate_written(path, flavour)
    findings = [str(f) for f in report.findings]
    if len(findings) > MAX_FINDINGS:
        findings = [*findings[:MAX_FINDINGS], f"… and {len(findings) - MAX_FINDINGS} more"]
    return PdfaCheck(
        claimed=claimed,
        flavour=flavour,
        verdict=report.verdict,
        findings=tuple(findings),
        tool="pikepdf",
        tool_version=pikepdf.__version__,
    )


def extract_text(path: Path) -> str:
    """The page-content text of every page (annotations excluded), pages joined by form feeds.

    Raises PdfTextError if PDFium cannot open the file or one of its pages.
    """
    return PAGE_SEPARATOR.join(page_texts(path))


def page_texts(path: Path) -> list[str]:
    """The page-content text of each page, as PDFium extracts it; PdfTextError if unreadable."""
    with _PDFIUM_LOCK, _open(path) as document:
        return [_page_text(document, index, []) for index in range(len(document))]


def normalised_words(text: str) -> list[str]:
    """NFC, control and format characters removed, split on any whitespace."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept.split()


def text_fidelity(original: Path, copy: Path, digitised: bool) -> FidelityResult:
    """Rule pres.pdfa.text_fidelity, page by page, outside the original's annotation areas.

    Born-digital: each page of the copy has the original's words. PDFium infers spaces from glyph
    positions, which move a little when Ghostscript rewrites a font ("25" may come out as "2 5"),
    so the words are compared as one string without whitespace. Digitised: the original's words
    on each page (if any) appear in the same order in the copy, which may add OCR text anywhere.
    """
    try:
        original_pages, copy_pages = _comparable_words(original, copy)
    except PdfTextError as exc:
        return FidelityResult(
            ok=False,
            digitised=digitised,
            original_words=0,
            copy_words=0,
            reason_en=f"the text cannot be read ({exc})",
            reason_vi=f"không đọc được văn bản ({exc})",
        )
    result = FidelityResult(
        ok=True,
        digitised=digitised,
        original_words=sum(map(len, original_pages)),
        copy_words=sum(map(len, copy_pages)),
    )
    if len(original_pages) != len(copy_pages):
        return replace(
            result,
            ok=False,
            original_context=f"{len(original_pages)} pages",
            copy_context=f"{len(copy_pages)} pages",
            reason_en="the page count differs",
            reason_vi="số trang khác nhau",
        )
    compare = _missing_in_order if digitised else _first_difference
    for number, (before, after) in enumerate(zip(original_pages, copy_pages, strict=True), 1):
        mismatch = compare(before, after)
        if mismatch is None:
            continue
        at_original, at_copy = mismatch
        if digitised:
            reason_en = "a word of the original is missing from the copy"
            reason_vi = "bản sao thiếu một từ của bản gốc"
        else:
            reason_en = f"the text differs from word {at_original + 1}"
            reason_vi = f"văn bản khác nhau từ từ thứ {at_original + 1}"
        return replace(
            result,
            ok=False,
            page=number,
            original_context=_context(before, at_original),
            copy_context=_context(after, at_copy),
            reason_en=reason_en,
            reason_vi=reason_vi,
        )
    return result


def _comparable_words(original: Path, copy: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Each page's words in both files, leaving out the original's annotation areas.

    An area is moved by the difference of the two pages' origins, since Ghostscript may move a
    page's box to (0, 0) and its content with it.
    """
    areas = _annotation_areas(original)
    with _PDFIUM_LOCK, _open(original) as before, _open(copy) as after:
        if len(before) != len(after):
            return (
                [normalised_words(_page_text(before, i, [])) for i in range(len(before))],
                [normalised_words(_page_text(after, i, [])) for i in range(len(after))],
            )
        original_pages, copy_pages = [], []
        for index in range(len(before)):
            page_areas = areas[index] if index < len(areas) else []
            moved = []
            if page_areas:
                (x0, y0), (dx, dy) = _origin(before, index), _origin(after, index)
                moved = [(x - x0 + dx, y - y0 + dy, u - x0 + dx, v - y0 + dy) for x, y, u, v in page_areas]
            original_pages.append(normalised_words(_page_text(before, index, page_areas)))
            copy_pages.append(normalised_words(_page_text(after, index, moved)))
    return original_pages, copy_pages


@contextmanager
def _open(path: Path) -> Iterator[Any]:
    """A PDFium document (call with _PDFIUM_LOCK held); PdfTextError if it cannot be opened."""
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PdfTextError(f"{path.name}: {exc}") from exc
    try:
        yield document
    except pdfium.PdfiumError as exc:
        raise PdfTextError(f"{path.name}: {exc}") from exc
    finally:
        document.close()


def _origin(document: Any, index: int) -> tuple[float, float]:
    page = document[index]
    left, bottom, _, _ = page.get_bbox()
    page.close()
    return float(left), float(bottom)


def _page_text(document: Any, index: int, areas: Sequence[Area]) -> str:
    """The text of one page; characters centred in `areas` become spaces."""
    page = document[index]
    textpage = page.get_textpage()
    try:
        if not areas:
            return str(textpage.get_text_bounded())
        left, bottom, right, top = page.get_bbox()
        units = []
        for char in range(textpage.count_chars()):
            code = int(pdfium.raw.FPDFText_GetUnicode(textpage, char))
            box_left, box_bottom, box_right, box_top = textpage.get_charbox(char)
            x, y = (box_left + box_right) / 2, (box_bottom + box_top) / 2
            shown = left <= x <= right and bottom <= y <= top
            covered = any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in areas)
            units.append(chr(code) if code and shown and not covered else " ")
        # PDFium gives UTF-16 code units: join surrogate pairs, keep any lone one as it is.
        return "".join(units).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    finally:
        textpage.close()
        page.close()


def _annotation_areas(path: Path) -> list[list[Area]]:
    """Per page, the rectangles of the annotations a viewer shows (with an appearance, not hidden)."""
    try:
        with pikepdf.open(path) as pdf:
            areas = []
            for page in pdf.pages:
                annotations = page.obj.get("/Annots")
                found = (_shown_area(a) for a in annotations) if isinstance(annotations, pikepdf.Array) else ()
                areas.append([area for area in found if area is not None])
            return areas
    except (pikepdf.PikepdfError, OSError, ValueError) as exc:
        raise PdfTextError(f"{path.name}: {exc}") from exc


def _shown_area(annotation: pikepdf.Object) -> Area | None:
    """The normalised /Rect of a shown annotation; None if hidden, without appearance or malformed."""
    if not isinstance(annotation, pikepdf.Dictionary) or "/AP" not in annotation:
        return None
    try:
        if int(annotation.get("/F", 0)) & _HIDDEN_FLAGS:
            return None
        x0, y0, x1, y1 = (float(v) for v in annotation.Rect)
    except (AttributeError, TypeError, ValueError):
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _first_difference(original: Sequence[str], copy: Sequence[str]) -> tuple[int, int] | None:
    """The words holding the first differing character (whitespace ignored), or None if equal."""
    before, after = "".join(original), "".join(copy)
    if before == after:
        return None
    at = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    return _word_at(original, at), _word_at(copy, at)


def _word_at(words: Sequence[str], char: int) -> int:
    """The index of the word that holds character `char` of the words joined without spaces."""
    ends = accumulate(map(len, words))
    return next((index for index, end in enumerate(ends) if char < end), len(words))


def _missing_in_order(original: Sequence[str], copy: Sequence[str]) -> tuple[int, int] | None:
    """The first original word not found in order in the copy, and where the search stopped."""
    position = 0
    for index, word in enumerate(original):
        try:
            position = copy.index(word, position) + 1
        except ValueError:
            return index, position
    return None


def _context(sequence: Sequence[str], index: int) -> str:
    start = max(0, index - CONTEXT_WORDS)
    shown = " ".join(sequence[start : index + CONTEXT_WORDS])
    return shown or "∅"


def pdfa_claim(path: Path) -> str:
    """The XMP pdfaid part + conformance ("2B"), or "" if none or the file cannot be opened."""
    try:
        with pikepdf.open(path) as pdf:
            return str(pdf.open_metadata().pdfa_status)
    except (pikepdf.PikepdfError, OSError, ValueError):
        return ""
