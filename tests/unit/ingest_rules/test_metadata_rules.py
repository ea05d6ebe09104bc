"""The named tt02 rules: a valid dossier passes, and breaking one thing gives exactly its rule."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest

from ingest_rules.catalogue import rule
from ingest_rules.findings import ObjectKind, Severity, nfc
from ingest_rules.metadata_rules import DocumentIdentity, MetadataContext, check_metadata
from tests.unit.ingest_rules.builders import (
    BASE_MEDIA,
    BASE_PHOTO,
    DOSSIER_PATH,
    Package,
    doc_path,
    error_ids,
    profile,
    record,
    warning_ids,
)


def test_valid_dossier_with_three_documents_has_no_finding() -> None:
    assert Package().findings() == []


def test_valid_dossier_with_photo_and_media_has_no_finding() -> None:
    assert Package(photos=[dict(BASE_PHOTO)], media=[dict(BASE_MEDIA)]).findings() == []


def test_decision_20_identifiers_are_accepted() -> None:
    package = Package()
    package.dossier["Identifier"] = "G09.20"
    package.dossier["OrganId"] = "H49.64.33"
    package.recode()
    assert package.findings() == []


@pytest.mark.parametrize("value", ["20 năm", "05 năm", "vĩnh viễn", "VĨNH VIỄN", " 70  năm "])
def test_maintenance_accepts_permanent_and_years(value: str) -> None:
    package = Package()
    package.dossier["Maintenance"] = value
    assert package.findings() == []


def _set(target: str, **values: str) -> Callable[[Package], None]:
    """A mutation: set values on the dossier ("dossier") or on document n ("doc0", "doc1"...)."""

    def mutate(package: Package) -> None:
        record_values = (
            package.dossier if target == "dossier" else package.documents[int(target[3:])]
        )
        record_values.update(values)

    return mutate


def _recoded(tag: str, value: str) -> Callable[[Package], None]:
    """Change a FileCode part and rebuild every FileCode from the parts."""

    def mutate(package: Package) -> None:
        package.dossier[tag] = value
        package.recode()

    return mutate


def _file_code(value: str) -> Callable[[Package], None]:
    """Set the same FileCode on the dossier and its documents."""

    def mutate(package: Package) -> None:
        for values in (package.dossier, *package.documents):
            values["FileCode"] = value

    return mutate


def _copy_number_of_first(package: Package) -> None:
    first, last = package.documents[0], package.documents[2]
    for tag in ("TypeName", "CodeNumber", "CodeNotation", "OrganName"):
        last[tag] = first[tag]
    last["IssuedDate"] = "20/12/2019"


def _page_count(package: Package) -> None:
    package.page_counts[doc_path(0)] = 5


ERROR_CASES: list[tuple[str, Callable[[Package], None]]] = [
    ("tt02.code.organ_id", _set("dossier", Identifier="000.00.00.g09")),
    ("tt02.code.organ_id", _set("dossier", OrganId="G09." + "A" * 35)),
    ("tt02.code.organ_id", _set("dossier", OrganId="000 00 00 G09")),
    ("tt02.code.file_code", _file_code("000.00.00.G09.2019.01.TCCB")),
    ("tt02.code.file_code", _file_code("000.00.00.G09-000.00.00.G09-2019-01.TCCB")),
    ("tt02.code.file_notation", _recoded("FileNotation", "01-TCCB")),
    ("tt02.code.file_notation", _recoded("FileNotation", "01.tccb")),
    ("tt02.code.file_notation", _recoded("FileNotation", "01." + "T" * 18)),
    ("tt02.code.file_catalog", _recoded("FileCatalog", "19")),
    ("tt02.code.file_catalog", _recoded("FileCatalog", "năm 2019")),
    (
        "tt02.document.file_code_match",
        _set("doc1", FileCode="000.00.00.G09.000.00.00.G09.2019.02.TCCB"),
    ),
    ("tt02.document.ordinal", _set("doc2", DocOrdinal="2")),
    ("tt02.document.ordinal", _set("doc2", DocOrdinal="4")),
    ("tt02.document.ordinal", _set("doc0", DocOrdinal="0")),
    ("tt02.document.duplicate", _set("doc1", DocCode="000.00.00.G09.2019.0015")),
    ("tt02.document.duplicate", _copy_number_of_first),
    ("tt02.date.format", _set("dossier", StartDate="31/02/2019")),
    ("tt02.date.format", _set("dossier", EndDate="2019-12-27")),
    ("tt02.date.format", _set("doc0", IssuedDate="5/3/2019")),
    ("tt02.date.order", _set("dossier", StartDate="28/12/2019")),
    ("tt02.count.total_doc", _set("dossier", TotalDoc="4")),
    ("tt02.count.page_amount", _page_count),
    ("tt02.value.maintenance", _set("dossier", Maintenance="Lâu dài")),
    ("tt02.value.maintenance", _set("dossier", Maintenance="0 năm")),
    ("tt02.value.maintenance", _set("dossier", Maintenance="20 years")),
    ("tt02.value.confidence_level", _set("doc1", ConfidenceLevel="Bản sao")),
    ("tt02.value.secret", _set("dossier", Rights="Mật")),
    ("tt02.value.secret", _set("doc0", Mode="TỐI MẬT")),
    ("tt02.value.secret", _set("doc2", Mode="  tuyệt   mật ")),
]


@pytest.mark.parametrize(("rule_id", "mutate"), ERROR_CASES)
def test_one_defect_gives_exactly_its_error(
    rule_id: str, mutate: Callable[[Package], None]
) -> None:
    package = Package()
    mutate(package)
    findings = package.findings()
    assert error_ids(findings) == {rule_id}
    assert warning_ids(findings) == set()


WARNING_CASES: list[tuple[str, Callable[[Package], None]]] = [
    ("tt02.document.code_notation", _set("doc0", CodeNumber="5")),
    ("tt02.document.code_notation", _set("doc0", CodeNotation="QĐ - BNV")),
    ("tt02.document.code_notation", _set("doc0", CodeNotation="qđ-bnv")),
    ("tt02.document.code_notation", _set("doc0", CodeNotation="BC-BNV")),
    ("tt02.document.code_notation", _set("doc2", TypeName="Thông tư", CodeNotation="TT-BNV")),
    ("tt02.date.document_in_range", _set("doc0", IssuedDate="05/03/2018")),
    ("tt02.count.page_number", _set("dossier", PageNumber="13")),
]


@pytest.mark.parametrize(("rule_id", "mutate"), WARNING_CASES)
def test_one_irregularity_gives_exactly_its_warning(
    rule_id: str, mutate: Callable[[Package], None]
) -> None:
    package = Package()
    mutate(package)
    findings = package.findings()
    assert error_ids(findings) == set()
    assert warning_ids(findings) == {rule_id}


@pytest.mark.parametrize(
    ("type_name", "notation"),
    [
        ("Quy định", "QyĐ-BNV"),
        ("Tờ trình", "TTr-BNV"),
        ("Công văn", "UBND-VX"),
        ("Thư công", "BNV"),
    ],
)
def test_official_notations_pass(type_name: str, notation: str) -> None:
    package = Package()
    package.documents[0]["TypeName"] = type_name
    package.documents[0]["CodeNotation"] = notation
    assert package.findings() == []


def test_duplicate_against_the_catalog() -> None:
    held = "000.00.00.G09.2019.0016"
    seen: list[DocumentIdentity] = []

    def catalog_has_document(identity: DocumentIdentity) -> bool:
        seen.append(identity)
        return identity.code_key == held.casefold()

    package = Package()
    package.context_override = MetadataContext(
        page_counts=package.page_counts, catalog_has_document=catalog_has_document
    )
    findings = package.findings()
    assert error_ids(findings) == {"tt02.document.duplicate"}
    [duplicate] = findings
    assert duplicate.path == doc_path(1)
    assert "Kho lưu trữ đã có văn bản trùng" in duplicate.message_vi
    assert len(seen) == 3
    assert seen[0].number_key == ("15", "qđ-bnv", "bộ nội vụ", 2019)


def test_number_key_ignores_leading_zeros_case_and_spacing() -> None:
    one = DocumentIdentity("A", "05", "QĐ-BNV", "Bộ  Nội vụ", 2019)
    other = DocumentIdentity("B", "5", "qđ-bnv", "bộ nội vụ", 2019)
    assert one.number_key == other.number_key
    assert DocumentIdentity("A", None, "QĐ-BNV", "Bộ Nội vụ", 2019).number_key is None


def test_page_amount_is_only_checked_when_the_page_count_is_known() -> None:
    package = Package(page_counts={})
    package.documents[0]["PageAmount"] = "40"
    package.dossier["PageNumber"] = "48"
    assert package.findings() == []


def test_total_doc_counts_documents_not_photos() -> None:
    assert Package(photos=[dict(BASE_PHOTO)]).findings() == []


def test_unconfirmed_media_identifier_is_optional() -> None:
    media = {k: v for k, v in BASE_MEDIA.items() if k != "Identifier"}
    assert Package(media=[media]).findings() == []


def _superseded_fields() -> list[tuple[ObjectKind, str, str]]:
    return [
        (table.kind, spec.tag, spec.superseded_by)
        for table in profile().tables
        for spec in table.fields
        if spec.superseded_by is not None
    ]


@pytest.mark.parametrize(("kind", "tag", "owner"), _superseded_fields())
def test_a_field_owned_by_a_named_rule_is_reported_under_that_rule_only(
    kind: ObjectKind, tag: str, owner: str
) -> None:
    package = Package(photos=[dict(BASE_PHOTO)], media=[dict(BASE_MEDIA)])
    target = {
        ObjectKind.DOSSIER: package.dossier,
        ObjectKind.DOCUMENT: package.documents[0],
        ObjectKind.PHOTO: package.photos[0],
        ObjectKind.MEDIA: package.media[0],
    }[kind]
    target[tag] = "x?"
    findings = package.findings()
    assert error_ids(findings) == {owner}
    [broken] = [f for f in findings if f.rule == owner]
    assert (broken.object, broken.field) == (kind, tag)


def test_messages_name_the_field_quote_the_value_and_say_what_is_expected() -> None:
    package = Package()
    package.dossier["Maintenance"] = "Lâu dài"
    [found] = package.findings()
    assert found.field == "Maintenance"
    assert found.path == DOSSIER_PATH
    assert found.message_vi.startswith("Thời hạn bảo quản (Maintenance) ghi “Lâu dài”")
    assert "“Vĩnh viễn”" in found.message_vi
    assert "“20 năm”" in found.message_vi
    assert found.message_en.startswith("Retention period (Maintenance) is “Lâu dài”")
    assert found.clause == rule("tt02.value.maintenance").clause


def test_every_finding_has_catalogue_severity_and_nfc_bilingual_messages() -> None:
    package = Package()
    for mutate in (mutation for _, mutation in ERROR_CASES + WARNING_CASES):
        mutate(package)
    package.dossier["Title"] = unicodedata.normalize("NFD", package.dossier["Title"])
    findings = package.findings()
    assert len(findings) > 10
    for found in findings:
        spec = rule(found.rule)
        assert found.severity in (spec.severity, Severity.WARNING)
        assert found.clause == spec.clause
        assert found.message_vi == nfc(found.message_vi) and found.message_vi.endswith(".")
        assert found.message_en == nfc(found.message_en) and found.message_en.endswith(".")
        assert found.message_vi != found.message_en


def test_check_metadata_takes_one_dossier() -> None:
    document = record(ObjectKind.DOCUMENT, doc_path(0), Package().documents[0])
    with pytest.raises(ValueError, match="one dossier"):
        check_metadata(profile(), document, [], MetadataContext())
