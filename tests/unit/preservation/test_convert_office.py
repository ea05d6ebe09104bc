"""PDF/A-2 copies of word-processing documents with LibreOffice, and their text fidelity check."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from archive_service.errors import ConversionFailedError, MissingDependencyError
from archive_service.pipeline.steps.preserve import _unique, copy_name
from archive_service.preservation.convert_office import (
    PDFA2_FILTER,
    find_soffice,
    office_fidelity,
    office_signed,
    office_text,
    office_to_pdfa,
)
from archive_service.preservation.convert_pdfa import CONVERTED
from archive_service.preservation.verify_pdfa import check_pdfa, extract_text
from tests.fixtures.requirements import missing

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
)

# (corpus file, a word with diacritics it holds, or "" when it has none)
DOCUMENTS = [
    ("vietnamese/vanbanplus__30_2020_ND_CP.docx", "Hạnh phúc"),
    ("vietnamese/vanbanplus__Phuluc6.docx", "tích hợp"),
    ("vietnamese/vpcp__HDSD_VAN_THU_BAN_HANH_VAN_BAN.docx", "văn bản"),
    ("office/odfpy__headerfooter.odt", ""),
    ("office/odfpy__images.odt", ""),
    ("office/odfpy__ClimateChange2.odt", ""),
    ("office/python-docx__tbl-having-tables.docx", ""),
    ("office/python-docx__par-hyperlinks.docx", ""),
    ("office/python-docx__comments-rich-para.docx", ""),
]


@pytest.fixture(scope="session")
def soffice() -> Path:
    try:
        return find_soffice()
    except MissingDependencyError as exc:
        missing(exc.message_en)


@pytest.mark.parametrize(("name", "word"), DOCUMENTS, ids=[n.split("__")[1][:28] for n, _ in DOCUMENTS])
def test_copy_is_pdfa2_and_keeps_the_words_in_order(
    soffice: Path, corpus: Path, tmp_path: Path, name: str, word: str
) -> None:
    source = corpus / name
    target = tmp_path / "out" / "copy.pdf"
    result = office_to_pdfa(source, target, soffice=soffice)
    assert (result.target, result.outcome, result.conformance) == (target, CONVERTED, "PDF/A-2B")
    assert [t.name for t in result.tools] == ["libreoffice"] and result.tools[0].version
    assert not result.ocr_applied
    check = check_pdfa(target)
    # LibreOffice writes a /DocChecksum trailer key pikepdf does not check: veraPDF decides those
    assert check.verdict in ("pass", "not_checked"), check.findings
    assert check.conformance == "PDF/A-2B"
    fidelity = office_fidelity(source, target)
    assert fidelity.ok, fidelity.message_en
    if word:
        assert fidelity.original_words > 300
        assert word in (office_text(source) or "")
        assert word in extract_text(target)


def test_a_table_cut_off_at_the_page_edge_fails_fidelity(soffice: Path, corpus: Path, tmp_path: Path) -> None:
    # Phụ lục I's "Ví dụ minh hoạ" column runs off the right edge of the page in LibreOffice's
    # layout: the words are not on the page, so the copy must not count as faithful.
    source = corpus / "vietnamese/vanbanplus__Phuluc1.docx"
    target = tmp_path / "copy.pdf"
    office_to_pdfa(source, target, soffice=soffice)
    fidelity = office_fidelity(source, target)
    assert not fidelity.ok
    assert "missing from the copy" in fidelity.message_en
    assert "bản sao thiếu từ" in fidelity.message_vi


def test_fidelity_fails_against_another_documents_copy(soffice: Path, corpus: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.pdf"
    office_to_pdfa(corpus / "vietnamese/vpcp__HDSD_VAN_THU_BAN_HANH_VAN_BAN.docx", target, soffice=soffice)
    fidelity = office_fidelity(corpus / "vietnamese/vanbanplus__Phuluc6.docx", target)
    assert not fidelity.ok and fidelity.original_context and fidelity.copy_context


def test_rtf_with_vietnamese_text_converts(soffice: Path, tmp_path: Path) -> None:
    source = tmp_path / "qd.rtf"
    words = "Quyết định về việc tuyển dụng công chức"
    escaped = "".join(ch if ord(ch) < 128 else f"\\u{ord(ch)}?" for ch in words)
    source.write_text("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0\\fs26 " + escaped + "\\par}", "ascii")
    target = tmp_path / "qd.pdf"
    result = office_to_pdfa(source, target, soffice=soffice)
    assert result.conformance == "PDF/A-2B"
    assert words in " ".join(extract_text(target).split())
    assert office_text(source) is None  # RTF: PDF/A only, no source-side word list
    assert office_fidelity(source, target).ok


def test_a_truncated_docx_fails_with_a_clear_reason(soffice: Path, corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "vietnamese/vanbanplus__Phuluc6.docx").read_bytes()
    source = tmp_path / "broken.docx"
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionFailedError) as caught:
        office_to_pdfa(source, tmp_path / "copy.pdf", soffice=soffice)
    assert "the file is damaged" in caught.value.message_en
    assert "tệp hỏng" in caught.value.message_vi
    assert "broken.docx" in caught.value.message_en
    assert not (tmp_path / "copy.pdf").exists()


def test_a_docx_that_is_not_a_zip_fails(soffice: Path, tmp_path: Path) -> None:
    source = tmp_path / "fake.docx"
    source.write_bytes(b"this is not a word document")
    with pytest.raises(ConversionFailedError, match="not a ZIP container"):
        office_to_pdfa(source, tmp_path / "copy.pdf", soffice=soffice)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("office/ocrmypdf__tagged.odt", "damaged"),  # the blob is a corrupt ZIP
        ("office/odfpy__aes_sample.odt", "encrypted with a password"),
        ("office/odfpy__blowfish_sample.odt", "encrypted with a password"),
    ],
)
def test_damaged_and_encrypted_odt_are_refused(
    soffice: Path, corpus: Path, tmp_path: Path, name: str, reason: str
) -> None:
    with pytest.raises(ConversionFailedError) as caught:
        office_to_pdfa(corpus / name, tmp_path / "copy.pdf", soffice=soffice)
    assert reason in caught.value.message_en


def test_a_conversion_that_runs_too_long_is_stopped(soffice: Path, corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConversionFailedError, match=r"did not finish within 0\.2 seconds"):
        office_to_pdfa(
            corpus / "vietnamese/vanbanplus__Phuluc6.docx", tmp_path / "copy.pdf", soffice=soffice, timeout=0.2
        )
    assert not (tmp_path / "copy.pdf").exists()


def test_a_missing_libreoffice_names_the_install_script(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError) as caught:
        find_soffice(tmp_path / "no-soffice")
    assert "scripts/install-system-deps.sh" in caught.value.message_en
    assert "scripts/install-system-deps.sh" in caught.value.message_vi


def test_the_export_filter_asks_for_pdfa2() -> None:
    assert '"SelectPdfVersion":{"type":"long","value":"2"}' in PDFA2_FILTER


def test_signed_odt_is_recognised(corpus: Path) -> None:
    assert office_signed(corpus / "office/odfpy__ClimateChange2.odt")
    assert not office_signed(corpus / "office/odfpy__headerfooter.odt")


# --- office_text on small hand-made documents (no LibreOffice needed) -------------------------


def _zip(tmp_path: Path, name: str, member: str, xml: str) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, xml.encode("utf-8"))
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


def test_docx_text_joins_runs_and_leaves_out_what_is_not_on_the_page(tmp_path: Path) -> None:
    body = (
        "<w:p><w:r><w:t>Quy</w:t></w:r><w:r><w:t>ết định</w:t></w:r><w:r><w:tab/><w:t>số 15</w:t></w:r></w:p>"
        "<w:p><w:del><w:r><w:delText>bỏ đi</w:delText></w:r></w:del>"
        "<w:r><w:rPr><w:vanish/></w:rPr><w:t>ẩn</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>Hà Nội</w:t></w:r></w:p>'
    )
    xml = f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    source = _zip(tmp_path, "a.docx", "word/document.xml", xml)
    assert (office_text(source) or "").split() == ["Quyết", "định", "số", "15", "Hà", "Nội"]


def test_odt_text_reads_paragraphs_spaces_and_skips_notes_and_frames(tmp_path: Path) -> None:
    body = (
        "<text:h>Chương I</text:h>"
        '<text:p>Điều<text:s text:c="2"/>1.<text:tab/>Phạm vi<text:note><text:note-citation>1</text:note-citation>'
        "<text:note-body><text:p>chú thích</text:p></text:note-body></text:note> điều chỉnh</text:p>"
        "<text:p><draw:frame><draw:text-box><text:p>hộp chữ</text:p></draw:text-box></draw:frame>"
        "trang <text:page-number>3</text:page-number></text:p>"
    )
    xml = (
        f"<office:document-content {ODT_NS}><office:body><office:text>{body}</office:text></office:body>"
        "</office:document-content>"
    )
    source = _zip(tmp_path, "a.odt", "content.xml", xml)
    assert (office_text(source) or "").split() == ["Chương", "I", "Điều", "1.", "Phạm", "vi", "điều", "chỉnh", "trang"]


def test_a_doctype_in_the_document_xml_is_refused(tmp_path: Path) -> None:
    xml = '<!DOCTYPE x [<!ENTITY e "boom">]><w:document xmlns:w="' + W_NS + '"/>'
    source = _zip(tmp_path, "evil.docx", "word/document.xml", xml)
    copy = tmp_path / "none.pdf"
    result = office_fidelity(source, copy)
    assert not result.ok and "cannot be read" in result.message_en


# --- copy names (pipeline.steps.preserve) -------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "copy"),
    [
        ("representations/rep1/data/QD_1.pdf", "QD_1.pdf"),
        ("representations/rep1/data/QD_1.PDF", "QD_1.pdf"),
        ("representations/rep1/data/sub/QD_1.docx", "sub/QD_1.docx.pdf"),
        ("representations/rep1/data/scan.png", "scan.png.pdf"),
    ],
)
def test_copy_names(original: str, copy: str) -> None:
    assert copy_name(original) == copy


def test_a_docx_and_a_pdf_of_one_name_get_different_copies() -> None:
    used: set[str] = set()
    names = [
        _unique(copy_name(f"representations/rep1/data/{n}"), f"representations/rep1/data/{n}", used)
        for n in ("a.pdf", "a.docx", "a.PDF", "a")
    ]
    assert names == ["a.pdf", "a.docx.pdf", "a.PDF.pdf", "a.2.pdf"]
