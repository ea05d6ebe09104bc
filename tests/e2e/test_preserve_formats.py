"""Preservation copies of non-PDF originals through the CLI: a DOCX, a PNG scan and a spreadsheet.

Needs LibreOffice, Tesseract with Vietnamese and the cached Ghostscript: under CI=true a missing
one fails with the install command, elsewhere the module is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from archive_service.config import Settings
from archive_service.errors import MissingDependencyError
from archive_service.preservation.convert_office import find_soffice
from archive_service.preservation.verify_pdfa import check_pdfa, extract_text
from archive_service.tools.ghostscript import find_ghostscript
from tests.fixtures.cli import CliRunner, run_archive
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS, DataFile, DocSpec, SipBuilder, default_document

pytestmark = pytest.mark.slow

DOCX = CORPUS / "vietnamese/vpcp__HDSD_VAN_THU_BAN_HANH_VAN_BAN.docx"
SCAN = CORPUS / "vietnamese/vietocr3__vietsample2.png"
SHEET = CORPUS / "office/odfpy__spreadsheet-with-macro.ods"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"


@pytest.fixture(scope="module")
def tools() -> None:
    """LibreOffice and Ghostscript ≥ 10.03 must be there (Tesseract is checked by the conversion)."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        missing(f"the shared test corpus is not at {CORPUS}")
    settings = Settings().tools
    try:
        find_soffice()
        find_ghostscript(settings.ghostscript, settings.cache_dir)
    except MissingDependencyError as exc:
        missing(exc.message_en)


@pytest.fixture(scope="module")
def package(tools: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[SipBuilder, Path]:
    builder = SipBuilder()
    born_digital = default_document(1, 1)
    scan = default_document(2, 1)
    scan["ConfidenceLevel"] = "Số hóa"
    sheet = default_document(3, 1)
    builder.documents = [
        DocSpec("1", born_digital, [DataFile("QD_15.docx", DOCX.read_bytes(), DOCX_MIME)]),
        DocSpec("2", scan, [DataFile("QD_16.png", SCAN.read_bytes(), "image/png")]),
        DocSpec("3", sheet, [DataFile("BangKe_17.ods", SHEET.read_bytes(), ODS_MIME)]),
    ]
    builder.dossier["TotalDoc"] = "3"
    builder.dossier["PageNumber"] = "3"
    return builder, builder.write_zip(tmp_path_factory.mktemp("pkg"))


@pytest.fixture(scope="module")
def ingested(package: tuple[SipBuilder, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    home = tmp_path_factory.mktemp("home")
    run = run_archive(home, "ingest", str(package[1]), "--json", timeout=900)
    assert run.code == 0, run.stdout + run.stderr
    return home, json.loads(run.stdout)


@pytest.fixture
def on_ingested(ingested: tuple[Path, Any], cli: CliRunner) -> CliRunner:
    home = ingested[0]
    return lambda *args, **kw: cli(*args, env={"ARCHIVE_HOME": str(home)}, **kw)


def _files(receipt: Any, code: str) -> dict[str, str]:
    document = next(d for d in receipt["documents"] if d["code"] == code)
    return {f["name"]: f["role"] for f in document["files"]}


def test_receipt_lists_a_copy_for_the_docx_and_the_scan_but_not_the_spreadsheet(
    ingested: tuple[Path, Any],
) -> None:
    receipt = ingested[1]
    assert receipt["status"] == "accepted"
    assert _files(receipt, "000.00.00.G09.2019.0015") == {"QD_15.docx": "original", "QD_15.docx.pdf": "preservation"}
    assert _files(receipt, "000.00.00.G09.2019.0016") == {"QD_16.png": "original", "QD_16.png.pdf": "preservation"}
    assert _files(receipt, "000.00.00.G09.2019.0017") == {"BangKe_17.ods": "original"}
    copies = [f for d in receipt["documents"] for f in d["files"] if f["role"] == "preservation"]
    assert {c["puid"] for c in copies} == {"fmt/477"}  # PDF/A-2b
    assert "pres.ocr.confidence" not in {f["rule"] for f in receipt["findings"]}  # the scan OCRs well


@pytest.mark.parametrize(
    ("code", "words"),
    [("000.00.00.G09.2019.0015", "văn bản"), ("000.00.00.G09.2019.0016", "Hằng năm cứ vào cuối thu")],
)
def test_get_preservation_returns_a_pdfa_with_the_text(
    on_ingested: CliRunner, tmp_path: Path, code: str, words: str
) -> None:
    copy = tmp_path / "copy.pdf"
    run = on_ingested("get", code, "--preservation", "-o", str(copy))
    assert run.code == 0, run.stderr
    check = check_pdfa(copy)
    assert check.verdict in ("pass", "not_checked"), check.findings
    assert check.conformance == "PDF/A-2B"
    assert words in " ".join(extract_text(copy).split())


def test_the_spreadsheet_keeps_its_original_only(on_ingested: CliRunner, tmp_path: Path) -> None:
    code = "000.00.00.G09.2019.0017"
    assert on_ingested("get", code, "--preservation", "-o", str(tmp_path / "x.pdf")).code == 4
    shown = on_ingested("show", code, "--json")
    assert shown.code == 0, shown.stderr
    events = json.loads(shown.stdout)["events"]
    assert any(e["type"] == "migration" and e["outcome"] == "not applicable" for e in events), events
