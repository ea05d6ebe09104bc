"""One package per `pkg.*` rule: a valid package with exactly one thing broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from archive_service.config import Settings
from archive_service.validation import ValidationReport, validate_package
from tests.fixtures.sip_builder import (
    METS_NS,
    SipBuilder,
    refresh_checksums,
    rewrite_xml,
    valid_sip,
)

M = f"{{{METS_NS}}}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def _errors(report: ValidationReport) -> set[str]:
    return {f.rule for f in report.findings if f.is_error}


def _written(tmp_path: Path, builder: SipBuilder | None = None) -> Path:
    return (builder or valid_sip()).write_dir(tmp_path / "in")


def test_valid_directory_package_has_no_error(tmp_path: Path, settings: Settings) -> None:
    report = validate_package(_written(tmp_path), settings)
    assert _errors(report) == set(), [f.to_dict() for f in report.findings]
    assert report.valid
    assert report.profile == "tt02-2019"
    assert report.package is not None
    assert len(report.package.items) == 3


def test_valid_zip_package_has_no_error_and_leaves_no_work_dir(tmp_path: Path, settings: Settings) -> None:
    report = validate_package(valid_sip().write_zip(tmp_path), settings)
    assert report.valid, [f.to_dict() for f in report.findings]
    assert not any(settings.work_root.iterdir())


def test_layout_missing_dossier_metadata(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    rewrite_xml(root / "METS.xml", lambda m: m.remove(m.find(f"{M}dmdSec")))
    (root / "metadata/descriptive/EAD.xml").unlink()
    assert _errors(validate_package(root, settings)) == {"pkg.layout.missing"}


def test_mets_not_valid_against_schema(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    rewrite_xml(root / "METS.xml", lambda m: etree.SubElement(m, f"{M}notAMetsElement"))
    report = validate_package(root, settings)
    assert _errors(report) == {"pkg.mets.schema"}
    assert "METS" in report.findings[0].message_vi


def test_mets_not_well_formed(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    (root / "METS.xml").write_bytes(b"<mets:mets")
    assert _errors(validate_package(root, settings)) == {"pkg.mets.schema"}


def test_objid_differs_from_folder(tmp_path: Path, settings: Settings) -> None:
    builder = valid_sip()
    builder.objid = "uuid-00000000-0000-0000-0000-000000000000"
    assert _errors(validate_package(_written(tmp_path, builder), settings)) == {"pkg.mets.objid"}


@pytest.mark.parametrize("org", ["", "bộ nội vụ", "000.00.00.g09 ", "G09..H"])
def test_creator_agent_missing_or_malformed(tmp_path: Path, settings: Settings, org: str) -> None:
    builder = valid_sip()
    builder.creator_org = org
    assert _errors(validate_package(_written(tmp_path, builder), settings)) == {"pkg.mets.agent"}


def test_unreferenced_data_file(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    (root / "representations/rep1/data/extra.pdf").write_bytes(b"%PDF-1.4 stray")
    report = validate_package(root, settings)
    assert _errors(report) == {"pkg.mets.unreferenced_file"}
    assert report.findings[0].path == "representations/rep1/data/extra.pdf"


def test_missing_data_file(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    (root / "representations/rep1/data/QD_2.pdf").unlink()
    assert _errors(validate_package(root, settings)) == {"pkg.mets.missing_file"}


def test_checksum_mismatch(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    target = root / "representations/rep1/data/QD_1.pdf"
    data = bytearray(target.read_bytes())
    data[data.index(b"%", 1) + 1] ^= 0x01  # a byte of the binary comment line: still a PDF
    target.write_bytes(bytes(data))
    report = validate_package(root, settings)
    # the byte is covered by the file's signatures, which are checked whatever else is wrong
    # (rules.md Conventions), so the changed file also fails file.signature.invalid
    assert _errors(report) == {"pkg.mets.checksum", "file.signature.invalid"}
    assert report.findings[0].path == "representations/rep1/data/QD_1.pdf"


def test_checksum_compares_case_insensitively(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)

    def upper(mets: etree._Element) -> None:
        for node in mets.iter(f"{M}file"):
            node.set("CHECKSUM", node.get("CHECKSUM", "").upper())

    rewrite_xml(root / "representations/rep1/METS.xml", upper)
    refresh_checksums(root, representation=False)
    assert validate_package(root, settings).valid


def test_size_mismatch(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)

    def wrong_size(mets: etree._Element) -> None:
        node = next(mets.iter(f"{M}file"))
        node.set("SIZE", str(int(node.get("SIZE", "0")) + 1))

    rewrite_xml(root / "representations/rep1/METS.xml", wrong_size)
    refresh_checksums(root, representation=False)
    assert _errors(validate_package(root, settings)) == {"pkg.mets.size"}


def test_data_file_linked_twice_in_structmap(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)

    def link_twice(mets: etree._Element) -> None:
        top = next(d for d in mets.iter(f"{M}div") if d.get("ID") == "div-rep1")
        first = next(d for d in mets.iter(f"{M}div") if d.get("DMDID"))
        top.insert(0, etree.Element(f"{M}fptr", FILEID=first.find(f"{M}fptr").get("FILEID")))

    rewrite_xml(root / "representations/rep1/METS.xml", link_twice)
    refresh_checksums(root, representation=False)
    assert _errors(validate_package(root, settings)) == {"pkg.mets.structmap"}


def test_root_mets_without_pointer_to_representation(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)

    def drop_mptr(mets: etree._Element) -> None:
        mptr = next(mets.iter(f"{M}mptr"))
        mptr.getparent().remove(mptr)  # type: ignore[union-attr]
        # keep the div valid against the schema
        etree.SubElement(
            next(d for d in mets.iter(f"{M}div") if d.get("ID") == "div-rep1-ptr"), f"{M}fptr", FILEID="file-rep1-mets"
        )

    rewrite_xml(root / "METS.xml", drop_mptr)
    assert _errors(validate_package(root, settings)) == {"pkg.mets.structmap"}


def test_doctype_in_document_metadata_is_unsafe(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    target = root / "representations/rep1/metadata/descriptive/EAD_doc_2.xml"
    body = target.read_bytes().split(b"?>", 1)[1]
    target.write_bytes(b'<?xml version="1.0"?><!DOCTYPE VanBan [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + body)
    refresh_checksums(root)
    report = validate_package(root, settings)
    assert "pkg.xml.unsafe" in _errors(report)
    assert {f.rule for f in report.findings if f.path.endswith("EAD_doc_2.xml")} == {"pkg.xml.unsafe"}


def test_unknown_profile_root(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    (root / "metadata/descriptive/EAD.xml").write_bytes(b"<simpledc><fileCode>x</fileCode></simpledc>")
    refresh_checksums(root)
    assert _errors(validate_package(root, settings)) == {"pkg.profile.unknown"}


def test_every_finding_is_reported_at_once(tmp_path: Path, settings: Settings) -> None:
    builder = valid_sip()
    builder.objid = "uuid-other"
    builder.creator_org = "bad"
    root = _written(tmp_path, builder)
    (root / "representations/rep1/data/extra.pdf").write_bytes(b"%PDF-1.4")
    (root / "representations/rep1/data/QD_3.pdf").unlink()
    errors = _errors(validate_package(root, settings))
    assert {"pkg.mets.objid", "pkg.mets.agent", "pkg.mets.unreferenced_file", "pkg.mets.missing_file"} <= errors


def test_nothing_is_written_outside_the_work_dir(tmp_path: Path, settings: Settings) -> None:
    root = _written(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    validate_package(root, settings)
    shutil.rmtree(settings.resolved_home)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
