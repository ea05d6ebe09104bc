"""Every preservation copy made from the corpus, and from generated Vietnamese documents, is proven.

Each PDF of `corpus/wild` and `corpus/vietnamese` and each scanned image of the corpus goes
through the production path (`make_copy` in the warm worker pool: conversion, pikepdf check, text
fidelity); then veraPDF validates every copy made, in one run. A file either gets a copy that
veraPDF finds compliant, or ends with the finding its MANIFEST row expects (encrypted, damaged,
non-convertible), with a reason a user can read. Generated Vietnamese documents (embedded font,
diacritics, several pages; colour scans at 200 and 300 dpi) must keep every word, and their OCR
text must be searchable in Vietnamese.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest

from archive_service.config import Settings
from archive_service.errors import MissingDependencyError
from archive_service.preservation.preserve_file import CopyOutcome, CopyRequest, SourceKind, make_copy
from archive_service.preservation.verify_pdfa import extract_text, page_texts
from archive_service.preservation.workers import WorkerLost, WorkerPool
from archive_service.tools.ghostscript import find_ghostscript
from archive_service.tools.verapdf import VeraResult, find_verapdf, verapdf_validate
from search.vietnamese import fold
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS
from tests.fixtures.vietnamese_pdfs import DECISION, born_digital_pdf, scan_image, scan_pdf

pytestmark = pytest.mark.slow

FAILED = "pres.pdfa.failed"
FIDELITY = "pres.pdfa.text_fidelity"
ENCRYPTED = "the PDF is encrypted"
DAMAGED = "the PDF is damaged or cannot be read"
NOT_A_PDF = "the file is not a readable PDF or image"
XFA = "dynamic XFA form"

# MANIFEST rows that expect a refusal ("reject with clear error"), and the finding each one gets.
REFUSED: dict[str, tuple[str, str]] = {
    "wild/ocrmypdf__invalid.pdf": (FAILED, DAMAGED),
    "wild/ocrmypdf__livecycle.pdf": (FAILED, XFA),
    "wild/pdfjs__xfa_issue14315.pdf": (FAILED, XFA),
    "wild/pdfjs__bug1606566.pdf": (FAILED, NOT_A_PDF),
    "wild/pdfjs__issue9105_other.pdf": (FAILED, NOT_A_PDF),
    "wild/pdfjs__issue9418.pdf": (FAILED, DAMAGED),
    "wild/pyhanko__circular-page-tree.pdf": (FAILED, DAMAGED),
    "wild/pikepdf__cyclic-toc.pdf": (FAILED, "Ghostscript or Tesseract failed"),
    "wild/pdfjs__noembed-sjis.pdf": (FAILED, "non-embedded CID fonts"),
    "wild/pdfjs__encrypted-attachment.pdf": (FAILED, ENCRYPTED),
    "wild/pdfjs__issue6010_2.pdf": (FAILED, ENCRYPTED),
    "wild/pdfjs__saslprep-r6.pdf": (FAILED, ENCRYPTED),
    "wild/pikepdf__graph-encrypted.pdf": (FAILED, ENCRYPTED),
    "wild/pyhanko__minimal-pubkey-aes256.pdf": (FAILED, ENCRYPTED),
    "wild/pypdf__encryption__r2-user-password.pdf": (FAILED, ENCRYPTED),
    "wild/pypdf__encryption__r4-aes-user-password.pdf": (FAILED, ENCRYPTED),
    "wild/pypdf__libreoffice-writer-password.pdf": (FAILED, ENCRYPTED),
    "wild/qpdf__enc-R2_V1_U=view_O=master.pdf": (FAILED, ENCRYPTED),
    "wild/qpdf__enc-XI-R6_V5_U=attachment_encrypted-attachments.pdf": (FAILED, ENCRYPTED),
    # Openable without a password by qpdf, not by PDFium: the copy's text cannot be compared.
    "wild/pypdf__encryption__r6-user-password.pdf": (FIDELITY, "the text cannot be read"),
    # An OCR layer whose words come out in another order once Ghostscript rewrites the page.
    "wild/pikepdf__jbig2global.pdf": (FIDELITY, "the text differs from word 1"),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".tif")


@dataclass(frozen=True)
class Made:
    request: CopyRequest
    outcome: CopyOutcome | WorkerLost


def _corpus_inputs() -> list[tuple[str, SourceKind]]:
    pdfs = sorted([*CORPUS.glob("wild/*.pdf"), *CORPUS.glob("vietnamese/*.pdf")])
    images = sorted(p for p in [*CORPUS.glob("images/*"), *CORPUS.glob("vietnamese/*")] if p.suffix in IMAGE_SUFFIXES)
    return [(p.relative_to(CORPUS).as_posix(), SourceKind.PDF) for p in pdfs] + [
        (p.relative_to(CORPUS).as_posix(), SourceKind.IMAGE) for p in images
    ]


def _generated(folder: Path) -> list[tuple[Path, SourceKind, bool]]:
    """Generated Vietnamese inputs: (file, kind, digitised)."""
    born = born_digital_pdf(
        folder / "quyet_dinh_3_trang.pdf",
        [DECISION, DECISION[3:], ["Nơi nhận: Như Điều 2; Lưu: VT, Sở Nội vụ tỉnh Quảng Ngãi."]],
    )
    at_300 = scan_image(folder / "ban_quet_300.png", DECISION[:5], 300)
    at_200 = scan_image(folder / "ban_quet_200.jpg", DECISION[3:], 200)
    scan = scan_pdf(folder / "ban_quet_2_trang.pdf", [at_300, at_200])
    return [(born, SourceKind.PDF, False), (scan, SourceKind.PDF, True), (at_200, SourceKind.IMAGE, True)]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Made]:
    """Every input through `make_copy` in a warm pool of two workers, keyed by its name."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        missing(f"the shared test corpus is not at {CORPUS}")
    tools = Settings().tools
    try:
        gs = find_ghostscript(tools.ghostscript, tools.cache_dir)
    except MissingDependencyError as exc:
        missing(exc.message_en)
    copies = tmp_path_factory.mktemp("copies")
    generated = tmp_path_factory.mktemp("generated")
    inputs = [(name, CORPUS / name, kind, False) for name, kind in _corpus_inputs()]
    inputs += [(f"generated/{p.name}", p, kind, digitised) for p, kind, digitised in _generated(generated)]
    requests = [
        CopyRequest(kind, source, copies / f"{n:03d}.pdf", name, digitised, gs, ocr_jobs=1)
        for n, (name, source, kind, digitised) in enumerate(inputs)
    ]
    pool: WorkerPool[CopyRequest, CopyOutcome] = WorkerPool(make_copy, workers=2, stall_timeout=600)
    started = time.monotonic()
    try:
        outcomes = pool.run(requests)
    finally:
        pool.close()
    print(f"{len(requests)} copies attempted in {time.monotonic() - started:.1f} s")
    return {r.path: Made(r, o) for r, o in zip(requests, outcomes, strict=True)}


