"""The whole chain through the CLI, in subprocesses, on real Vietnamese PDFs from the corpus."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from archive_service.preservation.verify_pdfa import check_pdfa, extract_text, text_fidelity
from tests.fixtures.cli import CliRunner, run_archive
from tests.fixtures.sip_builder import CORPUS, SipBuilder, sip_from_pdfs, valid_sip

BORN_DIGITAL = [
    CORPUS / "vietnamese/vbhc__vht507.signed_20250510_124909.pdf",
    CORPUS / "vietnamese/vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf",
]

pytestmark = pytest.mark.slow


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[SipBuilder, Path]:
    builder = sip_from_pdfs(BORN_DIGITAL, organ_name="Ủy ban nhân dân tỉnh Quảng Ngãi")
    return builder, builder.write_zip(tmp_path_factory.mktemp("pkg"))


@pytest.fixture(scope="module")
def ingested(corpus_package: tuple[SipBuilder, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    """One archive home with the corpus package ingested once (shared by the read-only tests)."""
    home = tmp_path_factory.mktemp("home")
    run = run_archive(home, "ingest", str(corpus_package[1]), "--json", timeout=900)
    assert run.code == 0, run.stdout + run.stderr
    return home, json.loads(run.stdout)


@pytest.fixture
def on_ingested(ingested: tuple[Path, dict], cli: CliRunner) -> CliRunner:  # type: ignore[type-arg]
    home = ingested[0]
    return lambda *args, **kw: cli(*args, env={"ARCHIVE_HOME": str(home)}, **kw)


def test_receipt_lists_every_file_with_the_senders_sha256(
    ingested: tuple[Path, dict],
    corpus_package: tuple[SipBuilder, Path],  # type: ignore[type-arg]
) -> None:
    _, receipt = ingested
    builder, _ = corpus_package
    assert receipt["status"] == "accepted"
    assert receipt["profile"] == "tt02-2019"
    assert receipt["dossier"]["code"] == builder.dossier["FileCode"]
    assert receipt["counts"] == {"dossiers": 1, "files": 2}
    sent = {f.name: hashlib.sha256(f.content).hexdigest() for d in builder.documents for f in d.files}
    originals = {f["name"]: f["sha256"] for d in receipt["documents"] for f in d["files"] if f["role"] == "original"}
    assert originals == sent
    copies = [f for d in receipt["documents"] for f in d["files"] if f["role"] == "preservation"]
    assert len(copies) == 2 and all(c["puid"] for c in copies)
    assert receipt["key_id"] and receipt["signature"]
    assert {"pres.signature.preserved"} <= {f["rule"] for f in receipt["findings"]}


def test_receipt_verifies_and_detects_tampering(
    ingested: tuple[Path, dict],
    on_ingested: CliRunner,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(json.dumps(ingested[1]), encoding="utf-8")
    assert on_ingested("receipt", "verify", str(receipt_file)).code == 0
    forged = dict(ingested[1], counts={"dossiers": 1, "files": 3})
    receipt_file.write_text(json.dumps(forged), encoding="utf-8")
    run = on_ingested("receipt", "verify", str(receipt_file), "--json")
    assert run.code == 7
    assert run.json()["signature_ok"] is False  # type: ignore[index]


def test_get_returns_original_bit_for_bit_and_a_pdfa_copy_with_the_same_text(
    on_ingested: CliRunner, tmp_path: Path
) -> None:
    code = "000.00.00.G09.2019.0015"
    original = tmp_path / "original.pdf"
    copy = tmp_path / "copy.pdf"
    assert on_ingested("get", code, "--original", "-o", str(original)).code == 0
    assert _sha256(original) == _sha256(BORN_DIGITAL[0])
    assert on_ingested("get", code, "--preservation", "-o", str(copy)).code == 0
    assert check_pdfa(copy).conformance.startswith("PDF/A-2")
    assert text_fidelity(original, copy, digitised=False).ok
    assert "UBND" in extract_text(copy) or "Ủy ban" in extract_text(copy) or len(extract_text(copy)) > 100


def test_search_finds_the_dossier_without_diacritics(on_ingested: CliRunner) -> None:
    run = on_ingested("search", "tuyen dung cong chuc", "--json")
    assert run.code == 0, run.stderr
    hits = run.json()["hits"]  # type: ignore[index]
    assert hits and hits[0]["code"] == "000.00.00.G09.000.00.00.G09.2019.01.TCCB"


def test_show_lists_files_fixity_and_events(on_ingested: CliRunner) -> None:
    run = on_ingested("show", "000.00.00.G09.000.00.00.G09.2019.01.TCCB", "--json")
    assert run.code == 0, run.stderr
    data = run.json()
    assert data["kind"] == "dossier" and len(data["documents"]) == 2  # type: ignore[index]
    types = {e["type"] for e in data["events"]}  # type: ignore[index]
    assert {"ingestion", "fixity check", "validation", "format identification", "migration", "replication"} <= types


def test_reingest_of_the_same_package_prints_the_same_receipt(
    on_ingested: CliRunner,
    ingested: tuple[Path, dict],
    corpus_package: tuple[SipBuilder, Path],  # type: ignore[type-arg]
) -> None:
    run = on_ingested("ingest", str(corpus_package[1]), "--json")
    assert run.code == 0, run.stderr
    assert run.json() == ingested[1]
    with sqlite3.connect(ingested[0] / "catalog.sqlite3") as db:
        assert db.execute("select count(*) from dossier").fetchone() == (1,)
        assert db.execute("select count(*) from transfer").fetchone() == (1,)


def test_log_verify_catches_a_tampered_entry(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    package = valid_sip().write_dir(tmp_path)
    assert cli("ingest", str(package), "--json").code == 0
    assert cli("log", "verify").code == 0
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        db.execute("update audit_entry set actor = 'mallory' where seq = 1")
    run = cli("log", "verify", "--json")
    assert run.code == 7
    assert run.json()["first_bad_seq"] == 1  # type: ignore[index]


@pytest.mark.parametrize("copy", ["primary", "replica"])
def test_audit_finds_and_repairs_corruption_and_loss(
    cli: CliRunner, archive_home: Path, tmp_path: Path, copy: str
) -> None:
    package = valid_sip().write_dir(tmp_path)
    assert cli("ingest", str(package), "--json").code == 0
    clean = cli("audit", "--json")
    assert clean.code == 0 and clean.json()["corrupted"] == [] and clean.json()["missing"] == []  # type: ignore[index]
    store = archive_home / "store" / copy
    objects = sorted(
        p for p in store.rglob("*") if p.is_file() and ".fixity" not in p.parts and not p.name.startswith(".")
    )
    victim, gone = objects[0], objects[1]
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes() + b"bitrot")
    gone.chmod(0o644)
    gone.unlink()
    found = cli("audit", "--json")
    assert found.code == 7
    report = found.json()
    assert [c["copy"] for c in report["corrupted"]] == [copy]  # type: ignore[index]
    assert [m["copy"] for m in report["missing"]] == [copy]  # type: ignore[index]
    printable = tmp_path / "audit.html"
    assert cli("audit", "--report", str(printable)).code == 7
    page = printable.read_text(encoding="utf-8")
    assert "KHÔNG ĐẠT" in page and report["corrupted"][0]["key"] in page and report["missing"][0]["key"] in page  # type: ignore[index]
    fixed = cli("audit", "--repair", "--json")
    assert fixed.code == 0, fixed.stdout
    assert len(fixed.json()["repaired"]) == 2  # type: ignore[index]
    again = cli("audit", "--json")
    assert again.code == 0 and again.json()["ok"] == again.json()["checked"]  # type: ignore[index]


def test_refused_package_leaves_only_the_transfer_record(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    builder = valid_sip()
    builder.dossier["TotalDoc"] = "7"
    run = cli("ingest", str(builder.write_dir(tmp_path)), "--json")
    assert run.code == 2
    assert run.json()["status"] == "rejected"  # type: ignore[index]
    assert "tt02.count.total_doc" in {f["rule"] for f in run.json()["findings"]}  # type: ignore[index]
    stored = (
        [p for p in (archive_home / "store").rglob("*") if p.is_file()] if (archive_home / "store").exists() else []
    )
    assert stored == []
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select status from transfer").fetchall() == [("rejected",)]
        assert db.execute("select count(*) from dossier").fetchone() == (0,)
    assert not any((archive_home / "work").iterdir())


def test_access_regimes_are_enforced_for_show_get_and_search(cli: CliRunner, tmp_path: Path) -> None:
    builder = valid_sip()
    builder.documents[1].values["Mode"] = "Hạn chế"
    assert cli("ingest", str(builder.write_dir(tmp_path)), "--json").code == 0
    restricted = builder.documents[1].values["DocCode"]
    for name, role in (("lan", "archivist"), ("kiem", "auditor"), ("nop", "submitter")):
        assert cli("users", "add", name, "--role", role).code == 0
    assert cli("show", restricted, "--as", "lan").code == 4
    hits = cli("search", "tuyen dung", "--as", "lan", "--json").json()
    assert restricted not in {h["code"] for h in hits["hits"]}  # type: ignore[index]
    assert cli("get", restricted, "-o", str(tmp_path / "x.pdf"), "--as", "lan").code == 4
    assert cli("users", "grant", "lan", "--fonds", "000.00.00.G09", "--access", "Hạn chế").code == 0
    assert cli("show", restricted, "--as", "lan").code == 0
    assert restricted in {h["code"] for h in cli("search", "tuyen dung", "--as", "lan", "--json").json()["hits"]}  # type: ignore[index]
    assert cli("get", restricted, "-o", str(tmp_path / "x.pdf"), "--as", "lan").code == 0
    assert cli("show", restricted, "--as", "kiem").code == 4
    assert cli("search", "tuyen dung", "--as", "nop").code == 4
    assert cli("show", restricted).code == 0  # the local operator is an administrator


def test_receipt_verify_reports_a_lost_object(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    run = cli("ingest", str(valid_sip().write_dir(tmp_path)), "--json")
    assert run.code == 0
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(run.stdout, encoding="utf-8")
    assert cli("receipt", "verify", str(receipt_file)).code == 0
    original = next((archive_home / "store" / "replica").glob("aip-*/representations/rep1/data/QD_1.pdf"))
    original.chmod(0o644)
    original.unlink()
    check = cli("receipt", "verify", str(receipt_file), "--json")
    assert check.code == 7
    data = check.json()
    assert data["signature_ok"] is True  # type: ignore[index]
    assert any("replica" in p and "QD_1.pdf" in p for p in data["problems"])  # type: ignore[index]
