"""Every file-standard row of the corpus MANIFEST.tsv, judged as a record file of a transfer.

Each row (PDFs, page images and edXML packets of `wild/`, `vietnamese/`, `images/`, `edxml/`) has
one entry below: the record context it is judged in (confidence level, issuing organisation) and
exactly the `file.*` findings (rule id and severity) the archive gives it, with the MANIFEST words
the entry answers. Where the row leaves the policy open ("record decision", "unknown") or where
rules.md overrides the row (PDF < 1.4 is an error under tt02), the entry follows
docs/decisions/0010-file-checks.md and 0015-edxml-intake-and-corpus.md.

Signed files also state the outcome of each signature, since that is what their rows are about;
test-CA signatures on foreign samples lack the two Vietnamese signers a born-digital original
needs, so `file.signature.missing` is part of their exact verdict.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
import pytest

from archive_service.config import PackageLimits, Settings, SignatureSettings
from archive_service.file_checks import inspect_files
from archive_service.packages.edxml import EdxmlHeader, parse_edxml_date, read_edxml
from archive_service.packages.sip import read_sip
from archive_service.packages.staging import stage_package
from archive_service.validation import ValidationReport, validate_package
from tests.fixtures.edxml_builder import SDK_SAMPLE_VALUES, b64, edxml_packet, header_for, zip_bytes
from tests.fixtures.pki import ORGAN, write_root
from tests.fixtures.sip_builder import CORPUS, DataFile, DocSpec, SipBuilder, blank_pdf, default_document, valid_sip

E, W = "error", "warning"
SCAN, BORN = "Số hóa", "Gốc điện tử"
QUANG_NGAI = "Ủy ban nhân dân tỉnh Quảng Ngãi"
CONG_BAO = "Trung tâm Công báo và Tin học"
MISSING = {"file.signature.missing": E}
OLD = {"file.pdf.version": E}
GREY = {"file.scan.colour": W}
LOW = {"file.scan.min_dpi": E}
UNREADABLE = {"file.pdf.unreadable": E}
REPAIRED = {"file.pdf.repaired": W}
MEDIA_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff"}


@dataclass(frozen=True)
class Case:
    """How one corpus file is judged: context, exact `file.*` verdict, words a message must say."""

    findings: dict[str, str]
    level: str = BORN
    organ: str = ORGAN
    says: str = ""
    signatures: tuple[str, ...] = ()  # outcome of each signature, in file order
    trusted_roots: bool = False
    extra: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # ---- wild/: scans ("scan ≥ 200 dpi -> convert", "below 200 dpi -> flag") ----------------------
    "wild/ocrmypdf__2400dpi.pdf": Case(OLD | GREY | MISSING, SCAN),  # 2400 dpi tiny page: not mis-rejected
    "wild/ocrmypdf__c02-22.pdf": Case(OLD | LOW | MISSING, SCAN, says="150 dpi"),
    "wild/ocrmypdf__epson.pdf": Case(GREY | MISSING, SCAN),  # 300 dpi CCITT: valid scan
    "wild/ocrmypdf__kcs.pdf": Case(GREY | MISSING, SCAN),  # "unknown ... expected to convert"
    "wild/pikepdf__ccitt-endofline-true.pdf": Case(GREY | MISSING, SCAN),
    "wild/pikepdf__congress.pdf": Case(OLD | {"file.scan.scale": W} | MISSING, SCAN),  # 360 dpi ≥ 200
    "wild/pikepdf__jbig2global.pdf": Case(GREY | MISSING, SCAN),
    "wild/pypdf__Seige_of_Vicksburg_Sample_OCR.pdf": Case(LOW | MISSING, SCAN, says="75 dpi"),
    "wild/ocrmypdf__lichtenstein.pdf": Case(MISSING),  # "96 dpi image (not a document scan)"
    # ---- wild/: unreadable (encrypted, truncated, damaged): "reject with clear error" -----------
    "wild/ocrmypdf__invalid.pdf": Case(UNREADABLE, says="bị cắt cụt"),
    "wild/pdfjs__issue9105_other.pdf": Case(UNREADABLE, says="bị cắt cụt"),
    "wild/pdfjs__issue6069.pdf": Case(UNREADABLE | MISSING, says="bị cắt cụt"),
    "wild/pdfjs__poppler-67295-0.pdf": Case(UNREADABLE | MISSING, says="bị cắt cụt"),
    "wild/pdfjs__scan-bad.pdf": Case(UNREADABLE | MISSING, SCAN, says="bị cắt cụt"),
    "wild/pdfjs__issue9418.pdf": Case(UNREADABLE, says="hỏng"),
    "wild/pyhanko__circular-page-tree.pdf": Case(UNREADABLE, says="hỏng"),
    "wild/pikepdf__content-stream-errors.pdf": Case(UNREADABLE | MISSING, says="hỏng"),  # decision 0010
    "wild/pdfjs__encrypted-attachment.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pdfjs__issue6010_2.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pdfjs__saslprep-r6.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pikepdf__graph-encrypted.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pyhanko__minimal-pubkey-aes256.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pypdf__encryption__r2-user-password.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pypdf__encryption__r4-aes-user-password.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pypdf__libreoffice-writer-password.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/qpdf__enc-R2_V1_U=view_O=master.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/qpdf__enc-XI-R6_V5_U=attachment_encrypted-attachments.pdf": Case(UNREADABLE, says="mã hóa"),
    "wild/pdfjs__bug1606566.pdf": Case({"file.format.mismatch": E}, says="text/plain"),  # no %PDF- header
    # ---- wild/: opens without a password (decision 0010: readable, no finding) ------------------
    "wild/pypdf__encryption__r2-empty-password.pdf": Case(MISSING),
    "wild/pypdf__encryption__r6-owner-password.pdf": Case(MISSING),
    "wild/pypdf__encryption__r6-user-password.pdf": Case(MISSING),  # "must not be 'password required'"
    "wild/pikepdf__form_dd0293.pdf": Case(MISSING),
    # ---- wild/: broken xref, recoverable ("record decision": repaired with a warning) -----------
    "wild/pdfjs__xref_command_missing.pdf": Case(REPAIRED | MISSING),
    "wild/pyhanko__minimal-startxref-hopeless.pdf": Case(REPAIRED | MISSING),
    "wild/qpdf__bad-xref.pdf": Case(REPAIRED | OLD | MISSING),
    "wild/qpdf__append-xref-loop.pdf": Case(REPAIRED | OLD | MISSING),  # must not hang
    "wild/pikepdf__cyclic-toc.pdf": Case(REPAIRED | OLD | MISSING),
    "wild/pdfjs__asciihexdecode.pdf": Case(OLD | MISSING),  # qpdf reads its xref as is (0015)
    "wild/qpdf__damaged-stream.pdf": Case(OLD | MISSING),  # the bad stream is never drawn (0015)
    "wild/pyhanko__no-mediabox.pdf": Case(MISSING),  # "record decision": accepted (0015)
    # ---- wild/: signed ---------------------------------------------------------------------------
    "wild/pdfjs__signed_verified.pdf": Case({"file.signature.invalid": E} | MISSING, signatures=("invalid",)),
    "wild/pyhanko__coverage-anomalies__tail-uncovered.pdf": Case(
        {"file.signature.invalid": E} | MISSING, signatures=("invalid",)
    ),
    "wild/pyhanko__certified-with-indirect-refs-in-dir.pdf": Case(MISSING, signatures=("valid",)),
    "wild/pyhanko__minimal-signed-twice-second-created.pdf": Case(MISSING, signatures=("valid", "valid")),
    "wild/pyhanko__pades-lta-dss-indirect-arrs-test.pdf": Case(MISSING, signatures=("valid",)),  # + timestamp
    "wild/qpdf__digitally-signed.pdf": Case(
        {"file.signature.untrusted": W} | MISSING, organ="John Doe", signatures=("untrusted",), trusted_roots=True
    ),
    # ---- wild/: valid PDFs whose rows are about conversion (file rules: version and signatures) --
    "wild/ocrmypdf__enormous.pdf": Case(OLD | MISSING),
    "wild/ocrmypdf__hugemono.pdf": Case(OLD | MISSING),
    "wild/ocrmypdf__livecycle.pdf": Case(MISSING),
    "wild/ocrmypdf__missing_docinfo.pdf": Case(OLD | MISSING),
    "wild/ocrmypdf__trivial.pdf": Case(OLD | MISSING),
    "wild/pdfjs__160F-2019.pdf": Case(MISSING),
    "wild/pdfjs__alphatrans.pdf": Case(MISSING),
    "wild/pdfjs__annotation-highlight.pdf": Case(MISSING),
    "wild/pdfjs__autoprint.pdf": Case(MISSING),
    "wild/pdfjs__bug1947248_text.pdf": Case(MISSING),
    "wild/pdfjs__issue14497.pdf": Case(MISSING),
    "wild/pdfjs__issue19176.pdf": Case(MISSING),
    "wild/pdfjs__issue6132.pdf": Case(OLD | MISSING),
    "wild/pdfjs__noembed-sjis.pdf": Case(OLD | MISSING),
    "wild/pdfjs__non-embedded-NuptialScript.pdf": Case(MISSING),
    "wild/pdfjs__transparent.pdf": Case(MISSING),
    "wild/pdfjs__xfa_issue14315.pdf": Case(MISSING),
    "wild/pikepdf__pike-jp2.pdf": Case(MISSING),
    "wild/pyhanko__minimal-pdf-ua-and-a.pdf": Case(MISSING),
    "wild/pypdf__GeoBase_NHNC1_Data_Model_UML_EN.pdf": Case(MISSING),
    "wild/pypdf__SF424_page2.pdf": Case(OLD | MISSING),
    "wild/pypdf__attachment.pdf": Case(MISSING),
    "wild/pypdf__commented.pdf": Case(MISSING),
    "wild/pypdf__libreoffice-form.pdf": Case(MISSING),
    "wild/qpdf__hybrid-xref.pdf": Case(MISSING),
    # ---- vietnamese/: signed Quảng Ngãi documents and Đà Nẵng scans --------------------------------
    "vietnamese/vbhc__01CT_20250509_154257.pdf": Case(LOW, SCAN, QUANG_NGAI, "100 dpi", ("valid",)),
    "vietnamese/vbhc__04_QĐ_138.signed_20250510_124909.pdf": Case(OLD, SCAN, QUANG_NGAI, signatures=("valid", "valid")),
    "vietnamese/vbhc__11CT_20250510_124908.pdf": Case(OLD | GREY, SCAN, QUANG_NGAI, signatures=("valid",)),
    "vietnamese/vbhc__2352_07-CT-UBND.signed_20250221_092046.pdf": Case(GREY, SCAN, CONG_BAO, signatures=("valid",)),
    "vietnamese/vbhc__2770_08-CT-UBND..signed_20250220_102437.pdf": Case(GREY, SCAN, CONG_BAO, signatures=("valid",)),
    "vietnamese/vbhc__53_TB.signed_20250510_124908.pdf": Case(OLD, SCAN, QUANG_NGAI, signatures=("valid", "valid")),
    "vietnamese/vbhc__53_TB.signed_20250513_162425.pdf": Case(OLD, SCAN, QUANG_NGAI, signatures=("valid", "valid")),
    "vietnamese/vbhc__575_UB.signed_20250510_124908.pdf": Case(OLD, SCAN, QUANG_NGAI, signatures=("valid",)),
    "vietnamese/vbhc__90_QĐ_CT.signed_20250513_163443.pdf": Case(OLD, SCAN, QUANG_NGAI, signatures=("valid", "valid")),
    "vietnamese/vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf": Case({}, BORN, QUANG_NGAI),
    "vietnamese/vbhc__vht507.signed_20250510_124909.pdf": Case({}, BORN, QUANG_NGAI),
    "vietnamese/vietadmin__1.pdf": Case(GREY | MISSING, SCAN),  # exactly 200 dpi: accepted
    "vietnamese/vietadmin__2.pdf": Case(OLD | MISSING, SCAN),
    "vietnamese/vietadmin__3.pdf": Case({"file.signature.invalid": E}, SCAN, signatures=("invalid",)),
    "vietnamese/vietadmin__4_1.jpg": Case(LOW, SCAN, says="dpi unknown"),
    "vietnamese/vietocr3__vietsample1.pdf": Case(MISSING),  # owner password only: readable
    "vietnamese/vietocr3__vietsample2.png": Case(GREY, SCAN),  # 300 dpi, grey palette
    "vietnamese/vpcp__HDSD_LICH_HOP.pdf": Case(MISSING),
    "vietnamese/truclienthong__GUIDE_INSTALL_OPENVPN.SIGNED.pdf": Case(
        MISSING, organ="Bộ Thông tin và Truyền thông", signatures=("valid",)
    ),
    # ---- images/: page images of a digitised record, 72–600 dpi -----------------------------------
    "images/img2pdf__CMYK.tif": Case(LOW, SCAN, says="72 dpi"),
    "images/ocrmypdf__baiona_alpha.png": Case(LOW, SCAN, says="dpi unknown"),
    "images/ocrmypdf__baiona_cmyk.jpg": Case({}, SCAN),  # CMYK 200 dpi: accept
    "images/ocrmypdf__baiona_color.jpg": Case(LOW, SCAN, says="dpi unknown"),
    "images/ocrmypdf__baiona_gray.png": Case(LOW | GREY, SCAN, says="dpi unknown"),
    "images/ocrmypdf__linn.png": Case(LOW | GREY, SCAN, says="bilevel"),
    "images/tesseract__8087_054.3B.tif": Case(GREY, SCAN),  # no unit = inches (TIFF 6.0): 300 dpi
    "images/tesseract__hebrew.png": Case(LOW, SCAN, says="96 dpi"),
    "images/tesseract__hebtypo.jpg": Case(GREY, SCAN),  # 600 dpi grey: accepted with the warning
    "images/tesseract__phototest-rotated-L.png": Case(GREY, SCAN, says="bilevel"),  # 200 dpi boundary
    "images/tesseract__phototest.tif": Case(GREY, SCAN),
    "images/tesseract__phototest_2.tif": Case(LOW, SCAN, says="72 dpi"),
    "images/tesseract__segmodeimg.tif": Case({}, SCAN),  # 118.31 px/cm = 300.5 dpi
    "images/vietocr3__vietsample.tif": Case(GREY, SCAN),  # 2 pages, 300 dpi
}

# edXML packets, each the data file of a document that agrees with its header (decision 0015):
# document packets are refused (malformed, or a nested packet with undeclared prefixes); a status
# packet accompanies the document it answers (its ResponseFor) and gives no finding.
EDXML_REFUSED = {
    "edxml/truclienthong__edoc_MALFORMED.edxml": "line 74",
    "edxml/truclienthong__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml": "Opening and ending tag mismatch",
    "edxml/truclienthong__edoc_new.edxml": "xmlns:xlink",
    "edxml/truclienthong__edoc_update.edxml": "xmlns:xlink",
    "edxml/truclienthong__edoc_replacement.edxml": "xmlns:xlink",
    "edxml/truclienthong__edoc_revocation.edxml": "xmlns:xlink",
}


def _rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = {row["path"]: row for row in _rows()}
FILE_STANDARD = sorted(
    path
    for path in ROWS
    if path.startswith(("wild/", "vietnamese/", "images/", "edxml/"))
    and Path(path).suffix.lower() in (*MEDIA_TYPES, ".edxml")
)
STATUS = [p for p in FILE_STANDARD if p.startswith("edxml/") and p not in EDXML_REFUSED]
pytestmark = pytest.mark.skipif(not ROWS, reason="the shared corpus is not on this machine")


def _package(path: str, case: Case) -> SipBuilder:
    data = (CORPUS / path).read_bytes()
    pages = 1
    if path.endswith(".pdf"):
        try:
            with pikepdf.open(CORPUS / path) as pdf:
                pages = len(pdf.pages) or 1
        except (pikepdf.PdfError, pikepdf.PasswordError):
            pass  # unreadable: judged as a one-page document
    builder = valid_sip((pages,))
    values = default_document(1, pages)
    values.update(ConfidenceLevel=case.level, OrganName=case.organ, **case.extra)
    name = Path(path).name
    builder.documents = [DocSpec("1", values, [DataFile(name, data, MEDIA_TYPES[Path(path).suffix.lower()])])]
    return builder


def _settings(tmp_path: Path, case: Case) -> Settings:
    roots = SignatureSettings(trusted_roots_dir=write_root(tmp_path / "roots")) if case.trusted_roots else None
    return Settings(home=tmp_path / "home", **({"signatures": roots} if roots else {}))


def _header(tmp_path: Path, path: str) -> EdxmlHeader | None:
    """The corpus packet's own header, read independently of the package under test."""
    return read_edxml(CORPUS / path, PackageLimits(), tmp_path / "header").header