@pytest.fixture(scope="module")
def verapdf(made: dict[str, Made]) -> dict[str, VeraResult]:
    """veraPDF's verdict on every copy made, from one run (each copy checked against its claim)."""
    try:
        lib = find_verapdf()
    except MissingDependencyError as exc:
        missing(exc.message_en, "bash scripts/services/verapdf.sh")
    copies = {m.request.target: name for name, m in made.items() if _copy(m) is not None}
    started = time.monotonic()
    results = verapdf_validate(list(copies), flavour="0", lib=lib)
    print(f"veraPDF: {len(copies)} copies in {time.monotonic() - started:.1f} s")
    return {copies[path]: result for path, result in results.items()}


def _copy(made: Made) -> CopyOutcome | None:
    outcome = made.outcome
    return outcome if isinstance(outcome, CopyOutcome) and outcome.result is not None else None


def test_every_input_gets_a_copy_or_the_finding_its_manifest_row_expects(made: dict[str, Made]) -> None:
    assert len(made) > 100
    wrong = []
    for name, item in made.items():
        outcome = item.outcome
        assert not isinstance(outcome, WorkerLost), (name, outcome)
        errors = [f for f in outcome.findings if f.is_error]
        if name not in REFUSED:
            if outcome.result is None or errors:
                wrong.append((name, "expected a copy", [f.message_en for f in errors]))
            continue
        rule, reason = REFUSED[name]
        got = [(f.rule, f.message_en) for f in errors]
        if outcome.result is not None or not any(r == rule and reason in m for r, m in got):
            wrong.append((name, f"expected {rule}: {reason}", got))
        assert all(f.message_vi and f.path == name and "Traceback" not in f.message_en for f in errors)
    assert wrong == []


