"""The tt02-2019 profile as data and the field rules generated from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest_rules import profile as profile_module
from ingest_rules.catalogue import all_rules, named_rules
from ingest_rules.findings import ObjectKind, Severity
from ingest_rules.profile import (
    FieldType,
    ProfileDataError,
    UnknownProfileError,
    generated_rule_specs,
    known_profiles,
    load_profile,
    profile_for_root,
)

PROFILE_FILE = Path(profile_module.__file__).with_name("profiles") / "tt02_2019.toml"


def test_known_profiles_and_root_detection() -> None:
    tt02 = load_profile("tt02-2019")
    assert [p.id for p in known_profiles()] == ["tt02-2019"]
    assert load_profile("tt02-2019") is tt02
    assert profile_for_root("HoSo") is tt02
    assert profile_for_root("{urn:example}HoSo") is tt02
    assert profile_for_root("VanBan") is None
    assert profile_for_root("simpledc") is None
    roots = {table.kind: table.root for table in tt02.tables}
    assert roots == {
        ObjectKind.DOSSIER: "HoSo",
        ObjectKind.DOCUMENT: "VanBan",
        ObjectKind.PHOTO: "PhimAnh",
        ObjectKind.MEDIA: "PhimAmThanh",
    }
    assert tt02.table_for_root("PhimAmThanh") is tt02.table(ObjectKind.MEDIA)


@pytest.mark.parametrize("profile_id", ["tt05-2025", "tt02_2019", "../profiles/tt02_2019", ""])
def test_unknown_profile_is_a_clear_error(profile_id: str) -> None:
    with pytest.raises(UnknownProfileError, match=r"unknown rule profile .*known: tt02-2019"):
        load_profile(profile_id)


def test_field_tables_follow_the_conventions() -> None:
    tt02 = load_profile("tt02-2019")
    dossier, document = tt02.table(ObjectKind.DOSSIER), tt02.table(ObjectKind.DOCUMENT)
    assert dossier.field("Identifier").max_length == 35
    assert dossier.field("OrganId").max_length == 35
    assert dossier.field("FileCode").max_length is None
    assert document.field("FileCode").max_length is None
    assert not {"Identifier", "OrganId", "FileCatalog", "FileNotation"} & {
        spec.tag for spec in document.fields
    }
    required = {
        ObjectKind.DOSSIER: {
            "FileCode", "Identifier", "OrganId", "FileCatalog", "FileNotation", "Title",
            "Maintenance", "Rights", "Language", "StartDate", "EndDate", "TotalDoc",
        },
        ObjectKind.DOCUMENT: {
            "DocCode", "FileCode", "DocOrdinal", "TypeName", "CodeNumber", "CodeNotation",
            "IssuedDate", "OrganName", "Subject", "Language", "PageAmount", "Mode",
            "ConfidenceLevel",
        },
    }  # fmt: skip
    for kind, tags in required.items():
        assert {spec.tag for spec in tt02.table(kind).fields if spec.required} == tags
    assert len(dossier.fields) == 18
    assert len(document.fields) == 18
    assert len(tt02.table(ObjectKind.PHOTO).fields) == 14
    assert len(tt02.table(ObjectKind.MEDIA).fields) == 15
    assert dossier.field("Maintenance").name_vi == "Thời hạn bảo quản (Maintenance)"


def test_value_domains_and_decree_30_types() -> None:
    values = load_profile("tt02-2019").values
    assert values.maintenance_permanent == "Vĩnh viễn"
    assert values.confidence_levels == ("Gốc điện tử", "Số hóa", "Hỗn hợp")
    assert values.secret_regimes == ("Mật", "Tối mật", "Tuyệt mật")
    assert values.public_regime == "Công khai"
    notation = load_profile("tt02-2019").notation
    by_name = {t.name: t.abbreviation for t in notation.document_types}
    assert by_name["Quyết định"] == "QĐ"
    assert by_name["Quy định"] == "QyĐ"
    assert by_name["Công văn"] is None
    assert by_name["Thư công"] is None
    assert len([t for t in notation.document_types if t.abbreviation]) == 30


def test_generated_ids_only_for_checks_that_apply() -> None:
    rules = all_rules()
    for rule_id in (
        "tt02.dossier.Title.required",
        "tt02.dossier.Title.max_length",
        "tt02.dossier.TotalDoc.type",
        "tt02.document.DocOrdinal.type",
        "tt02.document.DocCode.max_length",
        "tt02.media.PlayTime.pattern",
        "tt02.photo.ImageTitle.required",
        "tt02.dossier.Identifier.required",
    ):
        assert rule_id in rules, rule_id
    for rule_id in (
        "tt02.dossier.StartDate.type",  # tt02.date.format owns dates
        "tt02.document.IssuedDate.max_length",  # no length for a date
        "tt02.dossier.FileCode.max_length",  # bounded by its parts
        "tt02.dossier.Identifier.max_length",  # tt02.code.organ_id
        "tt02.dossier.FileCatalog.type",  # tt02.code.file_catalog
        "tt02.dossier.FileNotation.pattern",  # tt02.code.file_notation
        "tt02.dossier.Maintenance.max_length",  # tt02.value.maintenance
        "tt02.document.ConfidenceLevel.max_length",  # tt02.value.confidence_level
        "tt02.dossier.Title.type",  # strings have no type rule
        "tt02.dossier.Description.required",
    ):
        assert rule_id not in rules, rule_id
    specs = generated_rule_specs(load_profile("tt02-2019"))
    assert all(spec.severity is Severity.ERROR for spec in specs)
    assert not {spec.id for spec in specs} & set(named_rules())


def test_unconfirmed_lengths_say_so_in_the_clause() -> None:
    rules = all_rules()
    assert rules["tt02.dossier.Language.max_length"].clause.endswith("UNCONFIRMED, configurable")
    assert "UNCONFIRMED" not in rules["tt02.dossier.Language.required"].clause
    assert "UNCONFIRMED" not in rules["tt02.dossier.Title.max_length"].clause
    assert "Phụ lục II" in rules["tt02.dossier.Title.max_length"].clause
    assert "UNCONFIRMED, configurable" in rules["tt02.value.confidence_level"].clause


def test_dates_have_no_length_and_named_rules_exist_for_superseded_fields() -> None:
    tt02 = load_profile("tt02-2019")
    for table in tt02.tables:
        for spec in table.fields:
            if spec.type is FieldType.DATE:
                assert spec.max_length is None
                assert spec.superseded_by == "tt02.date.format"
            if spec.superseded_by is not None:
                assert spec.superseded_by in named_rules()
                assert spec.value_checks == ()


@pytest.fixture
def profile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(profile_module, "_PROFILE_DIR", tmp_path)
    profile_module._profile_files.cache_clear()
    load_profile.cache_clear()
    yield tmp_path
    profile_module._profile_files.cache_clear()
    load_profile.cache_clear()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('tag = "Title"\n', 'tag = "Title"\nmax_lenght = 5\n', "unknown keys"),
        ('type = "date"\n', 'type = "date"\nmax_length = 10\n', "no max_length"),
        ('superseded_by = "tt02.date.format"', 'superseded_by = "tt05.date.format"', "tt02"),
        ("'^(?P<years>[0-9]{1,3}) năm$'", "'^([0-9]+) năm$'", "years"),
        ('type = "number"\n', 'type = "integer"\n', "type must be one of"),
    ],
)
def test_malformed_profile_data_is_refused_at_load(
    profile_dir: Path, old: str, new: str, message: str
) -> None:
    text = PROFILE_FILE.read_text(encoding="utf-8")
    assert old in text
    (profile_dir / "tt02_2019.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProfileDataError, match=message):
        load_profile("tt02-2019")