def _agreeing(header: EdxmlHeader) -> dict[str, str]:
    """`VanBan` values that agree with a document packet's header (the cross-check is not under test)."""
    day = header.promulgation_day
    assert day is not None and header.sender.organ_name and header.type_name and header.subject
    return {
        "CodeNumber": header.code_number or "",
        "CodeNotation": header.code_notation or "",
        "IssuedDate": day.strftime("%d/%m/%Y"),
        "OrganName": header.sender.organ_name,
        "TypeName": header.type_name,
        "Subject": header.subject,
    }


def _file_verdict(report: ValidationReport) -> dict[str, str]:
    """The `file.*` findings by rule; anything else the context raises may only be a warning."""
    verdict: dict[str, str] = {}
    for found in report.findings:
        if not found.rule.startswith("file."):
            assert not found.is_error, found.to_dict()
            continue
        assert verdict.get(found.rule, str(found.severity)) == str(found.severity)
        verdict[found.rule] = str(found.severity)
    return verdict


def test_every_file_standard_row_has_its_expectation() -> None:
    assert set(FILE_STANDARD) == set(CASES) | set(EDXML_REFUSED) | set(STATUS)
    assert len(STATUS) == 10


@pytest.mark.parametrize("path", sorted(CASES))
def test_the_row_is_judged_as_expected(tmp_path: Path, path: str) -> None:
    case = CASES[path]
    builder = _package(path, case)
    settings = _settings(tmp_path, case)
    folder = builder.write_dir(tmp_path / "in")
    report = validate_package(folder, settings)
    assert _file_verdict(report) == case.findings, [f.to_dict() for f in report.findings]
    if case.says:
        assert any(case.says in f.message_vi + f.message_en for f in report.findings), report.findings
    if case.signatures:
        staged = stage_package(folder, tmp_path / "work", settings.limits)
        package = read_sip(staged, max_xml_bytes=settings.limits.max_xml_bytes).package
        assert package is not None
        results = [r for s in inspect_files(package, settings).signatures.values() for r in s.results]
        assert [r.outcome for r in results if r.kind == "signature"] == list(case.signatures)


