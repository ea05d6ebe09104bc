"""Seconds per page of each intake stage against the bare tools, and peak memory of a 1 GB ingest.

Usage: PYTHONPATH=. .venv/bin/python bench/intake.py [--rounds 3] [--scan-pages 4] [--big-mb 1024]
       [--small-mb 100] [--verapdf]

Stages: a dossier of born-digital Vietnamese PDFs (the two signed letters of the corpus, its 13-page
user guide and a generated three-page decision, signed as the rules want) and a dossier of generated
A4 colour scans at 300 dpi (recorded "Số hóa", so OCRed) are ingested in this process through
`archive_service.intake.ingest` into a throw-away archive with the default backends (SQLite catalog,
embedded search, two local folder stores), after a warm-up transfer has started the conversion
workers. A step's clock runs from the pipeline's progress callback (called as the step starts) to
the `finished_at` of its transfer_step row; unpack's from the call. The pipeline is not changed.

Bare tools, on the same original files, one file at a time: the `gs -dPDFA=2` command of
bench/conversion.py (the archive's Ghostscript), `pikepdf.pdfa.validate_written` on its output, and
the pipeline's text extraction (PDFium) of the output. Pipeline and bare tools alternate for
`--rounds` rounds (each round ingests new dossiers); the fastest round of each is printed.

Memory: `archive ingest --json` of a stored ZIP holding one MP3 of `--small-mb`, then of
`--big-mb` (silent MPEG frames carrying random bytes: incompressible, valid, kept as original only),
each in a child process: its peak RSS (VmHWM, read every 50 ms until it exits; the tools it runs,
siegfried and MediaInfo, are processes of their own, not counted). wait4's ru_maxrss is not used:
it would report this larger bench process, whose memory the child's exec records. Nothing is timed
in the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from pikepdf.pdfa import validate_written
from sqlalchemy import select

from archive_service.catalog.models import Transfer, TransferStep
from archive_service.config import PreservationSettings, Settings
from archive_service.intake import ingest
from archive_service.pipeline.runner import STEPS
from archive_service.preservation.verify_pdfa import extract_text
from archive_service.tools.ghostscript import find_ghostscript
from archive_service.wiring import Services, build_services
from bench.conversion import BORN_DIGITAL, _bare_gs, _pages, _scans, _timed
from tests.fixtures.numbered_sips import renumbered
from tests.fixtures.pki import ORGAN, sign_as_organisation_and_person, sign_pdf, signer
from tests.fixtures.sip_builder import (
    CORPUS,
    DataFile,
    DocSpec,
    SipBuilder,
    default_document,
    refresh_checksums,
    sip_from_pdfs,
    valid_sip,
    zip_folder,
)
from tests.fixtures.vietnamese_pdfs import DECISION, born_digital_pdf, scan_pdf

ARCHIVE = Path(sys.executable).with_name("archive")
QUANG_NGAI = "Ủy ban nhân dân tỉnh Quảng Ngãi"  # the organisation that signed the corpus letters
SIGNED_LETTERS = [name for name in BORN_DIGITAL if ".signed_" in name]
GUIDE = "vietnamese/vpcp__HDSD_LICH_HOP.pdf"
SCAN_STAMP = (400.0, 760.0, 580.0, 830.0)  # the digitising organisation's visible signature, top right
PAGES_PER_SCAN = 2
STAGES = {
    "unpack": "unpack (stage + SHA-256)",
    "validate": "validate (METS, rules, signatures)",
    "identify": "identify (libmagic, siegfried)",
    "preserve": "preserve (convert + verify)",
    "build_aip": "build_aip",
    "store": "store (two copies, verified)",
    "catalog": "catalog",
    "index": "index",
}
# MPEG-1 Layer III, no CRC, 320 kbit/s, 44.1 kHz, mono, no padding: 144 * 320000 // 44100 bytes a
# frame. Zero side information makes every frame silent; the rest of it is ancillary data.
MP3_HEADER = bytes([0xFF, 0xFB, 0xE0, 0xC4])
MP3_FRAME = 1044
MP3_SIDE_INFO = 17
RANDOM_PER_FRAME = MP3_FRAME - len(MP3_HEADER) - MP3_SIDE_INFO


@dataclass
class StageClock:
    """The pipeline's progress callback: when each step started."""

    started: dict[str, datetime] = field(default_factory=dict)

    def __call__(self, step: str, number: int, total: int) -> None:
        self.started[step] = datetime.now(UTC)


