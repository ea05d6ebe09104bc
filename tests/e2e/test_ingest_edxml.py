"""`archive ingest` of dossiers whose documents arrived as edXML files (QCVN 102:2016), through the CLI."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from archive_service.errors import MissingDependencyError
from archive_service.packages.aip_validation import commons_ip2_validate, find_commons_ip2, validate_aip
from tests.fixtures.cli import CliRunner, run_archive
from tests.fixtures.edxml_builder import SDK_SAMPLE_VALUES, sip_with_edxml
from tests.fixtures.sip_builder import CORPUS, blank_pdf

pytestmark = pytest.mark.slow
EDXML = CORPUS / "edxml"


def _stored(home: Path) -> list[Path]:
    store = home / "store"
    files = store.rglob("*") if store.exists() else iter(())
    return [p for p in files if p.is_file() and not any(part.startswith(".") for part in p.relative_to(store).parts)]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, dict[str, Any]]:
    """An archive home holding one dossier whose document arrived as an edXML packet."""
    builder = sip_with_edxml()
    packet = builder.documents[0].files[0].content
    home = tmp_path_factory.mktemp("home")
    run = run_archive(home, "ingest", str(builder.write_zip(tmp_path_factory.mktemp("pkg"))), "--json")
    assert run.code == 0, run.stdout + run.stderr
    receipt = run.json()
    assert isinstance(receipt, dict)
    return home, packet, receipt


def test_the_receipt_lists_the_packet_its_attachment_and_the_copy(ingested: tuple[Path, bytes, dict[str, Any]]) -> None:
    _, packet, receipt = ingested
    assert receipt["status"] == "accepted" and receipt["counts"] == {"dossiers": 1, "files": 1}
    (document,) = receipt["documents"]
    listed = {(f["role"], f["name"]): f for f in document["files"]}
    assert set(listed) == {("original", "cv.edxml"), ("original", "QD_1.pdf"), ("preservation", "QD_1.pdf")}
    assert listed["original", "cv.edxml"]["sha256"] == hashlib.sha256(packet).hexdigest()
    assert listed["original", "QD_1.pdf"]["sha256"] == hashlib.sha256(blank_pdf(1)).hexdigest()
    assert listed["preservation", "QD_1.pdf"]["puid"] == "fmt/477"


def test_the_packet_is_kept_bit_for_bit_and_the_attachment_is_a_file_of_the_document(
    ingested: tuple[Path, bytes, dict[str, Any]], tmp_path: Path
) -> None:
    home, packet, receipt = ingested
    code = receipt["documents"][0]["code"]
    kept = tmp_path / "kept.edxml"
    assert run_archive(home, "get", code, "--original", "--file", "cv.edxml", "-o", str(kept)).code == 0
    assert kept.read_bytes() == packet
    attachment = tmp_path / "QD_1.pdf"
    assert run_archive(home, "get", code, "--original", "--file", "QD_1.pdf", "-o", str(attachment)).code == 0
    assert attachment.read_bytes() == blank_pdf(1)
    assert run_archive(home, "audit", "--json").code == 0


def test_the_aip_records_the_unpacking_and_passes_its_checks(ingested: tuple[Path, bytes, dict[str, Any]]) -> None:
    home, _, receipt = ingested
    aip = home / "store" / "primary" / receipt["dossier"]["aip_id"]
    assert (aip / "representations/rep1/data/cv.edxml").is_file()
    assert (aip / "representations/rep1/data/cv.edxml.attachments/01/QD_1.zip/QD_1.pdf").read_bytes() == blank_pdf(1)
    premis = (aip / "metadata/preservation/PREMIS.xml").read_text(encoding="utf-8")
    assert "<premis:eventType>unpacking</premis:eventType>" in premis and "15/QĐ-BNV" in premis
    assert validate_aip(aip) == []
    try:
        lib = find_commons_ip2()
    except MissingDependencyError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(exc.message_en)
        pytest.skip(exc.message_en)
    report = commons_ip2_validate(aip, lib=lib)
    assert report.valid and report.errors == (), report


@pytest.mark.skipif(not EDXML.is_dir(), reason="the shared corpus is not on this machine")
@pytest.mark.parametrize(
    ("sample", "words"),
    [
        ("truclienthong__edoc_MALFORMED.edxml", "line 74"),
        ("truclienthong__edoc_new.edxml", "xmlns:xlink"),
        ("truclienthong__dc0bdef0-c7a3-4aaf-b717-777303442973.edxml", "Opening and ending tag mismatch"),
    ],
)
def test_corpus_packets_that_cannot_be_read_are_refused_and_nothing_is_stored(
    cli: CliRunner, archive_home: Path, tmp_path: Path, sample: str, words: str
) -> None:
    builder = sip_with_edxml((EDXML / sample).read_bytes(), name=sample)
    builder.documents[0].values.update(SDK_SAMPLE_VALUES)
    run = cli("ingest", str(builder.write_zip(tmp_path)), "--json")
    assert run.code == 2, run.stdout + run.stderr
    result = run.json()
    assert result["status"] == "rejected"  # type: ignore[index]
    schema = [f for f in result["findings"] if f["rule"] == "file.edxml.schema"]  # type: ignore[index]
    assert schema and any(words in f["message_en"] for f in schema), result
    assert all(f["path"].startswith(f"representations/rep1/data/{sample}") for f in schema)
    assert _stored(archive_home) == []
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select status from transfer").fetchall() == [("rejected",)]
        assert db.execute("select count(*) from dossier").fetchone() == (0,)
    assert not any((archive_home / "work").iterdir())


@pytest.mark.parametrize("point", ["after:validate", "after:identify"])
def test_a_transfer_killed_after_opening_the_packet_resumes_with_its_attachments(
    cli: CliRunner, archive_home: Path, tmp_path: Path, point: str
) -> None:
    package = sip_with_edxml().write_zip(tmp_path)
    killed = cli("ingest", str(package), "--json", env={"ARCHIVE_FAULT_KILL_AT": point})
    assert killed.code == -signal.SIGKILL, killed.stdout + killed.stderr
    resumed = cli("ingest", str(package), "--json")
    assert resumed.code == 0, resumed.stdout + resumed.stderr
    names = {f["name"] for d in resumed.json()["documents"] for f in d["files"]}  # type: ignore[index]
    assert names == {"cv.edxml", "QD_1.pdf"}
    assert any(p.name == "QD_1.pdf" and "rep1" in p.parts for p in _stored(archive_home))
    assert cli("audit", "--json").code == 0
    assert not any((archive_home / "work").iterdir())
