"""Fixtures for the preservation tests: the real Ghostscript and Tesseract, the shared corpus, tiny PDFs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Dictionary, Name

from archive_service.config import Settings
from archive_service.errors import MissingDependencyError
from archive_service.tools.ghostscript import find_ghostscript
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        missing(f"the shared test corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def gs() -> Path:
    tools = Settings().tools
    try:
        return find_ghostscript(tools.ghostscript, tools.cache_dir)
    except MissingDependencyError as exc:
        missing(exc.message_en)


@pytest.fixture(scope="session")
def tesseract_vie() -> None:
    if shutil.which("tesseract") is None:
        missing("Tesseract is not installed")
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False).stdout
    if "vie" not in langs.split():
        missing("Tesseract has no Vietnamese data (tesseract-ocr-vie)")


def text_pdf(path: Path, pages: list[str], *, stamp: str = "", flattened: bool = False) -> Path:
    """A PDF with one Helvetica line per page; `stamp` adds a signature-like stamp on page 1.

    The stamp is an annotation with an appearance stream, or with `flattened` its text is drawn in
    the page content instead, as Ghostscript does with form fields when it writes PDF/A.
    """
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )
    for number, line in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET"
        if stamp and number == 0 and flattened:
            content += f" BT /F1 10 Tf 310 115 Td ({stamp}) Tj ET"
        page = pikepdf.Page(
            Dictionary(
                Type=Name.Page,
                MediaBox=[0, 0, 612, 792],
                Resources=Dictionary(Font=Dictionary(F1=font)),
                Contents=pdf.make_stream(content.encode()),
            )
        )
        if stamp and number == 0 and not flattened:
            appearance = pdf.make_stream(
                f"BT /F1 10 Tf 10 15 Td ({stamp}) Tj ET".encode(),
                Type=Name.XObject,
                Subtype=Name.Form,
                BBox=[0, 0, 200, 40],
                Resources=Dictionary(Font=Dictionary(F1=font)),
            )
            annotation = Dictionary(
                Type=Name.Annot, Subtype=Name.Stamp, Rect=[300, 100, 500, 140], F=4, AP=Dictionary(N=appearance)
            )
            page.obj.Annots = pdf.make_indirect(pikepdf.Array([annotation]))
        pdf.pages.append(page)
    pdf.save(path)
    return path
