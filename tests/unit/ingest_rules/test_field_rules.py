"""Reading record values (NFC, empty = absent, namespaces) and the generated field checks."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from lxml import etree

from ingest_rules import catalogue
from ingest_rules.field_rules import check_fields, record_values
from ingest_rules.findings import ObjectKind, Severity, nfc
from ingest_rules.profile import Profile, generated_rule_specs
from tests.unit.ingest_rules.builders import (
    BASE_DOSSIER,
    BASE_MEDIA,
    DOSSIER_PATH,
    Package,
    element,
    error_ids,
    profile,
    warning_ids,
)

TITLE = "Hồ sơ về việc tuyển dụng công chức, viên chức năm 2019 của Bộ Nội vụ"


def test_values_are_read_by_local_name_ignoring_namespaces() -> None:
    values = record_values(element("HoSo", BASE_DOSSIER, namespace="urn:example:hoso"))
    assert values.get("Title") == BASE_DOSSIER["Title"]
    assert values.get("FileCode") == BASE_DOSSIER["FileCode"]


def test_empty_or_blank_element_counts_as_absent() -> None:
    node = etree.fromstring(
        "<HoSo><Title/><Rights>   \n </Rights><Language> Tiếng Việt </Language></HoSo>"
    )
    values = record_values(node)
    assert values.get("Title") is None
    assert values.get("Rights") is None
    assert values.get("Language") == "Tiếng Việt"
    findings = check_fields(profile(), ObjectKind.DOSSIER, values, DOSSIER_PATH)
    assert {"tt02.dossier.Title.required", "tt02.dossier.Rights.required"} <= error_ids(findings)
    assert "tt02.dossier.Language.required" not in error_ids(findings)


def test_comments_are_not_text_and_unknown_elements_are_ignored() -> None:
    node = etree.fromstring(
        "<VanBan><Subject>Về việc<!-- ghi chú --> tuyển dụng</Subject><Extra>x</Extra></VanBan>"
    )
    values = record_values(node)
    assert values.get("Subject") == "Về việc tuyển dụng"
    findings = check_fields(profile(), ObjectKind.DOCUMENT, values, "doc.xml")
    assert not any(f.field == "Extra" for f in findings)


def test_first_non_empty_occurrence_of_a_repeated_element_counts() -> None:
    node = etree.fromstring("<HoSo><Title/><Title>Hồ sơ A</Title><Title>Hồ sơ B</Title></HoSo>")
    assert record_values(node).get("Title") == "Hồ sơ A"


def test_nfd_text_is_normalised_with_a_warning() -> None:
    package = Package()
    package.dossier["Title"] = unicodedata.normalize("NFD", TITLE)
    values = record_values(element("HoSo", package.dossier))
    assert values.get("Title") == TITLE
    assert values.nfd_tags == frozenset({"Title"})
    findings = package.findings()
    assert error_ids(findings) == set()
    assert warning_ids(findings) == {"tt02.text.nfc"}
    [warning] = findings
    assert (warning.field, warning.severity, warning.object) == (
        "Title",
        Severity.WARNING,
        "dossier",
    )
    assert TITLE in warning.message_vi


def test_nfd_warning_on_a_document_names_the_document() -> None:
    package = Package()
    package.documents[1]["Subject"] = unicodedata.normalize("NFD", package.documents[1]["Subject"])
    [warning] = package.findings()
    assert (warning.rule, warning.object, warning.field) == (
        "tt02.text.nfc",
        ObjectKind.DOCUMENT,
        "Subject",
    )


def test_length_counts_code_points_after_nfc_not_bytes() -> None:
    package = Package()
    at_limit = ("Hồ sơ lưu trữ điện tử " * 50)[:1000]
    assert len(at_limit.encode()) > 1000
    package.dossier["Title"] = at_limit
    assert package.findings() == []
    package.dossier["Title"] = unicodedata.normalize("NFD", at_limit)
    assert len(package.dossier["Title"]) > 1000
    assert error_ids(package.findings()) == set()
    package.dossier["Title"] = at_limit + "ệ"
    assert error_ids(package.findings()) == {"tt02.dossier.Title.max_length"}


@pytest.mark.parametrize(
    ("target", "tag", "value", "expected"),
    [
        ("dossier", "Title", "", "tt02.dossier.Title.required"),
        ("dossier", "TotalDoc", "", "tt02.dossier.TotalDoc.required"),
        ("dossier", "Maintenance", "", "tt02.dossier.Maintenance.required"),
        ("document", "OrganName", "", "tt02.document.OrganName.required"),
        ("document", "ConfidenceLevel", "", "tt02.document.ConfidenceLevel.required"),
        ("dossier", "Title", "T" * 1001, "tt02.dossier.Title.max_length"),
        ("dossier", "Rights", "Công khai " * 4, "tt02.dossier.Rights.max_length"),
        ("document", "DocCode", "000.00.00.G09.2019.000015X", "tt02.document.DocCode.max_length"),
        ("document", "Subject", "Về việc " * 70, "tt02.document.Subject.max_length"),
        ("document", "CodeNumber", "012345678901", "tt02.document.CodeNumber.max_length"),
        ("dossier", "TotalDoc", "ba", "tt02.dossier.TotalDoc.type"),
        ("dossier", "SheetNumber", "12 tờ", "tt02.dossier.SheetNumber.type"),
        ("document", "PageAmount", "-4", "tt02.document.PageAmount.type"),
        ("document", "DocOrdinal", "1.0", "tt02.document.DocOrdinal.type"),
        ("document", "DocOrdinal", "١", "tt02.document.DocOrdinal.type"),
        ("document", "PageAmount", "12345", "tt02.document.PageAmount.max_length"),
    ],
)
def test_generated_check_gives_exactly_its_rule(
    target: str, tag: str, value: str, expected: str
) -> None:
    package = Package(page_counts={})
    values = package.dossier if target == "dossier" else package.documents[0]
    values[tag] = value
    assert error_ids(package.findings()) == {expected}


def test_pattern_check_on_media_duration() -> None:
    media = dict(BASE_MEDIA, PlayTime="1:05:30")
    findings = Package(media=[media]).findings()
    assert error_ids(findings) == {"tt02.media.PlayTime.pattern"}
    [found] = findings
    assert "hh:mm:ss" in found.message_vi and "“1:05:30”" in found.message_vi


def test_photo_required_and_length_checks() -> None:
    photo = {"Identifier": "000.00.00.G09", "ArchivesNumber": "A" * 51, "Mode": "Công khai"}
    findings = Package(photos=[photo]).findings()
    assert error_ids(findings) == {
        "tt02.photo.ImageTitle.required",
        "tt02.photo.ArchivesNumber.max_length",
    }
    assert {f.object for f in findings} == {ObjectKind.PHOTO}


def test_a_value_gets_at_most_one_generated_finding() -> None:
    package = Package(page_counts={})
    package.documents[0]["PageAmount"] = "bốn trang giấy khổ A4"
    assert error_ids(package.findings()) == {"tt02.document.PageAmount.type"}


def _with_format_code_list() -> Profile:
    """tt02 with a closed list on the document's Format (tt02 itself defines no code list)."""
    base = profile()
    tables = []
    for table in base.tables:
        fields = tuple(
            dataclasses.replace(spec, code_list=("Tốt", "Bình thường", "Hỏng"))
            if table.kind is ObjectKind.DOCUMENT and spec.tag == "Format"
            else spec
            for spec in table.fields
        )
        tables.append(dataclasses.replace(table, fields=fields))
    return dataclasses.replace(base, tables=tuple(tables))


