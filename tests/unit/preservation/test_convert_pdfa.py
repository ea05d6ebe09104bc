"""PDF/A-2 copies of real Vietnamese PDFs with OCRmyPDF and the cached Ghostscript ≥ 10.03."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import img2pdf
import pytest

from archive_service.errors import ConversionFailedError, ExitCode, MissingDependencyError
from archive_service.preservation.convert_pdfa import CONVERTED, SKIPPED_ALREADY_PDFA2, make_pdfa
from archive_service.preservation.verify_pdfa import check_pdfa, extract_text, text_fidelity

# born-digital records (three of them signed) and a word with diacritics each one holds
BORN_DIGITAL = [
    ("vietnamese/vbhc__vht507.signed_20250510_124909.pdf", "Quảng Ngãi"),
    ("vietnamese/vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf", "Quyết định"),
    ("vietnamese/truclienthong__GUIDE_INSTALL_OPENVPN.SIGNED.pdf", "HƯỚNG DẪN SỬ DỤNG"),
    ("vietnamese/vpcp__HDSD_LICH_HOP.pdf", "Chỉnh sửa lịch"),
    ("vietnamese/vietocr3__vietsample1.pdf", "Áo Lụa Hà Đông"),  # encrypted with an owner password only
]


@pytest.mark.parametrize(("name", "word"), BORN_DIGITAL, ids=[n.split("__")[1][:24] for n, _ in BORN_DIGITAL])
def test_born_digital_copy_is_pdfa2_with_the_same_words(
    gs: Path, corpus: Path, tmp_path: Path, name: str, word: str
) -> None:
    source = corpus / name
    target = tmp_path / "copy.pdf"
    result = make_pdfa(source, target, gs=gs, ocr=False)
    assert (result.target, result.outcome, result.conformance) == (target, CONVERTED, "PDF/A-2B")
    assert not result.ocr_applied
    assert [t.name for t in result.tools] == ["ocrmypdf", "ghostscript"]
    check = check_pdfa(target)
    # pikepdf approves or, for constructs it does not check (tagged content), leaves it to veraPDF
    assert check.verdict in ("pass", "not_checked"), check.findings
    assert check.conformance == "PDF/A-2B"
    fidelity = text_fidelity(source, target, digitised=False)
    assert fidelity.ok, fidelity.message_en
    assert fidelity.original_words > 100
    assert word in extract_text(source)
    assert word in extract_text(target)


def test_signed_scan_copy_passes_and_its_stamp_is_left_out(gs: Path, corpus: Path, tmp_path: Path) -> None:
    source = corpus / "vietnamese/vbhc__575_UB.signed_20250510_124908.pdf"
    target = tmp_path / "copy.pdf"
    result = make_pdfa(source, target, gs=gs, ocr=False)
    assert check_pdfa(target).is_pdfa2
    # Ghostscript flattens the signature stamp into the page; the fidelity check leaves it out
    assert "CÔNG BÁO" in extract_text(target)
    assert "CÔNG BÁO" not in extract_text(source)
    assert text_fidelity(source, target, digitised=False).ok
    assert result.warnings  # e.g. "All digital signatures will be invalidated"


def test_an_already_valid_pdfa2_is_copied_not_converted(gs: Path, corpus: Path, tmp_path: Path) -> None:
    source = corpus / "pdfa/PDF_A-2b__6.2.8.1_General__6-2-8-1-t02-pass-b.pdf"
    target = tmp_path / "copy.pdf"
    result = make_pdfa(source, target, gs=gs, ocr=False)
    assert result.outcome == SKIPPED_ALREADY_PDFA2 == "skipped: already PDF/A-2"
    assert result.conformance == "PDF/A-2B"
    assert [t.name for t in result.tools] == ["pikepdf"]
    assert target.read_bytes() == source.read_bytes()


def test_an_encrypted_pdf_fails_with_a_clear_bilingual_reason(gs: Path, corpus: Path, tmp_path: Path) -> None:
    source = corpus / "wild/pikepdf__graph-encrypted.pdf"  # AES-256, user password "user"
    with pytest.raises(ConversionFailedError) as caught:
        make_pdfa(source, tmp_path / "copy.pdf", gs=gs, ocr=False)
    error = caught.value
    assert error.exit_code == ExitCode.PRESERVATION_FAILED
    assert (
        error.message_en
        == "Cannot make the PDF/A copy of pikepdf__graph-encrypted.pdf: the PDF is encrypted with a password"
    )
    assert "mã hóa" in error.message_vi
    assert error.details[0]["error"] == "EncryptedPdfError"
    assert "Traceback" not in str(error.to_dict())


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("wild/ocrmypdf__invalid.pdf", "damaged or cannot be read"),
        ("wild/pdfjs__noembed-sjis.pdf", "non-embedded CID fonts"),
        ("wild/ocrmypdf__livecycle.pdf", "dynamic XFA form"),
        ("wild/pyhanko__minimal-pubkey-aes256.pdf", "encrypted \\(with a password or a certificate\\)"),
    ],
)
def test_unusable_inputs_fail_with_a_reason(gs: Path, corpus: Path, tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(ConversionFailedError, match=reason):
        make_pdfa(corpus / name, tmp_path / "copy.pdf", gs=gs, ocr=False)


def test_an_old_ghostscript_is_refused_before_converting(corpus: Path, tmp_path: Path) -> None:
    old = tmp_path / "gs"
    old.write_text("#!/bin/sh\necho 10.0.0\n")
    old.chmod(old.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(MissingDependencyError, match=r"install-system-deps\.sh"):
        make_pdfa(corpus / "vietnamese/vietocr3__vietsample1.pdf", tmp_path / "copy.pdf", gs=old, ocr=False)
    assert not (tmp_path / "copy.pdf").exists()


def test_uses_our_ghostscript_whatever_is_on_path_and_leaves_the_process_clean(
    gs: Path, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    debian = tmp_path / "debian-bin"
    debian.mkdir()
    fake = debian / "gs"
    fake.write_text("#!/bin/sh\necho 10.0.0\nexit 1\n")  # a Debian-like gs that must never run
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    path = f"{debian}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    stderr = sys.stderr
    source = corpus / "vietnamese/vbhc__vht507.signed_20250510_124909.pdf"
    result = make_pdfa(source, tmp_path / "copy.pdf", gs=gs, ocr=False)
    assert result.conformance == "PDF/A-2B"
    assert os.environ["PATH"] == path
    assert "OMP_THREAD_LIMIT" not in os.environ
    assert sys.stderr is stderr  # pikepdf's check_linearization leaves a StringIO there otherwise
    assert capfd.readouterr().out == ""  # the CLI's --json output stays clean


@pytest.mark.slow
def test_ocr_of_a_vietnamese_scan_gives_a_searchable_pdfa(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(img2pdf.convert(str(corpus / "images/vietocr3__vietsample.tif")))  # 2 pages, 300 dpi
    target = tmp_path / "copy.pdf"
    result = make_pdfa(scan, target, gs=gs, ocr=True)
    assert result.ocr_applied
    assert result.conformance == "PDF/A-2B"
    assert [t.name for t in result.tools] == ["ocrmypdf", "ghostscript", "tesseract"]
    assert check_pdfa(target).is_pdfa2
    assert text_fidelity(scan, target, digitised=True).ok
    text = extract_text(target)
    assert text.count("\f") == 1
    for words in ("cuối thu", "lòng tôi", "tựu trường", "những", "Trường làng"):
        assert words in text, words


def test_a_scan_that_already_has_text_is_not_ocred_again(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    source = corpus / "vietnamese/vietadmin__1.pdf"  # a scan with a (poor) OCR layer
    target = tmp_path / "copy.pdf"
    result = make_pdfa(source, target, gs=gs, ocr=True)
    assert not result.ocr_applied
    assert text_fidelity(source, target, digitised=True).ok
    assert text_fidelity(source, target, digitised=False).ok


def test_a_ghostscript_under_another_name_is_used_through_a_link(gs: Path, corpus: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "gs-10.07"
    renamed.symlink_to(gs)
    result = make_pdfa(corpus / "vietnamese/vietocr3__vietsample1.pdf", tmp_path / "copy.pdf", gs=renamed, ocr=False)
    assert result.conformance == "PDF/A-2B"
