"""Circular 02/2019 metadata rules judged on whole packages: one defect, exactly its rule id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from archive_service.config import Settings
from archive_service.validation import validate_package
from tests.fixtures.sip_builder import SipBuilder, valid_sip


def _dossier(field: str, value: str) -> Callable[[SipBuilder], None]:
    def change(builder: SipBuilder) -> None:
        builder.dossier[field] = value

    return change


def _document(index: int, field: str, value: str) -> Callable[[SipBuilder], None]:
    def change(builder: SipBuilder) -> None:
        builder.documents[index].values[field] = value

    return change


def _all_documents(field: str, value: str) -> Callable[[SipBuilder], None]:
    def change(builder: SipBuilder) -> None:
        for document in builder.documents:
            document.values[field] = value

    return change


def _file_code(value: str) -> Callable[[SipBuilder], None]:
    """The same FileCode everywhere, but not the one its parts compose."""

    def change(builder: SipBuilder) -> None:
        builder.dossier["FileCode"] = value
        for document in builder.documents:
            document.values["FileCode"] = value

    return change


CASES: list[tuple[str, Callable[[SipBuilder], None], str]] = [
    ("date not a real day", _dossier("StartDate", "31/02/2019"), "tt02.date.format"),
    ("ISO date", _document(0, "IssuedDate", "2019-03-05"), "tt02.date.format"),
    ("end before start", _dossier("EndDate", "01/01/2018"), "tt02.date.order"),
    ("TotalDoc off", _dossier("TotalDoc", "4"), "tt02.count.total_doc"),
    ("PageAmount off", _document(1, "PageAmount", "9"), "tt02.count.page_amount"),
    ("retention words", _dossier("Maintenance", "Lâu dài"), "tt02.value.maintenance"),
    ("reliability words", _document(2, "ConfidenceLevel", "Bản sao"), "tt02.value.confidence_level"),
    ("secret dossier", _dossier("Rights", "Mật"), "tt02.value.secret"),
    ("top secret document", _document(0, "Mode", "Tuyệt mật"), "tt02.value.secret"),
    ("FileCode parts", _file_code("000.00.00.G09.000.00.00.G09.2019.02.TCCB"), "tt02.code.file_code"),
    ("organ id form", _dossier("OrganId", "Bộ Nội vụ"), "tt02.code.organ_id"),
    ("file notation", _dossier("FileNotation", "TCCB-01"), "tt02.code.file_notation"),
    ("file catalog", _dossier("FileCatalog", "19"), "tt02.code.file_catalog"),
    (
        "document FileCode",
        _document(1, "FileCode", "000.00.00.G09.000.00.00.G09.2019.09.TCCB"),
        "tt02.document.file_code_match",
    ),
    ("ordinal gap", _document(2, "DocOrdinal", "5"), "tt02.document.ordinal"),
    ("same DocCode", _document(1, "DocCode", "000.00.00.G09.2019.0015"), "tt02.document.duplicate"),
    ("title missing", _dossier("Title", ""), "tt02.dossier.Title.required"),
    ("title too long", _dossier("Title", "Hồ sơ " * 201), "tt02.dossier.Title.max_length"),
    ("subject too long", _document(0, "Subject", "Về việc " * 70), "tt02.document.Subject.max_length"),
    ("page count not a number", _document(0, "PageAmount", "một"), "tt02.document.PageAmount.type"),
    ("type name missing", _all_documents("TypeName", ""), "tt02.document.TypeName.required"),
]


@pytest.mark.parametrize(("label", "change", "rule"), CASES, ids=[c[0] for c in CASES])
def test_one_defect_gives_exactly_its_rule(
    tmp_path: Path, label: str, change: Callable[[SipBuilder], None], rule: str
) -> None:
    builder = valid_sip()
    change(builder)
    report = validate_package(builder.write_dir(tmp_path), Settings(home=tmp_path / "home"))
    errors = {f.rule for f in report.findings if f.is_error}
    assert errors == {rule}, [f.to_dict() for f in report.findings if f.is_error]
    finding = next(f for f in report.findings if f.rule == rule)
    assert finding.message_vi and finding.message_en and finding.clause


def test_nfd_metadata_is_accepted_as_nfc_with_a_warning(tmp_path: Path) -> None:
    import unicodedata

    builder = valid_sip()
    builder.dossier["Title"] = unicodedata.normalize("NFD", builder.dossier["Title"])
    report = validate_package(builder.write_dir(tmp_path), Settings(home=tmp_path / "home"))
    assert report.valid
    assert [f.rule for f in report.findings] == ["tt02.text.nfc"]
    assert report.package is not None
    assert report.package.dossier_values.get("Title") == unicodedata.normalize("NFC", builder.dossier["Title"])


def test_metadata_in_a_legacy_xml_encoding_is_read_correctly(tmp_path: Path) -> None:
    builder = valid_sip()
    root = builder.write_dir(tmp_path)
    ead = root / "metadata/descriptive/EAD.xml"
    text = ead.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    ead.write_bytes(text.encode("utf-16"))
    from tests.fixtures.sip_builder import refresh_checksums

    refresh_checksums(root)
    report = validate_package(root, Settings(home=tmp_path / "home"))
    assert report.valid, [f.to_dict() for f in report.findings]


def test_mislabelled_encoding_is_refused_clearly(tmp_path: Path) -> None:
    builder = valid_sip()
    root = builder.write_dir(tmp_path)
    ead = root / "metadata/descriptive/EAD.xml"
    ead.write_bytes(ead.read_text(encoding="utf-8").encode("cp1258", errors="replace"))  # still says UTF-8
    from tests.fixtures.sip_builder import refresh_checksums

    refresh_checksums(root)
    report = validate_package(root, Settings(home=tmp_path / "home"))
    assert not report.valid
    assert any("XML" in f.message_vi for f in report.findings if f.path.endswith("EAD.xml"))


@pytest.mark.parametrize("spelling", ["Số hoá", "số hóa", "SỐ HOÁ"])
def test_both_tone_placements_and_any_case_are_accepted(tmp_path: Path, spelling: str) -> None:
    builder = valid_sip()
    builder.documents[0].values["ConfidenceLevel"] = spelling
    report = validate_package(builder.write_dir(tmp_path), Settings(home=tmp_path / "home"))
    assert report.valid, [f.to_dict() for f in report.findings]
