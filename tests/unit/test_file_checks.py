"""The file rules (rules.md "Files") on whole packages: real corpus files and generated ones.

Generated files test each rule's mechanics; the corpus rows, one by one as MANIFEST.tsv expects
(or as docs/decisions/0010 and 0015 decide), are judged in tests/unit/test_corpus_expectations.py.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from PIL import Image

from archive_service.config import Settings, SignatureSettings
from archive_service.file_checks import FileCheckReport, inspect_files, names_organisation
from archive_service.packages.sip import read_sip
from archive_service.packages.staging import stage_package
from archive_service.validation import ValidationReport, validate_package
from ingest_rules.catalogue import rule
from ingest_rules.findings import Finding, Severity
from tests.fixtures.pki import ORGAN, PERSON, sign_pdf, signer, write_root
from tests.fixtures.sip_builder import CORPUS, DataFile, DocSpec, SipBuilder, blank_pdf, default_document, valid_sip

QUANG_NGAI = "Ủy ban nhân dân tỉnh Quảng Ngãi"
A4 = (img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297))
TOP_RIGHT = (400.0, 760.0, 580.0, 830.0)
BOTTOM_LEFT = (20.0, 20.0, 200.0, 90.0)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not on this machine")


# ---- helpers ---------------------------------------------------------------------------------------


def _package(
    tmp_path: Path,
    content: bytes,
    name: str = "QD_1.pdf",
    *,
    mimetype: str = "application/pdf",
    level: str = "Gốc điện tử",
    organ: str = ORGAN,
    pages: int = 1,
) -> SipBuilder:
    builder = valid_sip((pages,))
    values = default_document(1, pages)
    values.update(ConfidenceLevel=level, OrganName=organ)
    builder.documents = [DocSpec(name="1", values=values, files=[DataFile(name, content, mimetype)])]
    return builder


def _judge(tmp_path: Path, builder: SipBuilder, settings: Settings | None = None) -> ValidationReport:
    return validate_package(builder.write_dir(tmp_path / "in"), settings or Settings(home=tmp_path / "home"))


def _inspect(tmp_path: Path, builder: SipBuilder, settings: Settings) -> FileCheckReport:
    """Stage and read the package, then run the file checks with their signature results."""
    staged = stage_package(builder.write_dir(tmp_path / "in"), tmp_path / "work", settings.limits)
    package = read_sip(staged, max_xml_bytes=settings.limits.max_xml_bytes).package
    assert package is not None
    return inspect_files(package, settings)


def _rules(report: ValidationReport, severity: Severity | None = None) -> set[str]:
    return {f.rule for f in report.findings if severity is None or f.severity is severity}


def _only(report: ValidationReport, rule_id: str) -> Finding:
    found = [f for f in report.findings if f.rule == rule_id]
    assert len(found) == 1, [f.to_dict() for f in report.findings]
    assert found[0].message_vi and found[0].message_en and found[0].clause
    assert found[0].object == "file"
    return found[0]


def _corpus(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


def _pages(data: bytes) -> int:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def _scan_pdf(source: Path | Image.Image, dpi: float, *, fit_a4: bool = False) -> bytes:
    """A PDF 1.4+ of one image, stated at `dpi` (img2pdf keeps the pixels; the page size follows)."""
    image = Image.open(source) if isinstance(source, Path) else source
    buffer = io.BytesIO()
    if image.mode in ("1", "L"):
        image.save(buffer, format="PNG", dpi=(dpi, dpi))
    else:
        image.convert("RGB").save(buffer, format="JPEG", dpi=(int(dpi), int(dpi)), quality=60)
    layout = img2pdf.get_layout_fun(pagesize=A4, fit=img2pdf.FitMode.into) if fit_a4 else img2pdf.get_layout_fun()
    pdf = img2pdf.convert(buffer.getvalue(), layout_fun=layout)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        out = io.BytesIO()
        doc.save(out, min_version="1.4")
    return out.getvalue()


def _digitised(data: bytes, box: tuple[float, float, float, float] = TOP_RIGHT, organ: str = ORGAN) -> bytes:
    """Signed by the digitising organisation, visibly, at `box` on page 1."""
    return sign_pdf(data, signer(organ, organ), "SoHoa", box=box)


# ---- file.format.* ---------------------------------------------------------------------------------


def test_unidentifiable_bytes_are_file_format_identify(tmp_path: Path) -> None:
    builder = _package(tmp_path, b"\x00\x01\x02\x03" * 100, "blob.dat", mimetype="application/octet-stream")
    report = _judge(tmp_path, builder)
    assert _rules(report, Severity.ERROR) == {"file.format.identify"}
    assert "libmagic" in _only(report, "file.format.identify").message_en


def test_declared_mimetype_or_extension_that_is_not_the_format_is_file_format_mismatch(tmp_path: Path) -> None:
    declared = _judge(tmp_path / "a", _package(tmp_path, blank_pdf(1), mimetype="application/msword"))
    assert _rules(declared, Severity.ERROR) == {"file.format.mismatch"}
    assert "application/msword" in _only(declared, "file.format.mismatch").message_vi
    renamed = _judge(tmp_path / "b", _package(tmp_path, blank_pdf(1), "QD_1.docx"))
    assert _rules(renamed, Severity.ERROR) == {"file.format.mismatch"}
    assert ".docx" in _only(renamed, "file.format.mismatch").message_en


def test_a_format_outside_the_profile_list_is_file_format_not_allowed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.bin", b"\x00" * 100)
    builder = _package(tmp_path, buffer.getvalue(), "phu_luc.zip", mimetype="application/zip")
    report = _judge(tmp_path, builder)
    assert _rules(report, Severity.ERROR) == {"file.format.not_allowed"}


# ---- file.pdf.* ------------------------------------------------------------------------------------

def test_the_catalog_version_can_raise_a_1_3_header(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out, force_version="1.3")
    with pikepdf.open(io.BytesIO(out.getvalue())) as old:
        assert old.pdf_version == "1.3"
        old.Root.Version = pikepdf.Name("/1.7")
        raised = io.BytesIO()
        old.save(raised, force_version="1.3")
    from tests.fixtures.pki import sign_as_organisation_and_person

    report = _judge(tmp_path, _package(tmp_path, sign_as_organisation_and_person(raised.getvalue())))
    assert "file.pdf.version" not in _rules(report), [f.to_dict() for f in report.findings]


# ---- file.scan.* -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("dpi", "low"), [(72, True), (150, True), (199, True), (200, False), (600, False)])
def test_generated_scans_at_chosen_resolutions(tmp_path: Path, dpi: int, low: bool) -> None:
    image = Image.open(CORPUS / "images/ocrmypdf__baiona_color.jpg")
    report = _judge(tmp_path, _package(tmp_path, _digitised(_scan_pdf(image, dpi)), level="Số hóa"))
    assert ("file.scan.min_dpi" in _rules(report)) is low
    assert _rules(report) <= {"file.scan.min_dpi"}, [f.to_dict() for f in report.findings]


def test_a_bilevel_scan_is_the_warning_file_scan_colour(tmp_path: Path) -> None:
    """tesseract__phototest.tif is a 1-bit 200 dpi page: accepted, but not colour."""
    data = _digitised(_scan_pdf(CORPUS / "images/tesseract__phototest.tif", 200))
    report = _judge(tmp_path, _package(tmp_path, data, level="Số hóa"))
    assert report.valid, [f.to_dict() for f in report.findings]
    assert "bilevel" in _only(report, "file.scan.colour").message_en


def test_a_page_not_at_100_percent_is_the_warning_file_scan_scale(tmp_path: Path) -> None:
    """A 600 dpi JPEG (by its JFIF header) fitted onto A4 shows at ~300 dpi: not the original size."""
    image = Image.new("RGB", (2480 * 2 // 3, 3508 * 2 // 3), (250, 240, 230))
    data = _digitised(_scan_pdf(image, 600, fit_a4=True))
    report = _judge(tmp_path, _package(tmp_path, data, level="Số hóa"))
    assert report.valid, [f.to_dict() for f in report.findings]
    assert _only(report, "file.scan.scale").severity is Severity.WARNING
    unscaled = _digitised(_scan_pdf(image, 300))
    assert "file.scan.scale" not in _rules(_judge(tmp_path / "b", _package(tmp_path, unscaled, level="Số hóa")))


def test_mixed_records_apply_scan_rules_to_image_only_pages(tmp_path: Path) -> None:
    low = _scan_pdf(Image.open(CORPUS / "images/ocrmypdf__baiona_color.jpg"), 100)
    signed = _digitised(low)
    assert "file.scan.min_dpi" in _rules(_judge(tmp_path / "a", _package(tmp_path, signed, level="Hỗn hợp")))
    # born-digital pages (visible text, no page image) of a mixed record are not scans
    born = _judge(tmp_path / "b", _package(tmp_path, _digitised(blank_pdf(1, signed=False)), level="Hỗn hợp"))
    assert not {r for r in _rules(born) if r.startswith("file.scan.")}


# ---- file.signature.* ------------------------------------------------------------------------------


def test_the_default_test_package_is_signed_as_a_born_digital_original_must_be(tmp_path: Path) -> None:
    report = _judge(tmp_path, valid_sip())
    assert report.findings == [], [f.to_dict() for f in report.findings]


def test_an_unsigned_born_digital_original_is_file_signature_missing(tmp_path: Path) -> None:
    report = _judge(tmp_path, _package(tmp_path, blank_pdf(1, signed=False)))
    assert _rules(report, Severity.ERROR) == {"file.signature.missing"}
    assert ORGAN in _only(report, "file.signature.missing").message_vi


def test_a_born_digital_original_needs_a_second_signer(tmp_path: Path) -> None:
    only_ours = sign_pdf(blank_pdf(1, signed=False), signer(ORGAN, ORGAN), "CoQuan")
    report = _judge(tmp_path, _package(tmp_path, only_ours))
    assert "người có thẩm quyền" in _only(report, "file.signature.missing").message_vi
    only_person = sign_pdf(blank_pdf(1, signed=False), signer(PERSON), "NguoiKy")
    assert "file.signature.missing" in _rules(_judge(tmp_path / "b", _package(tmp_path, only_person)))


def test_a_digitised_record_needs_the_organisations_signature(tmp_path: Path) -> None:
    data = _scan_pdf(Image.open(CORPUS / "images/ocrmypdf__baiona_color.jpg"), 300)
    report = _judge(tmp_path, _package(tmp_path, sign_pdf(data, signer(PERSON), "X", box=TOP_RIGHT), level="Số hóa"))
    assert _rules(report, Severity.ERROR) == {"file.signature.missing"}
    assert _rules(_judge(tmp_path / "b", _package(tmp_path, _digitised(data), level="Số hóa"))) == set()


def test_real_born_digital_originals_signed_by_their_organisation_pass(tmp_path: Path) -> None:
    """vbhc__vht507 / vbhc__bnt: 5 VGCA signatures (Phùng Tô Long; UBND tỉnh Quảng Ngãi; Trung tâm Công báo)."""
    for index, name in enumerate(
        ["vbhc__vht507.signed_20250510_124909.pdf", "vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf"]
    ):
        data = _corpus(f"vietnamese/{name}")
        report = _judge(tmp_path / str(index), _package(tmp_path, data, organ=QUANG_NGAI, pages=_pages(data)))
        assert report.findings == [], [f.to_dict() for f in report.findings]
        wrong = _judge(tmp_path / f"w{index}", _package(tmp_path, data, organ="Bộ Nội vụ", pages=_pages(data)))
        assert _rules(wrong, Severity.ERROR) == {"file.signature.missing"}


def test_an_incremental_update_that_changes_the_page_is_file_signature_invalid(tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(blank_pdf(1)))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 0 0 200 200 re f"))
    writer.update_container(page)
    changed = io.BytesIO()
    writer.write(changed)
    report = _judge(tmp_path, _package(tmp_path, changed.getvalue()))
    invalid = [f for f in report.findings if f.rule == "file.signature.invalid"]
    assert len(invalid) == 2 and all("sửa đổi sau khi ký" in f.message_vi for f in invalid)
    assert "file.signature.missing" not in _rules(report)  # the signatures are there, just not intact


def test_bytes_appended_after_the_last_eof_do_not_break_a_signature(tmp_path: Path) -> None:
    """Decision 0010: a trailing comment is no revision; content is unchanged, so the signature is intact."""
    report = _judge(tmp_path, _package(tmp_path, blank_pdf(1) + b"\n% appended\n"))
    assert "file.signature.invalid" not in _rules(report)


def test_untrusted_roots_and_expired_certificates_are_file_signature_untrusted(tmp_path: Path) -> None:
    roots = write_root(tmp_path / "roots")
    trusting = Settings(home=tmp_path / "home", signatures=SignatureSettings(trusted_roots_dir=roots))
    assert _judge(tmp_path / "a", valid_sip(), trusting).findings == []
    corpus = _corpus("wild/qpdf__digitally-signed.pdf")  # "John Doe", self-signed test certificate
    report = _judge(tmp_path / "c", _package(tmp_path, corpus, organ="John Doe"), trusting)
    assert _only(report, "file.signature.untrusted").severity is Severity.WARNING
    expired = sign_pdf(blank_pdf(1), signer("Bộ Nội vụ (cũ)", ORGAN, expired=True), "Cu")
    late = _judge(tmp_path / "d", _package(tmp_path, expired))
    assert "hết hạn" in _only(late, "file.signature.untrusted").message_vi


def test_the_digitising_signature_away_from_the_top_right_of_page_1_is_file_signature_placement(
    tmp_path: Path,
) -> None:
    data = _scan_pdf(Image.open(CORPUS / "images/ocrmypdf__baiona_color.jpg"), 300)
    report = _judge(tmp_path, _package(tmp_path, _digitised(data, BOTTOM_LEFT), level="Số hóa"))
    assert report.valid
    assert _only(report, "file.signature.placement").severity is Severity.WARNING
    real = _corpus("vietnamese/vbhc__01CT_20250509_154257.pdf")  # signed at the top right of page 1
    corpus_report = _judge(tmp_path / "b", _package(tmp_path, real, level="Số hóa", organ=QUANG_NGAI, pages=3))
    assert "file.signature.placement" not in _rules(corpus_report)


def test_signature_results_for_premis(tmp_path: Path) -> None:
    roots = write_root(tmp_path / "roots")
    settings = Settings(home=tmp_path / "home", signatures=SignatureSettings(trusted_roots_dir=roots))
    result = _inspect(tmp_path, valid_sip((1,)), settings)
    assert result.findings == []
    (signed,) = result.signatures.values()
    assert signed.tool == "pyHanko" and signed.tool_version and signed.trust_roots == str(roots)
    outcomes = {(s.field_name, s.outcome, s.organisation, s.signer_common_name) for s in signed.results}
    assert outcomes == {("NguoiKy", "valid", False, PERSON), ("CoQuan", "valid", True, ORGAN)}
    assert all(s.signing_time is not None and s.digest_algorithm == "sha256" for s in signed.results)


def test_organisation_names_compare_like_an_archivist_reads_them() -> None:
    assert names_organisation("UBND tỉnh Quảng Ngãi", "Ủy ban nhân dân tỉnh Quảng Ngãi", None)
    assert names_organisation("Uỷ ban nhân dân tỉnh Quảng Ngãi", None, "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI")
    assert not names_organisation("Ủy ban nhân dân tỉnh Quảng Ngãi", "Trung tâm Công báo và Tin học", "Tỉnh Quảng Ngãi")
    assert not names_organisation(None, ORGAN, ORGAN)


def test_every_file_rule_is_catalogued_with_its_severity() -> None:
    expected = {
        "file.format.identify": "error",
        "file.format.mismatch": "error",
        "file.format.not_allowed": "error",
        "file.pdf.unreadable": "error",
        "file.pdf.repaired": "warning",
        "file.pdf.version": "error",
        "file.scan.min_dpi": "error",
        "file.scan.colour": "warning",
        "file.scan.scale": "warning",
        "file.signature.missing": "error",
        "file.signature.invalid": "error",
        "file.signature.untrusted": "warning",
        "file.signature.placement": "warning",
        "file.edxml.schema": "error",
        "file.edxml.mismatch": "error",
    }
    assert {r: str(rule(r).severity) for r in expected} == expected
    assert all(str(rule(r).object) == "file" and rule(r).summary_vi and rule(r).clause for r in expected)