def test_every_copy_passes_verapdf(verapdf: dict[str, VeraResult]) -> None:
    assert len(verapdf) > 80
    failures = {name: r.summary() for name, r in verapdf.items() if not r.compliant}
    assert failures == {}
    assert all(r.profile.startswith("PDF/A-2") for r in verapdf.values())


def test_ghostscript_gaps_are_completed_in_the_copy(made: dict[str, Made], verapdf: dict[str, VeraResult]) -> None:
    """The copies that needed pdfa_fixes (names, appearances, DefaultCMYK, JP2 header) are valid and
    say what was added."""
    expected = {
        "wild/pdfjs__transparent.pdf": ("optional content configuration", "DefaultCMYK"),
        "wild/pypdf__Seige_of_Vicksburg_Sample_OCR.pdf": ("optional content configuration",),
        "wild/pypdf__attachment.pdf": ("annotation(s) without appearance",),
        "wild/pypdf__commented.pdf": ("annotation(s) without appearance",),
        "wild/pikepdf__pike-jp2.pdf": ("bare JPEG 2000 codestream(s) given a JP2 header",),
    }
    for name, notes in expected.items():
        outcome = _copy(made[name])
        assert outcome is not None and outcome.result is not None, name
        for note in notes:
            assert any(note in w for w in outcome.result.warnings), (name, outcome.result.warnings)
        assert verapdf[name].compliant, verapdf[name].summary()
    jpx = made["wild/pikepdf__pike-jp2.pdf"].request
    assert _jpx_pixels(jpx.target) == _jpx_pixels(jpx.source)  # the same image, only a header added


def _jpx_pixels(path: Path) -> list[bytes]:
    with pikepdf.open(path) as pdf:
        return [
            pikepdf.PdfImage(image).as_pil_image().tobytes()
            for image in pdf.objects
            if isinstance(image, pikepdf.Stream) and "JPXDecode" in str(image.get("/Filter"))
        ]


def test_generated_born_digital_vietnamese_keeps_every_word_on_every_page(made: dict[str, Made]) -> None:
    item = made["generated/quyet_dinh_3_trang.pdf"]
    assert _copy(item) is not None
    pages = page_texts(item.request.target)
    assert len(pages) == 3
    first = " ".join(pages[0].split())
    assert " ".join(DECISION) in first  # every diacritic, in order
    assert "Sở Nội vụ tỉnh Quảng Ngãi" in pages[2]


@pytest.mark.parametrize("name", ["generated/ban_quet_2_trang.pdf", "generated/ban_quet_200.jpg"])
def test_ocred_colour_scans_are_searchable_in_vietnamese(made: dict[str, Made], name: str) -> None:
    outcome = _copy(made[name])
    assert outcome is not None and outcome.result is not None
    assert outcome.result.ocr_applied
    assert "pres.ocr.confidence" not in {f.rule for f in outcome.findings}
    text = " ".join(extract_text(made[name].request.target).split())
    for words in ("tuyển dụng công chức", "năm 2024", "Quyết định này có hiệu lực", "Phê duyệt danh sách"):
        assert words in text, (words, text[:300])
    assert "quyet dinh nay co hieu luc" in fold(text)  # what an unaccented search matches
    if name.endswith(".pdf"):  # the 300 dpi page
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
