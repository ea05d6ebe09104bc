"""PDF/A checks with pikepdf and the text-fidelity rule (pres.pdfa.text_fidelity) on small and real PDFs."""

from __future__ import annotations

from pathlib import Path

import pikepdf

from archive_service.preservation.verify_pdfa import (
    check_pdfa,
    extract_text,
    normalised_words,
    page_texts,
    text_fidelity,
)
from tests.unit.preservation.conftest import text_pdf

PASS_2B = "pdfa/PDF_A-2b__6.2.8.1_General__6-2-8-1-t02-pass-b.pdf"
FAIL_2B = "pdfa/PDF_A-2b__6.2.8.1_General__6-2-8-1-t02-fail-b.pdf"


def test_a_valid_pdfa_2b_passes(corpus: Path) -> None:
    check = check_pdfa(corpus / PASS_2B)
    assert (check.claimed, check.flavour, check.verdict) == ("2B", "2b", "pass")
    assert check.is_pdfa2
    assert check.conformance == "PDF/A-2B"
    assert check.tool == "pikepdf"


def test_a_violation_fails_and_says_which_clause(corpus: Path) -> None:
    check = check_pdfa(corpus / FAIL_2B)
    assert check.verdict == "fail"
    assert not check.is_pdfa2
    assert check.conformance == ""
    assert any("ISO_19005_2:6.2.8" in f for f in check.findings)


def test_other_parts_are_checked_against_their_claim(corpus: Path) -> None:
    check = check_pdfa(corpus / "vietnamese/vbhc__11CT_20250510_124908.pdf")
    assert (check.claimed, check.flavour) == ("1B", "1b")
    assert not check.is_pdfa2


def test_a_plain_pdf_is_not_pdfa(corpus: Path) -> None:
    check = check_pdfa(corpus / "vietnamese/vpcp__HDSD_LICH_HOP.pdf")
    assert check.claimed == ""
    assert check.verdict == "fail"
    assert check.conformance == ""


def test_an_encrypted_pdf_is_reported_not_raised(corpus: Path) -> None:
    check = check_pdfa(corpus / "wild/pikepdf__graph-encrypted.pdf")
    assert check.verdict == "not_checked"
    assert any("PasswordError" in f for f in check.findings)


def test_words_are_nfc_without_controls_and_whitespace_collapsed() -> None:
    nfd = "Quye\u0302\u0301t  \u0111i\u0323nh\r\n so\u0302\u0301\t12/QĐ-UBND  cryp\x02tosystems\u00ad"
    assert normalised_words(nfd) == ["Quyết", "định", "số", "12/QĐ-UBND", "cryptosystems"]


def test_vietnamese_text_is_extracted_page_by_page(corpus: Path) -> None:
    source = corpus / "vietnamese/vpcp__HDSD_LICH_HOP.pdf"
    pages = page_texts(source)
    assert len(pages) == 13
    text = extract_text(source)
    assert text.count("\f") >= 12
    assert "HƯỚNG DẪN SỬ DỤNG" in text


def test_annotation_text_is_not_page_text(corpus: Path, tmp_path: Path) -> None:
    stamped = text_pdf(tmp_path / "stamped.pdf", ["Cong van so 12"], stamp="Ky boi: UBND")
    assert "Ky boi" not in extract_text(stamped)
    # a signature stamp on a real signed letter: poppler's pdftotext shows "TRUNG TÂM CÔNG BÁO", PDFium not
    assert "CÔNG BÁO" not in extract_text(corpus / "vietnamese/vbhc__vht507.signed_20250510_124909.pdf")


def test_identical_files_are_faithful(corpus: Path) -> None:
    source = corpus / "vietnamese/vbhc__vht507.signed_20250510_124909.pdf"
    result = text_fidelity(source, source, digitised=False)
    assert result.ok
    assert result.original_words == result.copy_words > 400
    assert result.message_en == result.message_vi == ""


def test_born_digital_words_must_be_equal(tmp_path: Path) -> None:
    original = text_pdf(tmp_path / "a.pdf", ["Quyet dinh so 12 ve viec", "Trang hai"])
    changed = text_pdf(tmp_path / "b.pdf", ["Quyet dinh so 13 ve viec", "Trang hai"])
    result = text_fidelity(original, changed, digitised=False)
    assert not result.ok
    assert result.page == 1
    assert "differs from word 4" in result.message_en
    assert "«Quyet dinh so 12 ve viec»" in result.message_en
    assert "«Quyet dinh so 13 ve viec»" in result.message_en
    assert "trang 1" in result.message_vi
    shorter = text_pdf(tmp_path / "c.pdf", ["Quyet dinh so 12", "Trang hai"])
    assert not text_fidelity(original, shorter, digitised=False).ok
    # where PDFium puts a space is not a difference: glyph positions move when a font is rewritten
    respaced = text_pdf(tmp_path / "d.pdf", ["Quyet dinh so 1 2 ve viec", "Trang hai"])
    assert text_fidelity(original, respaced, digitised=False).ok


def test_a_flattened_signature_stamp_is_left_out(tmp_path: Path) -> None:
    original = text_pdf(tmp_path / "signed.pdf", ["Cong van so 12"], stamp="Ky boi: UBND tinh")
    copy = text_pdf(tmp_path / "copy.pdf", ["Cong van so 12"], stamp="Ky boi: UBND tinh", flattened=True)
    assert "Ky boi" in extract_text(copy)
    assert text_fidelity(original, copy, digitised=False).ok
    unstamped = text_pdf(tmp_path / "plain.pdf", ["Cong van so 12"])
    assert not text_fidelity(unstamped, copy, digitised=False).ok


def test_digitised_copies_keep_the_original_words_in_order(tmp_path: Path) -> None:
    original = text_pdf(tmp_path / "scan.pdf", ["so 12 ngay 5"])
    with_ocr = text_pdf(tmp_path / "ocr.pdf", ["UBND so 12 tinh ngay 5 thang"])
    reordered = text_pdf(tmp_path / "bad.pdf", ["ngay 5 so 12"])
    assert text_fidelity(original, with_ocr, digitised=True).ok
    result = text_fidelity(original, reordered, digitised=True)
    assert not result.ok
    assert "missing from the copy" in result.message_en
    assert "«so 12 ngay 5»" in result.message_en
    assert not text_fidelity(original, with_ocr, digitised=False).ok


def test_page_count_and_unreadable_copies_fail(tmp_path: Path) -> None:
    original = text_pdf(tmp_path / "a.pdf", ["mot", "hai"])
    one_page = text_pdf(tmp_path / "b.pdf", ["mot"])
    result = text_fidelity(original, one_page, digitised=True)
    assert not result.ok
    assert "page count differs" in result.message_en
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\nnot really\n")
    unreadable = text_fidelity(original, garbage, digitised=False)
    assert not unreadable.ok
    assert "cannot be read" in unreadable.message_en
    assert "không đọc được" in unreadable.message_vi


def test_a_malformed_annotation_does_not_break_the_check(tmp_path: Path) -> None:
    original = text_pdf(tmp_path / "a.pdf", ["Cong van so 12"], stamp="Ky boi: UBND")
    with pikepdf.open(original, allow_overwriting_input=True) as pdf:
        pdf.pages[0].obj.Annots[0].Rect = pikepdf.Array([1, 2])
        pdf.save(original)
    plain = text_pdf(tmp_path / "b.pdf", ["Cong van so 12"])
    assert text_fidelity(original, plain, digitised=False).ok
