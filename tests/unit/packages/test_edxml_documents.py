"""A document that arrived as an edXML file: validation opens it and judges its attachments as files."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive_service.config import PackageLimits, Settings
from archive_service.packages.edxml_documents import MAX_PATH_BYTES, open_edxml_files
from archive_service.packages.sip import read_sip
from archive_service.packages.staging import stage_package
from archive_service.validation import ValidationReport, check_package, validate_package
from tests.fixtures.edxml_builder import SDK_SAMPLE_VALUES, b64, edxml_packet, header_for, sip_with_edxml, zip_bytes
from tests.fixtures.sip_builder import CORPUS, DataFile, SipBuilder, blank_pdf, valid_sip

ATTACHMENT = "representations/rep1/data/cv.edxml.attachments/01/QD_1.zip/QD_1.pdf"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not on this machine")


def _judge(tmp_path: Path, builder: SipBuilder) -> ValidationReport:
    return validate_package(builder.write_dir(tmp_path / "in"), Settings(home=tmp_path / "home"))


def _rules(report: ValidationReport) -> set[str]:
    return {f.rule for f in report.findings}


def _with_attachment(pdf: bytes, **changes: str) -> SipBuilder:
    builder = sip_with_edxml()
    (document,) = builder.documents
    fields = {**header_for(document.values), **changes}
    packet = edxml_packet([("QD_1.zip", "application/zip", b64(zip_bytes({"QD_1.pdf": pdf})))], fields)
    document.files = [DataFile("cv.edxml", packet, "text/xml")]
    return builder


def test_an_agreeing_packet_gives_its_attachments_to_the_document(tmp_path: Path) -> None:
    report = check_package(
        sip_with_edxml().write_dir(tmp_path / "in"), tmp_path / "work", Settings(home=tmp_path / "home")
    )
    assert report.valid and report.findings == [], [f.to_dict() for f in report.findings]
    assert report.package is not None
    (item,) = report.package.items
    packet, attachment = item.files
    assert packet.path == "representations/rep1/data/cv.edxml" and packet.extracted_from is None
    assert attachment.path == ATTACHMENT
    assert attachment.extracted_from == packet.path
    assert (report.package.root / ATTACHMENT).read_bytes() == blank_pdf(1)
    (opening,) = report.edxml
    assert opening.header is not None and opening.header.code_notation == "QĐ-BNV"


def test_the_file_rules_judge_the_attachments(tmp_path: Path) -> None:
    """An unsigned born-digital PDF inside the packet is file.signature.missing on its own path."""
    report = _judge(tmp_path, _with_attachment(blank_pdf(1, signed=False)))
    (missing,) = [f for f in report.findings if f.rule == "file.signature.missing"]
    assert missing.path == ATTACHMENT


def test_the_page_count_is_checked_against_the_attached_pdf(tmp_path: Path) -> None:
    builder = _with_attachment(blank_pdf(2))
    report = _judge(tmp_path, builder)
    assert any("PageAmount" in (f.field or "") for f in report.findings), [f.to_dict() for f in report.findings]


def test_a_header_that_disagrees_with_the_metadata_is_file_edxml_mismatch(tmp_path: Path) -> None:
    report = _judge(tmp_path, _with_attachment(blank_pdf(1), **{"Code/CodeNotation": "QĐ-TTg"}))
    (mismatch,) = [f for f in report.findings if f.rule == "file.edxml.mismatch"]
    assert mismatch.field == "CodeNotation" and "QĐ-TTg" in mismatch.message_vi
    assert mismatch.path == "representations/rep1/data/cv.edxml"
    assert not report.valid


def test_an_attachment_folder_name_already_in_the_package_is_refused(tmp_path: Path) -> None:
    folder = sip_with_edxml().write_dir(tmp_path / "in")
    taken = folder / "representations/rep1/data/cv.edxml.attachments/x.pdf"
    taken.parent.mkdir()
    taken.write_bytes(blank_pdf(1))
    report = validate_package(folder, Settings(home=tmp_path / "home"))
    assert "pkg.archive.unsafe_path" in _rules(report)
    assert any(f.path == "representations/rep1/data/cv.edxml.attachments" for f in report.findings)


def test_opening_again_replaces_an_earlier_extraction(tmp_path: Path) -> None:
    """A transfer resumed after a crash in validation opens the packets of the same staged package again."""
    settings = Settings(home=tmp_path / "home")
    staged = stage_package(sip_with_edxml().write_dir(tmp_path / "in"), tmp_path / "work", settings.limits)
    for _ in range(2):
        package = read_sip(staged, max_xml_bytes=settings.limits.max_xml_bytes).package
        assert package is not None
        openings, findings = open_edxml_files(package, settings.limits)
        assert findings == [] and [len(o.attachments) for o in openings] == [1]


@needs_corpus
def test_the_malformed_corpus_packet_is_refused_with_its_parse_error(tmp_path: Path) -> None:
    builder = sip_with_edxml((CORPUS / "edxml/truclienthong__edoc_MALFORMED.edxml").read_bytes())
    report = _judge(tmp_path, builder)
    assert _rules(report) == {"file.edxml.schema"}
    (problem,) = report.findings
    assert "line 74" in problem.message_en and "không đúng cú pháp XML" in problem.message_vi
    assert report.package is not None and len(report.package.items[0].files) == 1


@needs_corpus
def test_an_sdk_sample_with_undeclared_prefixes_is_refused_and_the_prefix_named(tmp_path: Path) -> None:
    """Decision 0015: the nested packet of edoc_new uses `xlink:` without declaring it; refused, not guessed."""
    builder = sip_with_edxml((CORPUS / "edxml/truclienthong__edoc_new.edxml").read_bytes())
    builder.documents[0].values.update(SDK_SAMPLE_VALUES)
    report = _judge(tmp_path, builder)
    schema = [f for f in report.findings if f.rule == "file.edxml.schema"]
    assert len(schema) == 1 and "file.edxml.mismatch" not in _rules(report)
    assert "xmlns:xlink" in schema[0].message_en and "không khai báo" in schema[0].message_vi
    assert not report.valid


@needs_corpus
@pytest.mark.parametrize(("code", "mismatch"), [("7816", False), ("7817", True)])
def test_a_status_packet_must_answer_the_document_it_sits_in(tmp_path: Path, code: str, mismatch: bool) -> None:
    """The corpus status 06 answers 7816/VPCP-TTĐT of 2015/09/30 (ResponseFor)."""
    builder = sip_with_edxml()
    builder.documents[0].values.update(CodeNumber=code, CodeNotation="VPCP-TTĐT", IssuedDate="30/09/2015")
    fields = header_for(builder.documents[0].values)
    zipped = b64(zip_bytes({"QD_1.pdf": blank_pdf(1)}))
    builder.documents[0].files = [
        DataFile("cv.edxml", edxml_packet([("QD_1.zip", "application/zip", zipped)], fields), "text/xml"),
        DataFile("status_06.edxml", (CORPUS / "edxml/truclienthong__status_finish_06.edxml").read_bytes(), "text/xml"),
    ]
    report = _judge(tmp_path, builder)
    found = [f for f in report.findings if f.rule == "file.edxml.mismatch"]
    assert bool(found) is mismatch, [f.to_dict() for f in report.findings]
    if mismatch:
        assert found[0].path.endswith("status_06.edxml") and "ResponseFor/Code" in found[0].message_en
    else:
        assert report.valid, [f.to_dict() for f in report.findings]


@needs_corpus
def test_a_document_made_only_of_status_packets_is_refused(tmp_path: Path) -> None:
    builder = sip_with_edxml((CORPUS / "edxml/truclienthong__status_finish_06.edxml").read_bytes(), "status_06.edxml")
    builder.documents[0].values.update(CodeNumber="7816", CodeNotation="VPCP-TTĐT", IssuedDate="30/09/2015")
    report = _judge(tmp_path, builder)
    (problem,) = [f for f in report.findings if f.rule == "file.edxml.schema"]
    assert "no content" in problem.message_en and problem.path.endswith("status_06.edxml")


def test_a_bare_edxml_file_is_not_a_package_and_says_where_it_belongs(tmp_path: Path) -> None:
    bare = tmp_path / "cv.edxml"
    bare.write_bytes(edxml_packet())
    report = validate_package(bare, Settings(home=tmp_path / "home"))
    (problem,) = report.findings
    assert problem.rule == "pkg.archive.unreadable" and "representations/rep1/data/" in problem.message_en


def test_the_attachments_of_all_packets_share_the_transfer_limits(tmp_path: Path) -> None:
    """Two packets each within the limits, together beyond the entry count: the second is refused."""
    builder = valid_sip((1, 1))
    for document in builder.documents:
        zipped = b64(zip_bytes({"QD.pdf": blank_pdf(1)}))
        packet = edxml_packet([("QD.zip", "application/zip", zipped)], header_for(document.values))
        document.files = [DataFile(f"cv{document.name}.edxml", packet, "text/xml")]
    folder = builder.write_dir(tmp_path / "in")
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    settings = Settings(home=tmp_path / "home", limits=PackageLimits(max_entries=files + 1))
    report = validate_package(folder, settings)
    (too_many,) = [f for f in report.findings if f.rule == "pkg.archive.too_large"]
    assert too_many.path.startswith("representations/rep1/data/cv2.edxml")
    assert [len(o.attachments) for o in report.edxml] == [1, 0]


def test_an_attachment_path_too_long_for_a_storage_key_is_refused(tmp_path: Path) -> None:
    """Names of ~190 bytes are fine alone; two zipped packets deep, the path outgrows a storage key."""
    name = "Công văn " + "rất dài " * 18
    packet = edxml_packet([(f"{name}.pdf", "application/pdf", b64(blank_pdf(1)))])
    packet = edxml_packet([(f"{name}.zip", "application/zip", b64(zip_bytes({f"{name}.edxml": packet})))])
    builder = sip_with_edxml()
    (document,) = builder.documents
    outer = edxml_packet(
        [(f"{name}.zip", "application/zip", b64(zip_bytes({f"{name}.edxml": packet})))], header_for(document.values)
    )
    document.files = [DataFile("cv.edxml", outer, "text/xml")]
    report = _judge(tmp_path, builder)
    found = [f for f in report.findings if f.rule == "pkg.archive.unsafe_path"]
    assert len(found) == 1, [(f.rule, f.path[-80:], f.message_en[:200]) for f in report.findings]
    (too_long,) = found
    assert f"longer than {MAX_PATH_BYTES} bytes" in too_long.message_en
    assert report.package is not None and len(report.package.items[0].files) == 1
