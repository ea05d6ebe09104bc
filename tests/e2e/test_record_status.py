"""What the archive does with a package given what it already holds (RECORDSTATUS, package ids)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pikepdf
import pytest

from tests.fixtures.cli import CliRunner
from tests.fixtures.pki import sign_as_organisation_and_person
from tests.fixtures.sip_builder import CORPUS, DataFile, SipBuilder, default_document, valid_sip

pytestmark = pytest.mark.slow


def _rules(run_json: object) -> set[str]:
    return {f["rule"] for f in run_json["findings"] if f["severity"] == "error"}  # type: ignore[index]


def test_new_package_for_a_held_dossier_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path / "a")), "--json").code == 0
    again = cli("ingest", str(valid_sip().write_dir(tmp_path / "b")), "--json")
    assert again.code == 2
    assert _rules(again.json()) == {"pkg.dossier.exists"}


def test_replacement_makes_a_new_current_version(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path / "a")), "--json").code == 0
    assert "000.00.00.G09.2019.0017" in {h["code"] for h in cli("search", "dot 3", "--json").json()["hits"]}  # type: ignore[index]
    replacement = valid_sip(pages=(1, 2))  # the third document is withdrawn
    replacement.record_status = "REPLACEMENT"
    replacement.dossier["Title"] = "Hồ sơ về việc tuyển dụng công chức năm 2019 (bổ sung chỉnh lý)"
    run = cli("ingest", str(replacement.write_dir(tmp_path / "b")), "--json")
    assert run.code == 0, run.stdout
    shown = cli("show", replacement.dossier["FileCode"], "--json").json()
    assert shown["aip_version"] == 2  # type: ignore[index]
    assert shown["title"].endswith("(bổ sung chỉnh lý)")  # type: ignore[index]
    withdrawn = cli("search", "dot 3", "--json").json()
    assert "000.00.00.G09.2019.0017" not in {h["code"] for h in withdrawn["hits"]}  # type: ignore[index]
    hits = cli("search", "chinh ly", "--json").json()
    assert [h["code"] for h in hits["hits"] if h["kind"] == "dossier"] == [replacement.dossier["FileCode"]]  # type: ignore[index]
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select aip_version, is_current from dossier order by aip_version").fetchall() == [
            (1, 0),
            (2, 1),
        ]


def test_same_package_id_with_other_content_is_a_conflict(cli: CliRunner, tmp_path: Path) -> None:
    first = valid_sip()
    assert cli("ingest", str(first.write_dir(tmp_path / "a")), "--json").code == 0
    first.dossier["Keyword"] = "tuyển dụng, công chức, thay đổi"
    run = cli("ingest", str(first.write_dir(tmp_path / "b")), "--json")
    assert run.code == 5
    assert run.json()["error"]["details"][0]["rule"] == "pkg.package.conflict"  # type: ignore[index]


def test_test_package_is_validated_and_nothing_is_stored(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    builder = valid_sip()
    builder.record_status = "TEST"
    run = cli("ingest", str(builder.write_dir(tmp_path)), "--json")
    assert run.code == 0, run.stdout
    assert run.json()["status"] == "tested"  # type: ignore[index]
    assert not [p for p in (archive_home / "store").rglob("*") if p.is_file()]
    assert cli("show", builder.dossier["FileCode"]).code == 4


def test_legacy_encoded_metadata_is_flagged(cli: CliRunner, tmp_path: Path) -> None:
    builder = valid_sip()
    # "Về việc tuyển dụng công chức đợt" typed with a TCVN3 (ABC) font
    builder.documents[0].values["Subject"] = "VÒ viÖc tuyÓn dông c«ng chøc ®ît 1"
    run = cli("validate", str(builder.write_dir(tmp_path)), "--json")
    warnings = [f for f in run.json()["findings"] if f["rule"] == "tt02.text.legacy_encoding"]  # type: ignore[index]
    assert [w["field"] for w in warnings] == ["Subject"]
    assert warnings[0]["severity"] == "warning"


def test_unconvertible_pdf_leaves_the_transfer_failed_and_nothing_stored(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    # A PDF that passes validation (PDF 1.4, signed as a born-digital original must be) but uses a
    # non-embedded CID font, which PDF/A conversion refuses. (A user-password PDF no longer gets this
    # far: validation rejects it as file.pdf.unreadable.)
    builder = valid_sip(pages=(1,))
    with pikepdf.open(CORPUS / "wild/pdfjs__noembed-sjis.pdf") as pdf:
        resaved = io.BytesIO()
        pdf.save(resaved, min_version="1.4")
    builder.documents[0].files = [DataFile("sjis.pdf", sign_as_organisation_and_person(resaved.getvalue()))]
    run = cli("ingest", str(builder.write_dir(tmp_path)), "--json")
    assert run.code == 10, run.stdout
    data = run.json()
    assert data["status"] == "failed"  # type: ignore[index]
    assert _rules(data) == {"pres.pdfa.failed"}
    assert any("phông" in f["message_vi"] for f in data["findings"])  # type: ignore[index]
    assert not [p for p in (archive_home / "store").rglob("*") if p.is_file()]


def _supplement(total: int) -> SipBuilder:
    """A SUPPLEMENT carrying one new document (ordinal 4) for the dossier of valid_sip()."""
    supplement = valid_sip(pages=(1,))
    supplement.record_status = "SUPPLEMENT"
    new = supplement.documents[0]
    new.values.update(default_document(4, 1))
    new.name = "4"
    new.files[0].name = "QD_4.pdf"
    new.values["Subject"] = "Về việc bổ sung danh sách công chức trúng tuyển"
    supplement.dossier["TotalDoc"] = str(total)
    supplement.dossier["PageNumber"] = "5"
    return supplement


def test_supplement_adds_documents_to_the_held_dossier(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path / "a")), "--json").code == 0
    run = cli("ingest", str(_supplement(total=4).write_dir(tmp_path / "b")), "--json")
    assert run.code == 0, run.stdout
    assert [d["code"] for d in run.json()["documents"]] == ["000.00.00.G09.2019.0018"]  # type: ignore[index]
    shown = cli("show", "000.00.00.G09.000.00.00.G09.2019.01.TCCB", "--json").json()
    assert shown["aip_version"] == 2  # type: ignore[index]
    assert [d["code"] for d in shown["documents"]] == [  # type: ignore[index]
        "000.00.00.G09.2019.0015",
        "000.00.00.G09.2019.0016",
        "000.00.00.G09.2019.0017",
        "000.00.00.G09.2019.0018",
    ]
    found = {h["code"] for h in cli("search", "cong chuc", "--json", "--limit", "50").json()["hits"]}  # type: ignore[index]
    assert {"000.00.00.G09.2019.0015", "000.00.00.G09.2019.0018"} <= found
    assert cli("get", "000.00.00.G09.2019.0015", "-o", str(tmp_path / "old.pdf")).code == 0
    assert cli("audit").code == 0


def test_supplement_is_counted_with_the_held_documents(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path / "a")), "--json").code == 0
    run = cli("ingest", str(_supplement(total=1).write_dir(tmp_path / "b")), "--json")
    assert run.code == 2
    assert _rules(run.json()) == {"tt02.count.total_doc"}