@pytest.mark.parametrize("path", sorted(EDXML_REFUSED))
def test_an_edxml_packet_that_cannot_be_read_is_refused_clearly(tmp_path: Path, path: str) -> None:
    builder = valid_sip((1,))
    header = _header(tmp_path, path)
    builder.documents[0].values.update(SDK_SAMPLE_VALUES if header is None else _agreeing(header))
    builder.documents[0].files = [DataFile(Path(path).name, (CORPUS / path).read_bytes(), "text/xml")]
    report = validate_package(builder.write_dir(tmp_path / "in"), Settings(home=tmp_path / "home"))
    assert _file_verdict(report) == {"file.edxml.schema": E}, [f.to_dict() for f in report.findings]
    assert any(EDXML_REFUSED[path] in f.message_en for f in report.findings)
    assert "không đúng cú pháp XML" in report.findings[0].message_vi


@pytest.mark.parametrize("path", STATUS)
def test_an_edxml_status_packet_is_read_and_linked_to_its_document(tmp_path: Path, path: str) -> None:
    builder = valid_sip((1,))
    document = builder.documents[0]
    header = _header(tmp_path, path)
    assert header is not None and header.response_for
    answered = header.response_for[0]
    number, _, notation = (answered.code or "").partition("/")
    day = parse_edxml_date(answered.promulgation_date or "")
    assert day is not None
    document.values.update(CodeNumber=number, CodeNotation=notation, IssuedDate=day.strftime("%d/%m/%Y"))
    zipped = b64(zip_bytes({"QD_1.pdf": blank_pdf(1)}))
    packet = edxml_packet([("QD_1.zip", "application/zip", zipped)], header_for(document.values))
    status = (CORPUS / path).read_bytes()
    document.files = [DataFile("cv.edxml", packet, "text/xml"), DataFile(Path(path).name, status, "text/xml")]
    settings = Settings(home=tmp_path / "home")
    report = validate_package(builder.write_dir(tmp_path / "in"), settings)
    assert report.valid and _file_verdict(report) == {}, [f.to_dict() for f in report.findings]
    (opening,) = [o for o in report.edxml if o.path.endswith(Path(path).name)]
    assert opening.header is not None and opening.header.kind == "status"
    assert opening.header.status_code and opening.header.response_for[0].code == "7816/VPCP-TTĐT"
    assert opening.attachments == ()
