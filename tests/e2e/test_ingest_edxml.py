"""`archive ingest` of dossiers whose documents arrived as edXML files (QCVN 102:2016), through the CLI."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner
from tests.fixtures.edxml_builder import SDK_SAMPLE_VALUES, sip_with_edxml
from tests.fixtures.sip_builder import CORPUS, blank_pdf

pytestmark = pytest.mark.slow
EDXML = CORPUS / "edxml"


def _stored(home: Path) -> list[Path]:
    store = home / "store"
    files = store.rglob("*") if store.exists() else iter(())
    return [p for p in files if p.is_file() and not any(part.startswith(".") for part in p.relative_to(store).parts)]


def test_an_edxml_document_is_ingested_with_its_attachments_and_the_packet_kept(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    builder = sip_with_edxml()
    packet = builder.documents[0].files[0].content
    run = cli("ingest", str(builder.write_zip(tmp_path)), "--json")
    assert run.code == 0, run.stdout + run.stderr
    receipt = run.json()
    assert receipt["status"] == "accepted" and receipt["counts"] == {"dossiers": 1, "files": 1}  # type: ignore[index]
    (document,) = receipt["documents"]  # type: ignore[index]
    listed = {(f["role"], f["name"]): f for f in document["files"]}
    assert set(listed) == {("original", "cv.edxml"), ("original", "QD_1.pdf"), ("preservation", "QD_1.pdf")}
    assert listed["original", "cv.edxml"]["sha256"] == hashlib.sha256(packet).hexdigest()
    assert listed["original", "QD_1.pdf"]["sha256"] == hashlib.sha256(blank_pdf(1)).hexdigest()
    assert listed["preservation", "QD_1.pdf"]["puid"] == "fmt/477"
    code = document["code"]
    kept = tmp_path / "kept.edxml"
    assert cli("get", code, "--original", "--file", "cv.edxml", "-o", str(kept)).code == 0
    assert kept.read_bytes() == packet
    attachment = tmp_path / "QD_1.pdf"
    assert cli("get", code, "--original", "--file", "QD_1.pdf", "-o", str(attachment)).code == 0
    assert attachment.read_bytes() == blank_pdf(1)
    (premis,) = [p for p in _stored(archive_home) if p.name == "PREMIS.xml" and "replica" not in p.parts]
    text = premis.read_text(encoding="utf-8")
    assert "<premis:eventType>unpacking</premis:eventType>" in text and "QĐ-BNV" in text
    assert cli("audit", "--json").code == 0


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