@dataclass(frozen=True)
class Intake:
    pages: int
    whole: float
    stages: dict[str, float]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scan-pages", type=int, default=4, help="generated scan pages (two per document)")
    parser.add_argument("--big-mb", type=int, default=1024, help="size of the large package (0: no memory run)")
    parser.add_argument("--small-mb", type=int, default=100, help="size of the package it is compared with")
    parser.add_argument("--verapdf", action="store_true", help="also validate the copies with veraPDF")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of pipeline and bare tools; best shown")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 300:
        parser.error("--rounds must be between 1 and 300 (each round's dossiers are numbered apart)")
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # pikepdf's font checks: "too much 'hmtx' table data"
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        work = Path(folder)
        settings = Settings(home=work / "home", preservation=PreservationSettings(verapdf=args.verapdf))
        gs = find_ghostscript(settings.tools.ghostscript, settings.tools.cache_dir)
        print(
            f"{os.cpu_count()} CPUs; {settings.preservation.workers} conversion workers; veraPDF "
            f"{'on' if args.verapdf else 'off'}; SQLite catalog, embedded search, two local folder stores"
        )
        born = _born_digital(work / "born")
        scans = _scanned(work / "scans", args.scan_pages)
        services = build_services(settings)
        born_runs, scan_runs, born_bare, scan_bare = [], [], [], []
        try:
            _ingest(services, renumbered(valid_sip((1, 1, 1, 1)), 90), work / "warm-up")
            for n in range(args.rounds):  # alternating, so that the machine's load weighs on both sides
                born_runs.append(_measured(services, _born_digital_sip(born, 100 + n), born, work / f"born-{n}"))
                born_bare.append(_bare_tools(gs, born, work / f"bare-born-{n}"))
                scan_runs.append(_measured(services, _scanned_sip(scans, 500 + n), scans, work / f"scan-{n}"))
                scan_bare.append(_bare_tools(gs, scans, work / f"bare-scans-{n}"))
        finally:
            services.close()
        born_best, scan_best = min(born_runs, key=_whole), min(scan_runs, key=_whole)
        _print_stages(born_best, scan_best)
        _print_bare(born_best, _fastest(born_bare), scan_best, _fastest(scan_bare))
    if args.big_mb > 0:
        _bench_memory(args.small_mb, args.big_mb)


# -- the dossiers ---------------------------------------------------------------------------------


def _born_digital(folder: Path) -> list[Path]:
    """The signed letters as they are; the guide and a generated decision signed by ORGAN."""
    folder.mkdir()
    files = []
    for name in SIGNED_LETTERS:
        files.append(folder / Path(name).name)
        shutil.copyfile(CORPUS / name, files[-1])
    decision = born_digital_pdf(folder / "quyet_dinh.pdf", [DECISION, DECISION[3:], DECISION[:4]])
    for original in (CORPUS / GUIDE, decision):
        target = folder / original.name
        target.write_bytes(sign_as_organisation_and_person(original.read_bytes()))
        files.append(target)
    return files


def _born_digital_sip(files: list[Path], number: int) -> SipBuilder:
    builder = sip_from_pdfs(files)
    for document in builder.documents[: len(SIGNED_LETTERS)]:
        document.values["OrganName"] = QUANG_NGAI
    return renumbered(builder, number)