def test_code_list_check(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = _with_format_code_list()
    rules = dict(catalogue.all_rules())
    rules.update({spec.id: spec for spec in generated_rule_specs(listed)})
    monkeypatch.setattr(catalogue, "all_rules", lambda: rules)
    assert "tt02.document.Format.code_list" in rules
    document = dict(Package().documents[0])

    document["Format"] = "bình  thường"
    values = record_values(element("VanBan", document))
    assert check_fields(listed, ObjectKind.DOCUMENT, values, "doc.xml") == []

    document["Format"] = "Rách"
    values = record_values(element("VanBan", document))
    [found] = check_fields(listed, ObjectKind.DOCUMENT, values, "doc.xml")
    assert found.rule == "tt02.document.Format.code_list"
    assert "“Tốt”, “Bình thường”, “Hỏng”" in found.message_vi
    assert found.message_vi == nfc(found.message_vi)


def test_required_message_names_the_field_as_the_circular_does() -> None:
    package = Package()
    del package.dossier["Maintenance"]
    [found] = package.findings()
    assert found.message_vi.startswith("Thiếu Thời hạn bảo quản (Maintenance)")
    assert "dữ liệu đặc tả hồ sơ" in found.message_vi
    assert found.message_en.startswith("Retention period (Maintenance) is missing")
