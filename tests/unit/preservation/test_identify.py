"""Format identification on real corpus files: libmagic's MIME type and the PRONOM PUID table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archive_service.tools.identify import identify

CASES = [
    # PDF versions, from the header
    ("vietnamese/vbhc__04_QĐ_138.signed_20250510_124909.pdf", "application/pdf", "fmt/17"),
    ("vietnamese/vbhc__01CT_20250509_154257.pdf", "application/pdf", "fmt/18"),
    ("vietnamese/vbhc__vht507.signed_20250510_124909.pdf", "application/pdf", "fmt/19"),
    ("wild/pdfjs__autoprint.pdf", "application/pdf", "fmt/20"),
    ("vietnamese/vietadmin__3.pdf", "application/pdf", "fmt/276"),
    ("wild/pdfjs__issue19176.pdf", "application/pdf", "fmt/1129"),
    # PDF/A claims in the XMP (identification records the claim, not validity)
    ("vietnamese/vbhc__11CT_20250510_124908.pdf", "application/pdf", "fmt/354"),
    ("wild/pikepdf__jbig2global.pdf", "application/pdf", "fmt/477"),
    ("wild/pyhanko__minimal-pdf-ua-and-a.pdf", "application/pdf", "fmt/480"),
    # encrypted with a user password: the XMP cannot be read, the header still tells the version
    ("wild/pikepdf__graph-encrypted.pdf", "application/pdf", "fmt/276"),
    # images
    ("images/vietocr3__vietsample.tif", "image/tiff", "fmt/353"),
    ("images/ocrmypdf__linn.png", "image/png", "fmt/11"),
    ("images/tesseract__hebtypo.jpg", "image/jpeg", "fmt/43"),
    ("vietnamese/vietadmin__4_1.jpg", "image/jpeg", "fmt/44"),
    ("images/ocrmypdf__baiona_cmyk.jpg", "image/jpeg", ""),  # Exif without JFIF: left to siegfried
    # office documents
    (
        "office/python-docx__having-images.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "fmt/412",
    ),
    ("office/odfpy__headerfooter.odt", "application/vnd.oasis.opendocument.text", "fmt/136"),
    ("office/odfpy__aes_sample.odt", "application/vnd.oasis.opendocument.text", "fmt/1756"),
    ("office/odfpy__blowfish_sample.odt", "application/vnd.oasis.opendocument.presentation", "fmt/293"),
    ("office/xlrd__sample.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "fmt/214"),
    ("vietnamese/vanbanplus__Phuluc1.doc", "application/msword", "fmt/40"),
    # XML (edXML) and plain text
    ("edxml/truclienthong__edoc_new.edxml", "text/xml", "fmt/101"),
    ("vietnamese/vietadmin__4_1_gt.txt", "text/plain", ""),
]


@pytest.mark.parametrize(("name", "mimetype", "puid"), CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_identifies_corpus_files(corpus: Path, name: str, mimetype: str, puid: str) -> None:
    found = identify(corpus / name)
    assert (found.mimetype, found.puid) == (mimetype, puid)


def test_names_the_tool_and_a_short_format_name(corpus: Path) -> None:
    found = identify(corpus / "vietnamese/vpcp__HDSD_LICH_HOP.pdf")
    assert found.format_name == "PDF document"
    assert found.tool == "libmagic"
    assert re.fullmatch(r"\d+\.\d{2}", found.tool_version)


def test_unknown_formats_have_no_puid(corpus: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xff archive \x01" * 64)
    assert (identify(blob).mimetype, identify(blob).puid) == ("application/octet-stream", "")
    # a PDF/A test file whose header was broken on purpose is not recognised as PDF at all
    broken = identify(corpus / "pdfa/PDF_A-1b__6.1.2_File_header__6-1-2-t01-fail-a.pdf")
    assert (broken.mimetype, broken.puid) == ("application/octet-stream", "")