def _scanned(folder: Path, pages: int) -> list[Path]:
    """PDF 1.4 scans of PAGES_PER_SCAN pages each, signed visibly by the digitising organisation."""
    images = _scans(folder, pages)
    files = []
    for start in range(0, len(images), PAGES_PER_SCAN):
        path = scan_pdf(folder / f"ban_quet_{start // PAGES_PER_SCAN + 1}.pdf", images[start : start + PAGES_PER_SCAN])
        with pikepdf.open(io.BytesIO(path.read_bytes())) as pdf:
            resaved = io.BytesIO()
            pdf.save(resaved, min_version="1.4")
        path.write_bytes(sign_pdf(resaved.getvalue(), signer(ORGAN, ORGAN), "SoHoa", box=SCAN_STAMP))
        files.append(path)
    return files


def _scanned_sip(files: list[Path], number: int) -> SipBuilder:
    builder = sip_from_pdfs(files)
    for document in builder.documents:
        document.values["ConfidenceLevel"] = "Số hóa"
    return renumbered(builder, number)


# -- stage timings ----------------------------------------------------------------------------------


def _ingest(services: Services, builder: SipBuilder, folder: Path, progress: StageClock | None = None) -> Transfer:
    package = builder.write_zip(folder)
    transfer = ingest(services, package, submitter="bench", progress=progress)
    if transfer.status != "accepted":
        raise SystemExit(f"{package.name} ended {transfer.status}: {json.dumps(transfer.findings, ensure_ascii=False)}")
    return transfer


def _measured(services: Services, builder: SipBuilder, originals: list[Path], folder: Path) -> Intake:
    clock = StageClock()
    began = datetime.now(UTC)
    start = time.perf_counter()
    transfer = _ingest(services, builder, folder, clock)
    whole = time.perf_counter() - start
    with services.sessions() as session:
        rows = session.scalars(select(TransferStep).where(TransferStep.transfer_id == transfer.id))
        finished = {row.name: row.finished_at for row in rows if row.finished_at is not None}
    stages = {}
    for step in STEPS:
        started = began if step.name == "unpack" else clock.started[step.name]
        stages[step.name] = (finished[step.name] - started).total_seconds()
    return Intake(pages=sum(_pages(p) for p in originals), whole=whole, stages=stages)


def _whole(intake: Intake) -> float:
    return intake.whole


def _print_stages(born: Intake, scans: Intake) -> None:
    print(f"\nIntake, seconds per page (fastest round): born-digital {born.pages} pages, scanned {scans.pages} (OCRed)")
    _row("stage", "born-digital", "scanned")
    for name, label in STAGES.items():
        _row(label, born.stages[name] / born.pages, scans.stages[name] / scans.pages)
    other_born = born.whole - sum(born.stages.values())
    other_scans = scans.whole - sum(scans.stages.values())
    _row("(transfer records, lease, clean-up)", other_born / born.pages, other_scans / scans.pages)
    _row("whole pipeline", born.whole / born.pages, scans.whole / scans.pages)
    _row("whole pipeline, seconds in all", born.whole, scans.whole)


def _row(label: str, born: float | str, scans: float | str) -> None:
    cells = [f"{v:14.3f}" if isinstance(v, float) else f"{v:>14}" for v in (born, scans)]
    print(f"  {label:<40} {cells[0]} {cells[1]}")


# -- bare tools -------------------------------------------------------------------------------------


def _bare_tools(gs: Path, originals: list[Path], out: Path) -> dict[str, float]:
    """Seconds of each bare tool over all the files, one file at a time."""
    copies = [out / p.name for p in originals]
    return {
        "gs -dPDFA=2": _timed(lambda: _bare_gs(gs, originals, out, parallel=1)),
        "pikepdf.pdfa.validate_written": _timed(lambda: [validate_written(p, "2b") for p in copies]),
        "text extraction (PDFium)": _timed(lambda: [extract_text(p) for p in copies]),
    }


