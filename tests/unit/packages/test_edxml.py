"""The edXML reader (QCVN 102:2016): the shared corpus as MANIFEST.tsv expects, attachments, hostile input."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive_service.config import PackageLimits
from archive_service.packages.edxml import (
    EDXML_NS,
    MAX_NESTING,
    EdxmlReading,
    cross_check,
    parse_edxml_date,
    read_edxml,
)
from ingest_rules.catalogue import all_rules
from tests.fixtures.edxml_builder import DEFAULT_FIELDS
from tests.fixtures.edxml_builder import b64 as _b64
from tests.fixtures.edxml_builder import edxml_packet as _edxml
from tests.fixtures.edxml_builder import zip_bytes as _zip

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
LIMITS = PackageLimits()
GUIDE_PDF_SHA256 = "61d6bc08ae7eae0deb74b6b3f6d27bcc2f059562ba97ce36a653373e087b3df7"  # MANIFEST row vietnamese/


def _manifest_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["path"].startswith("edxml/")]


ROWS = _manifest_rows()


def _rules(reading: EdxmlReading) -> set[str]:
    return {f.rule for f in reading.findings}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()} if folder.exists() else set()


def _assert_contained(top: Path, extract_to: Path, reading: EdxmlReading, inputs: set[Path]) -> None:
    """Nothing written outside `extract_to`; inside it, exactly the listed attachments."""
    outside = {p for p in _files(top) if extract_to not in p.parents} - inputs
    assert outside == set()
    assert {p.resolve() for p in _files(extract_to)} == {a.path.resolve() for a in reading.attachments}
    for attachment in reading.attachments:
        assert attachment.path.resolve().is_relative_to(extract_to.resolve())


# --------------------------------------------------------------------------------------------
# Building edXML


def _read(tmp_path: Path, data: bytes, limits: PackageLimits = LIMITS) -> tuple[EdxmlReading, Path]:
    source = tmp_path / "in" / "cv.edxml"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    extract_to = tmp_path / "out"
    reading = read_edxml(source, limits, extract_to, report_path="data/cv.edxml")
    _assert_contained(tmp_path, extract_to, reading, {source})
    return reading, extract_to


# --------------------------------------------------------------------------------------------
# The shared corpus, row by row


def _corpus_inner(name: str) -> bytes:
    """The .edxml inside the base64 ZIP attachment of a corpus file, decoded here independently."""
    text = (CORPUS / "edxml" / name).read_text(encoding="utf-8")
    match = re.search(r"<edXML:ContentTransferEncoded[^>]*>([^<]*)<", text)
    assert match is not None
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1)))) as archive:
        (member,) = archive.namelist()
        return archive.read(member)


@pytest.mark.skipif(not ROWS, reason=f"the shared corpus is not at {CORPUS}")
@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_corpus_sample_is_judged_as_the_manifest_expects(tmp_path: Path, row: dict[str, str]) -> None:
    source = CORPUS / row["path"]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == row["sha256"]
    extract_to = tmp_path / "out"
    reading = read_edxml(source, LIMITS, extract_to, report_path=row["path"])
    _assert_contained(tmp_path, extract_to, reading, set())
    expectation = row["expectation"]
    header = reading.header

    if expectation.startswith("malformed XML"):
        # reject with a clear parse error, nothing stored
        assert header is None
        assert _rules(reading) == {"file.edxml.schema"}
        (problem,) = reading.findings
        assert "line 74" in problem.message_en
        assert "không đúng cú pháp XML" in problem.message_vi
        assert reading.attachments == ()
    elif expectation.startswith("outer edXML well-formed, inner attachment invalid"):
        # the header reads; the broken inner edXML is refused with a clear error, not stored
        assert header is not None
        assert header.kind == "document"
        assert header.code_notation == "VPCP-TTĐT"
        assert not reading.ok
        (problem,) = reading.findings
        assert problem.rule == "file.edxml.schema"
        assert problem.path.startswith(f"{row['path']}!1896_QD-TTg_m_294779.doc!")
        assert problem.path.endswith(".edxml")
        assert "Opening and ending tag mismatch" in problem.message_en
        assert reading.attachments == ()
    elif expectation.startswith("well-formed edXML status message"):
        assert reading.ok, reading.findings
        assert reading.findings == ()
        assert header is not None
        assert header.kind == "status"
        number = re.search(r"_([0-9]{2})\.edxml$", row["path"])
        assert header.status_code == (number.group(1) if number else "01")
        assert header.status_description
        assert header.response_for
        assert header.response_for[0].document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
        assert header.sender.organ_id in {"000.00.00.H41", "000.00.00.G22"}
        assert reading.attachments == ()
    elif expectation.startswith("well-formed edXML"):
        # the header is mapped; the nested edXML (SDK sample with an undeclared xlink prefix)
        # cannot be read by the safe parser and is rejected clearly
        assert header is not None
        assert header.kind == "document"
        assert header.sender.organ_id is not None
        assert re.fullmatch(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}", header.sender.organ_id)
        assert header.sender.organ_name
        assert header.recipients
        assert all(r.organ_id for r in header.recipients)
        assert header.code_notation == "VPCP-TTĐT"
        assert header.code_number in {"7816", "74fass22"}
        assert header.promulgation_day is not None
        assert header.promulgation_place == "Hà Nội"
        assert (header.type_code, header.type_name) == ("1", "Công văn")
        assert header.subject == "V/v kết nối, liên thông phần mềm quản lý văn bản"
        assert header.signer_competence == "TL. BO TRUONG"
        assert header.signer_full_name == "Nguyen Thanh Phuc"
        assert header.traces
        assert header.traces[0].organ_id == "000.00.00.G22"
        assert header.signed
        assert header.business is not None
        kind = {"new": "0", "revocation": "1", "update": "2", "replacement": "3"}
        assert header.business.doc_type == kind[row["path"].rsplit("_", 1)[1].removesuffix(".edxml")]
        if "replacement" in row["path"]:
            assert header.business.replaced_document_ids
        if "revocation" in row["path"]:
            assert header.response_for
            assert header.response_for[0].code == "267/VPCP-TTĐT"
        (problem,) = reading.findings
        assert problem.rule == "file.edxml.schema"
        assert "!1896_QD-TTg_m_294779.doc!" in problem.path
        assert "xlink" in problem.message_en
    else:
        pytest.fail(f"no test for the expectation {expectation!r}")


@pytest.mark.skipif(not ROWS, reason=f"the shared corpus is not at {CORPUS}")
def test_nested_zip_and_edxml_yield_the_signed_pdf_of_the_corpus(tmp_path: Path) -> None:
    """The SDK sample's chain (edXML → base64 ZIP → edXML → base64 PDF), its namespace defects repaired.

    The inner packet uses the prefixes `xlink:` and (after the envelope) `edXML:` without declaring
    them, which is why the corpus files themselves are refused; declared on the root, it reads.
    """
    inner = _corpus_inner("truclienthong__edoc_new.edxml")
    declared = f'<edXML xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:edXML="{EDXML_NS}" xmlns="'
    inner = inner.replace(b'<edXML xmlns="', declared.encode(), 1)
    wrapped = _zip({"32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml": inner})
    reading, _ = _read(tmp_path, _edxml([("1896_QD-TTg_m_294779.doc", "application/zip", _b64(wrapped))]))
    assert reading.ok, reading.findings
    (pdf,) = reading.attachments
    assert pdf.name == "GUIDE_INSTALL OPENVPN.SIGNED.PDF"
    assert pdf.content_type == "application/pdf"
    assert pdf.origin == ("1896_QD-TTg_m_294779.doc", "32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml")
    assert pdf.sha256 == GUIDE_PDF_SHA256
    assert hashlib.sha256(pdf.path.read_bytes()).hexdigest() == GUIDE_PDF_SHA256
    assert pdf.path.read_bytes().startswith(b"%PDF-1.5")
    (nested,) = reading.nested_headers
    assert (nested.code_number, nested.code_notation, nested.type_name) == ("34E31", "PRO-TEST-CASE1", "Thông tư")


# --------------------------------------------------------------------------------------------
# Header mapping and attachments


def test_header_is_mapped(tmp_path: Path) -> None:
    reading, _ = _read(tmp_path, _edxml())
    assert reading.ok, reading.findings
    header = reading.header
    assert header is not None
    assert header.kind == "document"
    assert (header.sender.organ_id, header.sender.organ_name) == ("000.00.00.G22", "Văn phòng Chính phủ")
    assert [r.organ_id for r in header.recipients] == ["000.00.00.H41"]
    assert (header.code_number, header.code_notation) == ("15", "QĐ-TTg")
    assert (header.promulgation_place, header.promulgation_date) == ("Hà Nội", "2019/01/16")
    assert header.promulgation_day is not None
    assert header.promulgation_day.isoformat() == "2019-01-16"
    assert (header.type_code, header.type_name) == ("1", "Quyết định")
    assert header.subject == "Về việc phê duyệt đề án"
    assert (header.signer_competence, header.signer_position, header.signer_full_name) == (
        "KT. THỦ TƯỚNG",
        "Phó Thủ tướng",
        "Nguyễn Văn A",
    )
    assert (header.due_date, header.steering_type, header.document_id) == (
        "2019/02/01",
        "1",
        "000.00.00.G22,2019/01/16,15/QĐ-TTg",
    )
    assert header.traces[0].timestamp == "2019/01/16 08:00:00"
    assert header.business is not None
    assert header.business.doc_type == "0"
    assert not header.signed


def test_attachments_are_decoded_with_their_bytes(tmp_path: Path) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 50
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    odt_in_sdk_zip = _zip({"Tờ trình.odt": b"PK-not-really-odt", "phụ lục/bảng.csv": b"a;b\n"})
    attachments = [
        ("Quyết định 15.pdf", "application/pdf", _b64(pdf)),
        ("bao-cao.docx", "application/zip", _b64(docx)),  # an office file is a ZIP too: kept whole
        ("1896_QD-TTg.doc", "application/zip", _b64(odt_in_sdk_zip)),  # the SDK's wrapping ZIP: unpacked
    ]
    reading, _ = _read(tmp_path, _edxml(attachments))
    assert reading.ok, reading.findings
    by_name = {a.name: a for a in reading.attachments}
    assert set(by_name) == {"Quyết định 15.pdf", "bao-cao.docx", "Tờ trình.odt", "phụ lục/bảng.csv"}
    for name, _, text in attachments[:2]:
        expected = base64.b64decode("".join(text.split()))
        assert by_name[name].sha256 == hashlib.sha256(expected).hexdigest()
        assert by_name[name].size == len(expected)
        assert by_name[name].path.read_bytes() == expected
        assert by_name[name].content_id is not None
        assert by_name[name].origin == ()
    assert by_name["Quyết định 15.pdf"].content_type == "application/pdf"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode("".join(attachments[2][2].split())))) as archive:
        for member in ("Tờ trình.odt", "phụ lục/bảng.csv"):
            expected = archive.read(member)
            assert by_name[member].sha256 == hashlib.sha256(expected).hexdigest()
            assert by_name[member].path.read_bytes() == expected
            assert by_name[member].origin == ("1896_QD-TTg.doc",)
    assert by_name["phụ lục/bảng.csv"].content_type == "text/csv"


def test_declared_zip_that_is_not_a_zip_is_kept_as_the_file(tmp_path: Path) -> None:
    raw = b"\xd0\xcf\x11\xe0 old Word document"
    reading, _ = _read(tmp_path, _edxml([("cv.doc", "application/zip", _b64(raw))]))
    assert reading.ok
    (doc,) = reading.attachments
    assert doc.path.read_bytes() == raw


def test_status_message_is_read(tmp_path: Path) -> None:
    fields = {
        "From/OrganId": "000.00.00.H41",
        "ResponseFor/OrganId": "000.00.00.G22",
        "ResponseFor/DocumentId": "000.00.00.G22,2019/01/16,15/QĐ-TTg",
        "StatusCode": "03",
        "Description": "Đã tiếp nhận",
        "Timestamp": "2019/01/17 09:00:00",
    }
    reading, _ = _read(tmp_path, _edxml(fields=fields))
    assert reading.ok, reading.findings
    assert reading.header is not None
    assert reading.header.kind == "status"
    assert (reading.header.status_code, reading.header.status_timestamp) == ("03", "2019/01/17 09:00:00")
    assert cross_check(reading.header, {"CodeNumber": "15", "Subject": "x"}, "data/cv.edxml") == []


# --------------------------------------------------------------------------------------------
# file.edxml.schema


@pytest.mark.parametrize("ns", ["http://www.go.vn/eDoc", ""])
def test_wrong_namespace_is_refused(tmp_path: Path, ns: str) -> None:
    data = _edxml(ns=ns) if ns else _edxml().replace(f' xmlns="{EDXML_NS}" xmlns:edXML="{EDXML_NS}"'.encode(), b"")
    if not ns:
        data = data.replace(b"edXML:", b"")
    reading, _ = _read(tmp_path, data)
    assert reading.header is None
    (problem,) = reading.findings
    assert problem.rule == "file.edxml.schema"
    assert EDXML_NS in problem.message_en
    assert "không gian tên" in problem.message_vi
    assert (ns or "'edXML'") in problem.message_en


def test_other_root_element_is_refused(tmp_path: Path) -> None:
    reading, _ = _read(tmp_path, f'<VanBan xmlns="{EDXML_NS}"/>'.encode())
    assert _rules(reading) == {"file.edxml.schema"}
    assert "VanBan" in reading.findings[0].message_en


def test_missing_message_header_is_refused(tmp_path: Path) -> None:
    reading, _ = _read(tmp_path, f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope/></edXML>'.encode())
    assert reading.header is None
    assert _rules(reading) == {"file.edxml.schema"}
    assert "MessageHeader" in reading.findings[0].message_en


@pytest.mark.parametrize(
    "missing",
    [
        "From/OrganId",
        "From/OrganName",
        "To/OrganId",
        "Code/CodeNumber",
        "Code/CodeNotation",
        "PromulgationInfo/PromulgationDate",
        "DocumentType/TypeName",
        "Subject",
    ],
)
def test_missing_header_field_is_named(tmp_path: Path, missing: str) -> None:
    fields = {k: v for k, v in DEFAULT_FIELDS.items() if k != missing}
    reading, _ = _read(tmp_path, _edxml(fields=fields))
    assert reading.header is not None
    (problem,) = reading.findings
    assert problem.rule == "file.edxml.schema"
    assert problem.field == missing
    assert missing in problem.message_en
    assert missing in problem.message_vi
    assert problem.path == "data/cv.edxml"


def test_empty_header_field_counts_as_missing(tmp_path: Path) -> None:
    reading, _ = _read(tmp_path, _edxml(fields={**DEFAULT_FIELDS, "Subject": "   "}))
    assert [(f.rule, f.field) for f in reading.findings] == [("file.edxml.schema", "Subject")]


@pytest.mark.parametrize("written", ["2019/02/30", "16/01/2019", "hôm nay"])
def test_promulgation_date_must_be_a_date(tmp_path: Path, written: str) -> None:
    reading, _ = _read(tmp_path, _edxml(fields={**DEFAULT_FIELDS, "PromulgationInfo/PromulgationDate": written}))
    (problem,) = reading.findings
    assert (problem.rule, problem.field) == ("file.edxml.schema", "PromulgationInfo/PromulgationDate")
    assert written in problem.message_en


def test_edxml_dates() -> None:
    assert parse_edxml_date("2019/01/16") is not None
    assert parse_edxml_date("2019-01-16") is not None
    assert parse_edxml_date("2019/01-16") is None
    assert parse_edxml_date("2019/02/29") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("${__StringFromFile(test.txt,,,)}", "not valid base64"),
        ("QUJD\nRA", "multiple of 4"),
        ("QQ==QUJD", "not valid base64"),
        ("QUJDRA==\nQUJD", "padding"),
        ("  \n ", "no content"),
    ],
)
def test_undecodable_attachment_is_refused(tmp_path: Path, text: str, why: str) -> None:
    reading, _ = _read(tmp_path, _edxml([("a.pdf", "application/pdf", text)]))
    assert reading.attachments == ()
    (problem,) = reading.findings
    assert problem.rule == "file.edxml.schema"
    assert problem.path == "data/cv.edxml!a.pdf"
    assert why in problem.message_en


def test_manifest_reference_without_attachment_is_refused(tmp_path: Path) -> None:
    ghost = "<edXML:Reference><edXML:ContentId>cid:ghost</edXML:ContentId></edXML:Reference>"
    reading, _ = _read(tmp_path, _edxml([("a.pdf", "application/pdf", _b64(b"%PDF"))], extra_manifest=ghost))
    assert [f.rule for f in reading.findings] == ["file.edxml.schema"]
    assert "cid:ghost" in reading.findings[0].message_en
    assert len(reading.attachments) == 1


def test_broken_attachment_zip_is_refused(tmp_path: Path) -> None:
    broken = _zip({"a.pdf": b"%PDF-1.7" * 100})[:-30]
    reading, _ = _read(tmp_path, _edxml([("a.doc", "application/zip", _b64(broken))]))
    assert not reading.ok
    assert _rules(reading) == {"pkg.archive.unreadable"}
    assert reading.findings[0].path.startswith("data/cv.edxml!a.doc")


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    packet = _edxml([("leaf.pdf", "application/pdf", _b64(b"%PDF-1.7"))])
    for level in range(MAX_NESTING):
        packet = _edxml([(f"level{level}.edxml", "application/xml", _b64(packet))])
    reading, _ = _read(tmp_path, packet)
    assert _rules(reading) == {"file.edxml.schema"}
    assert f"more than {MAX_NESTING} levels" in reading.findings[0].message_en
    assert reading.attachments == ()


def test_nesting_within_the_limit_is_followed(tmp_path: Path) -> None:
    packet = _edxml([("leaf.pdf", "application/pdf", _b64(b"%PDF-1.7"))])
    for level in range(MAX_NESTING - 1):
        packet = _edxml([(f"level{level}.edxml", "application/xml", _b64(packet))])
    reading, _ = _read(tmp_path, packet)
    assert reading.ok, reading.findings
    (leaf,) = reading.attachments
    assert leaf.origin == ("level1.edxml", "level0.edxml")
    assert len(reading.nested_headers) == MAX_NESTING - 1


# --------------------------------------------------------------------------------------------
# Hostile input


def test_doctype_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    prolog = '<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    reading, extract_to = _read(tmp_path, _edxml([("a.pdf", "application/pdf", _b64(b"%PDF"))], prolog=prolog))
    assert reading.header is None
    assert _rules(reading) == {"pkg.xml.unsafe"}
    assert "DOCTYPE" in reading.findings[0].message_en
    assert _files(extract_to) == set()


def test_file_above_the_xml_limit_is_refused(tmp_path: Path) -> None:
    data = _edxml([("a.pdf", "application/pdf", _b64(b"x" * 30_000))])
    reading, _ = _read(tmp_path, data, PackageLimits(max_xml_bytes=len(data) - 1))
    assert reading.header is None
    assert _rules(reading) == {"pkg.archive.too_large"}


def test_attachments_beyond_the_size_limit_are_refused(tmp_path: Path) -> None:
    data = _edxml(
        [("small.pdf", "application/pdf", _b64(b"a" * 1000)), ("big.pdf", "application/pdf", _b64(b"b" * 50_000))]
    )
    reading, extract_to = _read(tmp_path, data, PackageLimits(max_total_bytes=20_000))
    assert _rules(reading) == {"pkg.archive.too_large"}
    assert reading.findings[0].path == "data/cv.edxml!big.pdf"
    assert [a.name for a in reading.attachments] == ["small.pdf"]
    assert not list(extract_to.glob(".incoming*"))


def test_too_many_attachments_are_refused(tmp_path: Path) -> None:
    data = _edxml([(f"{i}.pdf", "application/pdf", _b64(b"%PDF")) for i in range(4)])
    reading, _ = _read(tmp_path, data, PackageLimits(max_entries=2))
    assert len(reading.attachments) == 2
    assert _rules(reading) == {"pkg.archive.too_large"}


def test_base64_text_beyond_the_parser_limit_is_refused_clearly(tmp_path: Path) -> None:
    data = _edxml([("scan.pdf", "application/pdf", "QUJD" * 2_600_000)])  # 10.4 M characters in one text node
    reading, _ = _read(tmp_path, data)
    assert _rules(reading) == {"pkg.xml.unsafe"}
    assert "7 MiB" in reading.findings[0].message_en


@pytest.mark.parametrize(
    "name",
    [
        "../evil.pdf",
        "/tmp/evil.pdf",
        "a/../../evil.pdf",
        "C:\\evil.pdf",
        "..\\..\\evil.pdf",
        "a\x01.pdf",
        "..",
        "x" * 300,
    ],
)
def test_unsafe_attachment_name_is_refused_without_writing(tmp_path: Path, name: str) -> None:
    data = _edxml([(name, "application/pdf", _b64(b"owned"))]).replace(b"\x01", b"&#1;")
    reading, extract_to = _read(tmp_path, data)
    if reading.header is None:  # a control character is not even legal XML 1.0
        assert _rules(reading) == {"file.edxml.schema"}
    else:
        assert _rules(reading) == {"pkg.archive.unsafe_path"}
        assert reading.findings[0].field == "AttachmentName"
    assert reading.attachments == ()
    assert _files(extract_to) == set()
    assert not (tmp_path.parent / "evil.pdf").exists()


@pytest.mark.parametrize("member", ["../../evil.txt", "/tmp/evil.txt", "a/../../evil.txt"])
def test_zip_slip_inside_an_attachment_is_refused(tmp_path: Path, member: str) -> None:
    payload = _zip({"ok.pdf": b"%PDF", member: b"owned"})
    reading, extract_to = _read(tmp_path, _edxml([("a.doc", "application/zip", _b64(payload))]))
    assert _rules(reading) == {"pkg.archive.unsafe_path"}
    assert reading.findings[0].path.startswith("data/cv.edxml!a.doc")
    assert reading.attachments == ()
    assert _files(extract_to) == set()


def test_nested_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = _zip({"zeros.bin": bytes(20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    reading, extract_to = _read(tmp_path, _edxml([("bomb.doc", "application/zip", _b64(bomb))]))
    assert _rules(reading) == {"pkg.archive.too_large"}
    assert "Compression ratio" in reading.findings[0].message_en
    assert _files(extract_to) == set()


def test_zip_bomb_inside_a_nested_edxml_is_refused(tmp_path: Path) -> None:
    bomb = _zip({"zeros.bin": bytes(20 * 1024 * 1024)})
    inner = _edxml([("bomb.zip", "application/zip", _b64(bomb))])
    outer = _edxml([("wrap.doc", "application/zip", _b64(_zip({"inner.edxml": inner})))])
    reading, extract_to = _read(tmp_path, outer)
    assert _rules(reading) == {"pkg.archive.too_large"}
    assert reading.findings[0].path == "data/cv.edxml!wrap.doc!inner.edxml!bomb.zip"
    assert _files(extract_to) == set()


def test_zip_inside_a_zip_is_kept_as_a_file(tmp_path: Path) -> None:
    inner_zip = _zip({"a.pdf": b"%PDF"})
    reading, _ = _read(tmp_path, _edxml([("wrap.doc", "application/zip", _b64(_zip({"inner.zip": inner_zip})))]))
    assert reading.ok
    (kept,) = reading.attachments
    assert (kept.name, kept.path.read_bytes()) == ("inner.zip", inner_zip)


def test_duplicate_attachment_names_do_not_overwrite(tmp_path: Path) -> None:
    data = _edxml([("a.pdf", "application/pdf", _b64(b"one")), ("a.pdf", "application/pdf", _b64(b"two"))])
    reading, _ = _read(tmp_path, data)
    assert reading.ok
    assert sorted(a.path.read_bytes() for a in reading.attachments) == [b"one", b"two"]


def test_unreadable_source_is_a_finding(tmp_path: Path) -> None:
    reading = read_edxml(tmp_path / "absent.edxml", LIMITS, tmp_path / "out")
    assert _rules(reading) == {"file.edxml.schema"}


# --------------------------------------------------------------------------------------------
# cross_check (file.edxml.mismatch)

VANBAN = {
    "CodeNumber": "15",
    "CodeNotation": "QĐ-TTg",
    "IssuedDate": "16/01/2019",
    "OrganName": "Văn phòng Chính phủ",
    "Subject": "Về việc phê duyệt đề án",
    "TypeName": "Quyết định",
}


def _header(tmp_path: Path, fields: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    reading, _ = _read(tmp_path, _edxml(fields={**DEFAULT_FIELDS, **(fields or {})}))
    assert reading.header is not None
    return reading.header


def test_cross_check_agrees_after_normalisation(tmp_path: Path) -> None:
    header = _header(tmp_path)
    assert cross_check(header, VANBAN, "data/cv.edxml") == []
    loose = {
        "CodeNumber": "015",
        "CodeNotation": " qđ – ttg ",
        "IssuedDate": "2019-01-16",
        "OrganName": unicodedata.normalize("NFD", "  VĂN PHÒNG   chính phủ "),
        "Subject": "về việc  phê duyệt\nđề án",
        "TypeName": "quyết định",
    }
    assert cross_check(header, loose, "data/cv.edxml") == []
    camel = {k[0].lower() + k[1:]: v for k, v in VANBAN.items()}  # Circular 05/2025 tags
    assert cross_check(header, camel, "data/cv.edxml") == []


def test_cross_check_accepts_either_tone_placement(tmp_path: Path) -> None:
    header = _header(tmp_path, {"Subject": "Kế hoạch chuyển đổi số hóa"})
    assert cross_check(header, {**VANBAN, "Subject": "Kế hoạch chuyển đổi số hoá"}, "p") == []


@pytest.mark.parametrize(
    ("tag", "value", "edxml_field", "edxml_value"),
    [
        ("CodeNumber", "16", "Code/CodeNumber", "15"),
        ("CodeNotation", "QĐ-BNV", "Code/CodeNotation", "QĐ-TTg"),
        ("IssuedDate", "17/01/2019", "PromulgationInfo/PromulgationDate", "2019/01/16"),
        ("OrganName", "Bộ Nội vụ", "From/OrganName", "Văn phòng Chính phủ"),
        ("Subject", "Về việc khác", "Subject", "Về việc phê duyệt đề án"),
        ("TypeName", "Công văn", "DocumentType/TypeName", "Quyết định"),
    ],
)
def test_cross_check_names_both_values(
    tmp_path: Path, tag: str, value: str, edxml_field: str, edxml_value: str
) -> None:
    header = _header(tmp_path)
    (problem,) = cross_check(header, {**VANBAN, tag: value}, "representations/rep1/data/cv.edxml")
    assert problem.rule == "file.edxml.mismatch"
    assert problem.is_error
    assert problem.field == tag
    assert problem.path == "representations/rep1/data/cv.edxml"
    for text in (problem.message_vi, problem.message_en):
        assert value in text
        assert edxml_value in text
        assert edxml_field in text


def test_cross_check_leaves_absent_and_unparsable_values_to_other_rules(tmp_path: Path) -> None:
    header = _header(tmp_path)
    assert cross_check(header, {"Subject": "", "IssuedDate": "32/01/2019"}, "p") == []
    status_like = _header(tmp_path / "b", {"Subject": ""})
    assert status_like.subject is None
    assert cross_check(status_like, {**VANBAN, "Subject": "bất kỳ"}, "p") == []


# --------------------------------------------------------------------------------------------
# Hypothesis: nothing but findings, nothing outside extract_to

KNOWN_RULES = set(all_rules())


def _judge(data: bytes, limits: PackageLimits = LIMITS) -> None:
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        source = top / "x.edxml"
        source.write_bytes(data)
        reading = read_edxml(source, limits, top / "out", report_path="data/x.edxml")
        assert {f.rule for f in reading.findings} <= KNOWN_RULES
        _assert_contained(top, top / "out", reading, {source})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_give_only_findings(data: bytes) -> None:
    _judge(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=40),
    content_type=st.sampled_from(["application/zip", "application/pdf", "", "application/x-zip-compressed"]),
    payload=st.one_of(
        st.binary(max_size=512).map(_b64),
        st.binary(max_size=512).map(lambda b: _b64(_zip({"m/ember.pdf": b, "../x": b}))),
        st.binary(max_size=512).map(lambda b: _b64(_zip({"in.edxml": b}))),
        st.text(alphabet="ABCD=+/ \n\r\t-é", max_size=64),
    ),
    subject=st.text(max_size=30),
)
def test_random_packets_give_only_findings(name: str, content_type: str, payload: str, subject: str) -> None:
    legal = "".join(c for c in name if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd"))
    fields = {**DEFAULT_FIELDS, "Subject": "".join(c for c in subject if " " <= c <= "\ud7ff")}
    _judge(_edxml([(legal, content_type, payload)], fields=fields), PackageLimits(max_total_bytes=4096))
