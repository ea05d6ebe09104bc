"""`archive ingest` with the probes: what the catalog records (PRONOM, virus check) and what it refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from archive_service.config import ToolSettings
from archive_service.tools.pronom import siegfried_binary
from tests.fixtures import media
from tests.fixtures.clamd import EICAR, running_clamd
from tests.fixtures.cli import CliRunner
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import DataFile, DocSpec, SipBuilder, blank_pdf, default_document, valid_sip

pytestmark = pytest.mark.slow


def _package(files: list[DataFile]) -> SipBuilder:
    builder = valid_sip((1,))
    builder.documents = [DocSpec(name="1", values=default_document(1, 1), files=files)]
    return builder


def _events(home: Path, event_type: str) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        return db.execute(
            "select object_ref, outcome, agent, detail from event where event_type = ? order by object_ref",
            (event_type,),
        ).fetchall()


def test_an_ingested_recording_carries_its_pronom_format_and_an_explicit_not_scanned(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    if siegfried_binary(ToolSettings()) is None:
        missing("siegfried (sf)", "bash scripts/services/siegfried.sh install")
    mp3 = media.audio(tmp_path / "media", 128)
    run = cli("ingest", str(_package([DataFile("ghi_am.mp3", mp3, "audio/mpeg")]).write_dir(tmp_path)), "--json")
    assert run.code == 0, run.stdout + run.stderr
    (identified,) = [e for e in _events(archive_home, "format identification") if e[0].endswith("ghi_am.mp3")]
    assert identified[2].startswith("siegfried 1.11.") and "fmt/134" in identified[3]
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select puid from file where name like '%ghi_am.mp3'").fetchall() == [("fmt/134",)]
        (output,) = db.execute("select output from transfer_step where name = 'identify'").fetchone()
    (recorded,) = json.loads(output)["formats"].values()
    assert recorded["puid"] == "fmt/134" and recorded["format_name"] == "MPEG 1/2 Audio Layer 3"
    assert recorded["identified_by"].startswith("siegfried 1.11.") and "byte match" in recorded["basis"]
    scans = _events(archive_home, "virus check")
    assert scans and {(outcome, "not scanned" in detail) for _, outcome, _, detail in scans} == {
        ("not performed", True)
    }


def test_an_infected_package_is_refused_and_nothing_is_stored(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    package = _package([DataFile("QD_1.pdf", blank_pdf(1)), DataFile("ghi_chu.txt", EICAR, "text/plain")])
    with running_clamd(tmp_path / "clamd") as sock:
        run = cli("ingest", str(package.write_dir(tmp_path)), "--json", env={"ARCHIVE_CLAMAV": str(sock)})
    assert run.code == 2, run.stdout + run.stderr
    assert run.json()["status"] == "rejected"  # type: ignore[index]
    assert {f["rule"] for f in run.json()["findings"] if f["severity"] == "error"} == {"file.virus"}  # type: ignore[index]
    store = archive_home / "store"
    assert not store.exists() or [p for p in store.rglob("*") if p.is_file()] == []
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select count(*) from dossier").fetchone() == (0,)


def test_a_clean_package_is_stored_with_the_scanners_virus_check(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    package = _package([DataFile("ghi_chu.txt", "Ghi chú".encode(), "text/plain")])
    with running_clamd(tmp_path / "clamd") as sock:
        run = cli("ingest", str(package.write_dir(tmp_path)), "--json", env={"ARCHIVE_CLAMAV": str(sock)})
    assert run.code == 0, run.stdout + run.stderr
    scans = _events(archive_home, "virus check")
    assert scans and {(outcome, agent.startswith("ClamAV ")) for _, outcome, agent, _ in scans} == {("success", True)}


def test_a_configured_scanner_that_is_down_leaves_the_transfer_failed_and_retryable(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    package = _package([DataFile("ghi_chu.txt", "Ghi chú".encode(), "text/plain")])
    run = cli("ingest", str(package.write_dir(tmp_path)), "--json", env={"ARCHIVE_CLAMAV": str(tmp_path / "gone.sock")})
    assert run.code == 6, run.stdout + run.stderr
    assert "ClamAV" in run.stdout + run.stderr
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select status, retryable from transfer").fetchall() == [("failed", 1)]
        assert db.execute("select count(*) from dossier").fetchone() == (0,)
