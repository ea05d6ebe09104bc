"""The preserve step in production: veraPDF on (ARCHIVE_PRESERVATION__VERAPDF=true), a conversion
worker that dies, a Ghostscript that is too old, and a copy whose text differs from the original.

With the setting on, every copy the preserve step makes is validated by the real veraPDF in one run:
a compliant copy gets a validation event, and a copy veraPDF rejects gives pres.pdfa.failed naming
veraPDF's rule ids (which leaves the transfer in `failed`, as every pres.pdfa.failed does). A
conversion worker killed with SIGKILL (the `convert` fault point) gives a clear pres.pdfa.failed
and the command returns, with nothing stored. A Ghostscript below 10.03 stops intake with the
command that installs ours.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pikepdf
import pytest

from archive_service.config import PreservationSettings, Settings
from archive_service.errors import MissingDependencyError
from archive_service.pipeline.steps.preserve import verapdf_check
from archive_service.tools.verapdf import find_verapdf
from tests.fixtures.cli import CliRunner
from tests.fixtures.pki import sign_as_organisation_and_person
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS, DataFile, SipBuilder, valid_sip

pytestmark = pytest.mark.slow

VERAPDF_ON = {"ARCHIVE_PRESERVATION__VERAPDF": "true"}
JPX = CORPUS / "wild/pikepdf__pike-jp2.pdf"  # a bare JPEG 2000 codestream, which pikepdf does not judge


@pytest.fixture(scope="module", autouse=True)
def verapdf() -> None:
    try:
        find_verapdf()
    except MissingDependencyError as exc:
        missing(exc.message_en, "bash scripts/services/verapdf.sh")
    if not JPX.is_file():
        missing(f"the shared test corpus is not at {CORPUS}")


def _with_jpx_document() -> SipBuilder:
    """A valid dossier whose second document is the JPEG 2000 PDF (PDF 1.4, signed as required)."""
    builder = valid_sip(pages=(1, 1))
    with pikepdf.open(JPX) as pdf:
        resaved = io.BytesIO()
        pdf.save(resaved, min_version="1.4")
    builder.documents[1].files = [DataFile("anh_jp2.pdf", sign_as_organisation_and_person(resaved.getvalue()))]
    return builder


def _stored_files(home: Path) -> list[Path]:
    return [p for p in (home / "store").rglob("*") if p.is_file()]


def test_a_copy_pikepdf_cannot_judge_is_proven_by_verapdf_and_stored(cli: CliRunner, tmp_path: Path) -> None:
    """pikepdf answers `not_checked` for the JPEG 2000 copy; with the setting on, veraPDF decides."""
    builder = _with_jpx_document()
    run = cli("ingest", str(builder.write_dir(tmp_path)), "--json", env=VERAPDF_ON)
    assert run.code == 0, run.stdout + run.stderr
    assert run.json()["status"] == "accepted"  # type: ignore[index]
    shown = cli("show", builder.dossier["FileCode"], "--json")
    assert shown.code == 0, shown.stderr
    events = shown.json()["events"]  # type: ignore[index]
    validated = [e for e in events if e["type"] == "validation" and "veraPDF" in e["detail"]]
    assert len(validated) == len(builder.documents) == 2, events  # one per copy, the JPEG 2000 one included
    assert all("compliant with PDF/A-2B" in e["detail"] for e in validated)
    assert all(e["agent"].startswith("veraPDF 1.") for e in validated)


def test_a_copy_verapdf_rejects_gives_pres_pdfa_failed_with_its_rule_ids() -> None:
    """The check the preserve step runs with the setting on, on veraPDF's own failing and passing
    PDF/A-2b test files (no converter we run produces a failing copy any more)."""
    failing = CORPUS / "pdfa/PDF_A-2b__6.2.10_Transparency__6-2-10-t01-fail-a.pdf"
    passing = CORPUS / "pdfa/PDF_A-2b__6.2.10_Transparency__6-2-10-t01-pass-b.pdf"
    settings = Settings(preservation=PreservationSettings(verapdf=True))
    copies = [("representations/rep1/data/a.pdf", failing), ("representations/rep1/data/b.pdf", passing)]
    failures, events = verapdf_check(settings, copies)
    assert [(f.rule, f.path, f.severity) for f in failures] == [
        ("pres.pdfa.failed", "representations/rep1/data/a.pdf", "error")
    ]
    assert "veraPDF finds the copy not compliant with PDF/A-2B" in failures[0].message_en
    assert "6.2.10-2" in failures[0].message_en
    assert "theo veraPDF (quy tắc 6.2.10-2" in failures[0].message_vi
    assert [(e.event_type, e.objects) for e in events] == [("validation", ("representations/rep1/data/b.pdf",))]
    off = Settings(preservation=PreservationSettings(verapdf=False))
    assert verapdf_check(off, copies) == ([], [])


def test_a_killed_conversion_worker_fails_the_transfer_clearly_and_does_not_hang(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    run = cli(
        "ingest",
        str(valid_sip(pages=(1,)).write_dir(tmp_path)),
        "--json",
        env={"ARCHIVE_FAULT_KILL_AT": "convert"},
        timeout=300,
    )
    assert time.monotonic() - started < 240
    assert run.code == 10, run.stdout + run.stderr
    data = run.json()
    assert data["status"] == "failed"  # type: ignore[index]
    [error] = [f for f in data["findings"] if f["severity"] == "error"]  # type: ignore[index]
    assert error["rule"] == "pres.pdfa.failed"
    assert "the conversion process stopped abruptly" in error["message_en"]
    assert "dừng đột ngột" in error["message_vi"]
    assert _stored_files(archive_home) == []


def test_an_old_ghostscript_is_refused_with_the_install_command(cli: CliRunner, tmp_path: Path) -> None:
    """A configured Ghostscript below 10.03 (here a script answering like Debian's 10.0.0) stops intake."""
    old = tmp_path / "debian" / "gs"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 10.0.0\n")
    old.chmod(0o755)
    run = cli(
        "ingest",
        str(valid_sip(pages=(1,)).write_dir(tmp_path / "pkg")),
        "--json",
        env={"ARCHIVE_TOOLS__GHOSTSCRIPT": str(old)},
    )
    assert run.code == 3, run.stdout + run.stderr
    output = run.stdout + run.stderr
    assert "Ghostscript 10.0.0" in output and "10.03" in output
    assert "bash scripts/install-system-deps.sh" in output


def test_a_copy_whose_text_differs_fails_the_transfer_with_text_fidelity(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    """A scan's OCR layer whose words Ghostscript's rewrite puts in another order (corpus
    pikepdf__jbig2global.pdf): the copy is not stored, and the finding shows both texts."""
    builder = valid_sip(pages=(1,))
    with pikepdf.open(CORPUS / "wild/pikepdf__jbig2global.pdf") as pdf:
        resaved = io.BytesIO()
        pdf.save(resaved, min_version="1.4")
    builder.documents[0].files = [DataFile("cong_thuc.pdf", sign_as_organisation_and_person(resaved.getvalue()))]
    run = cli("ingest", str(builder.write_dir(tmp_path)), "--json")
    assert run.code == 10, run.stdout + run.stderr
    data = run.json()
    assert data["status"] == "failed"  # type: ignore[index]
    [error] = [f for f in data["findings"] if f["severity"] == "error"]  # type: ignore[index]
    assert error["rule"] == "pres.pdfa.text_fidelity"
    assert "the text differs from word 1 on page 1" in error["message_en"]
    assert "bản gốc «Linzensoep" in error["message_vi"]
    assert _stored_files(archive_home) == []