def _fastest(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each tool's best time over the rounds."""
    return {tool: min(r[tool] for r in rounds) for tool in rounds[0]}


def _print_bare(born: Intake, born_bare: dict[str, float], scans: Intake, scan_bare: dict[str, float]) -> None:
    print("\nBare tools on the same files, seconds per page (one file at a time, fastest round)")
    _row("tool", "born-digital", "scanned")
    for tool, seconds in born_bare.items():
        _row(tool, seconds / born.pages, scan_bare[tool] / scans.pages)
    born_sum, scan_sum = sum(born_bare.values()), sum(scan_bare.values())
    _row("sum of the bare tools", born_sum / born.pages, scan_sum / scans.pages)
    print(f"ratio whole pipeline / sum of bare tools, born-digital: {born.whole / born_sum:.2f}x (goal <= 1.5x)")
    print(f"ratio whole pipeline / sum of bare tools, scanned: {scans.whole / scan_sum:.2f}x (bare tools: no OCR)")


# -- memory -----------------------------------------------------------------------------------------


def _bench_memory(small_mb: int, big_mb: int) -> None:
    print("\nMemory of `archive ingest` (one MP3 in a stored ZIP, kept as original only)")
    print(f"  {'package':>10} {'peak RSS':>12} {'wall':>9}")
    peaks = []
    for megabytes in (small_mb, big_mb):
        with tempfile.TemporaryDirectory(prefix="bench-intake-memory-") as folder:
            package = _audio_package(Path(folder), megabytes)
            size = package.stat().st_size
            peak, seconds = _peak_rss(package, Path(folder) / "home")
        peaks.append(peak)
        print(f"  {size / 2**20:7.0f} MB {peak / 2**20:9.0f} MB {seconds:7.1f} s")
    growth = peaks[1] / peaks[0]
    print(f"peak RSS, {big_mb} MB / {small_mb} MB package: {growth:.2f}x for {big_mb / small_mb:.1f}x the bytes")


def _audio_package(folder: Path, megabytes: int) -> Path:
    builder = valid_sip((1,))
    builder.documents = [DocSpec("1", default_document(1, 1), [DataFile("ghi_am.mp3", b"", "audio/mpeg")])]
    root = renumbered(builder, 93).write_dir(folder / "src")
    _write_mp3(root / "representations/rep1/data/ghi_am.mp3", megabytes * 2**20)
    refresh_checksums(root)
    package = zip_folder(root, folder / f"{root.name}.zip", zipfile.ZIP_STORED)
    shutil.rmtree(folder / "src")
    return package


def _write_mp3(path: Path, size: int) -> None:
    """Silent frames whose ancillary bytes are random, about `size` bytes in all."""
    header = MP3_HEADER + bytes(MP3_SIDE_INFO)
    remaining = max(1, size // MP3_FRAME)
    with path.open("wb") as out:
        while remaining:
            frames = min(remaining, 1024)
            noise = os.urandom(RANDOM_PER_FRAME * frames)
            payloads = (noise[n * RANDOM_PER_FRAME : (n + 1) * RANDOM_PER_FRAME] for n in range(frames))
            out.write(b"".join(header + payload for payload in payloads))
            remaining -= frames


def _peak_rss(package: Path, home: Path) -> tuple[int, float]:
    """The ingest process's peak RSS in bytes, and its wall seconds."""
    env = {**os.environ, "ARCHIVE_HOME": str(home)}
    start = time.perf_counter()
    with (home.parent / "ingest.json").open("wb") as out, (home.parent / "ingest.log").open("wb") as log:
        process = subprocess.Popen([str(ARCHIVE), "ingest", str(package), "--json"], env=env, stdout=out, stderr=log)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _vm_hwm(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    report = (home.parent / "ingest.json").read_text(encoding="utf-8")
    if process.returncode != 0 or json.loads(report).get("status") != "accepted":
        raise SystemExit(f"archive ingest failed: {report}\n{(home.parent / 'ingest.log').read_text()[-3000:]}")
    return peak, seconds


def _vm_hwm(pid: int) -> int:
    """The process's peak resident set so far, in bytes (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
