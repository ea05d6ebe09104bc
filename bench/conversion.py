"""Pages per second of PDF/A conversion and of OCR, against the bare tools on the same pages.

Usage: PYTHONPATH=. .venv/bin/python bench/conversion.py [--copies 2] [--scan-pages 6]

Conversion: the born-digital Vietnamese PDFs of the corpus (plus a generated three-page decision),
each repeated `--copies` times, through the archive's path (OCRmyPDF in the warm worker pool, as
the preserve step runs it: conversion alone, then conversion + pikepdf check + text fidelity),
against a bare `gs -dPDFA=2` command per file with the same Ghostscript (one at a time, and as many
at once as the pool has workers).

OCR: `--scan-pages` generated A4 colour scans at 300 dpi in one PDF, OCRed in a warm worker
(Tesseract single-threaded, pages in parallel), against one default Tesseract process (its own
threading) reading the same page images and writing a PDF. The pool is warmed before timing.
Besides wall time, the OCR rows give the CPU seconds each side spent (the worker with its
Tesseract children; the Tesseract process), which the other jobs of a shared machine do not
change much, and the load average before and after. Nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from archive_service.config import Settings
from archive_service.preservation.convert_pdfa import ConversionResult, make_pdfa
from archive_service.preservation.preserve_file import CopyOutcome, CopyRequest, SourceKind, make_copy
from archive_service.preservation.workers import WorkerLost, WorkerPool
from archive_service.tools.ghostscript import find_ghostscript
from tests.fixtures.sip_builder import CORPUS
from tests.fixtures.vietnamese_pdfs import DECISION, FONT, born_digital_pdf, scan_pdf

BORN_DIGITAL = [
    "vietnamese/vbhc__vht507.signed_20250510_124909.pdf",
    "vietnamese/vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf",
    "vietnamese/truclienthong__GUIDE_INSTALL_OPENVPN.SIGNED.pdf",
    "vietnamese/vpcp__HDSD_LICH_HOP.pdf",
    "vietnamese/vietocr3__vietsample1.pdf",
]
WARM_MODULES = ("archive_service.preservation.preserve_file",)


def convert_only(request: CopyRequest) -> ConversionResult:
    """The conversion without the checks (runs in a worker)."""
    return make_pdfa(request.source, request.target, gs=request.gs, ocr=request.digitised, jobs=request.ocr_jobs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=2, help="times each born-digital file is converted")
    parser.add_argument("--scan-pages", type=int, default=6)
    args = parser.parse_args()
    settings = Settings()
    gs = find_ghostscript(settings.tools.ghostscript, settings.tools.cache_dir)
    workers = settings.preservation.workers
    cpus = os.cpu_count() or 1
    print(f"Ghostscript {gs}; {workers} workers; {cpus} CPUs; OCR jobs per conversion {settings.preservation.ocr_jobs}")
    with tempfile.TemporaryDirectory(prefix="bench-conversion-") as folder:
        warm_up = _bench_conversion(Path(folder), gs, workers, args.copies)
        _bench_ocr(Path(folder), gs, settings.preservation.ocr_jobs, args.scan_pages, warm_up)


def _bench_conversion(work: Path, gs: Path, workers: int, copies: int) -> CopyRequest:
    """Print the conversion figures; the request that warms a pool up."""
    sources = _born_digital(work, copies)
    pages = sum(_pages(p) for p in sources)
    requests = [
        CopyRequest(SourceKind.PDF, source, work / "out" / f"{n:03d}.pdf", source.name, False, gs)
        for n, source in enumerate(sources)
    ]
    (work / "out").mkdir()
    print(f"\nConversion: {len(sources)} born-digital PDFs, {pages} pages")
    convert_pool: WorkerPool[CopyRequest, ConversionResult] = WorkerPool(
        convert_only, workers=workers, stall_timeout=3600, warm_modules=WARM_MODULES
    )
    checked_pool: WorkerPool[CopyRequest, CopyOutcome] = WorkerPool(
        make_copy, workers=workers, stall_timeout=3600, warm_modules=WARM_MODULES
    )
    single = replace(requests[-1], target=work / "out" / "single.pdf")
    try:
        cold = _timed(lambda: _all_made(convert_pool.run([single])))
        _warm(convert_pool, requests[-1])
        warm = _timed(lambda: _all_made(convert_pool.run([single])))
        _warm(checked_pool, requests[-1])
        ours = _timed(lambda: _all_made(convert_pool.run(requests)))
        checked = _timed(lambda: _all_made(checked_pool.run(requests)))
    finally:
        convert_pool.close()
        checked_pool.close()
    bare_one = _timed(lambda: _bare_gs(gs, sources, work / "gs1", parallel=1))
    bare_par = _timed(lambda: _bare_gs(gs, sources, work / "gsn", parallel=workers))
    print(f"  one {_pages(single.source)}-page file: {cold:.2f} s on a cold pool (processes start), {warm:.2f} s warm")
    _row("archive conversion (warm pool)", pages, ours)
    _row("archive conversion + pikepdf + text fidelity", pages, checked)
    _row("bare gs -dPDFA=2, one at a time", pages, bare_one)
    _row(f"bare gs -dPDFA=2, {workers} at a time", pages, bare_par)
    print(f"ratio archive conversion / bare gs (one at a time): {bare_one / ours:.2f}x pages per second")
    print(f"ratio archive conversion / bare gs ({workers} at a time): {bare_par / ours:.2f}x pages per second")
    print(f"ratio archive conversion + checks / bare gs ({workers} at a time): {bare_par / checked:.2f}x")
    return requests[-1]


def _bench_ocr(work: Path, gs: Path, ocr_jobs: int, scan_pages: int, warm_up: CopyRequest) -> None:
    images = _scans(work / "scans", scan_pages)
    scan = scan_pdf(work / "scan.pdf", images)
    print(f"\nOCR: {len(images)} A4 colour pages at 300 dpi (vie+eng); load average {_load()}")
    request = CopyRequest(SourceKind.PDF, scan, work / "scan-copy.pdf", scan.name, True, gs, ocr_jobs=ocr_jobs)
    ocr_pool: WorkerPool[CopyRequest | None, ConversionResult | int] = WorkerPool(
        _convert_or_pid, workers=1, stall_timeout=3600, warm_modules=WARM_MODULES
    )
    try:
        _warm(ocr_pool, warm_up)
        worker = ocr_pool.run([None])[0]
        assert isinstance(worker, int)
        cpu_before = _process_cpu(worker)
        ours_ocr = _timed(lambda: _all_made(ocr_pool.run([request])))
        ours_cpu = _process_cpu(worker) - cpu_before
    finally:
        ocr_pool.close()
    children_before = _children_cpu()
    tesseract = _timed(lambda: _one_tesseract(images, work / "tesseract"))
    tesseract_cpu = _children_cpu() - children_before
    _row("archive OCR (pages in parallel, single-threaded Tesseracts)", len(images), ours_ocr, ours_cpu)
    _row("one default Tesseract process", len(images), tesseract, tesseract_cpu)
    print(f"ratio archive OCR / one Tesseract: {tesseract / ours_ocr:.2f}x pages per second")
    print(f"ratio of CPU seconds a page, one Tesseract / archive OCR: {tesseract_cpu / ours_cpu:.2f}x")
    print(f"load average after: {_load()}")


def _convert_or_pid(request: CopyRequest | None) -> ConversionResult | int:
    """The conversion of `request` in a worker, or the worker's process id for None."""
    return os.getpid() if request is None else convert_only(request)


def _process_cpu(pid: int) -> float:
    """CPU seconds of a live process and of the children it has waited for (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def _born_digital(work: Path, copies: int) -> list[Path]:
    originals = [CORPUS / name for name in BORN_DIGITAL if (CORPUS / name).is_file()]
    originals.append(born_digital_pdf(work / "quyet_dinh.pdf", [DECISION, DECISION[3:], DECISION[:4]]))
    sources = []
    for copy in range(copies):
        for original in originals:
            target = work / "in" / f"{copy}-{original.name}"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(original, target)
            sources.append(target)
    return sources


def _pages(path: Path) -> int:
    import pikepdf

    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def _warm(pool: WorkerPool[Any, Any], request: CopyRequest) -> None:
    """Start every worker and run conversions in each, so nothing cold is timed."""
    _all_made(pool.run([replace(request, target=request.target.with_name(f"warm-{n}.pdf")) for n in range(4)]))


def _all_made(results: Sequence[object]) -> None:
    lost = [r for r in results if isinstance(r, WorkerLost)]
    failed = [r for r in results if isinstance(r, CopyOutcome) and r.result is None]
    if lost or failed:
        raise SystemExit(f"conversions failed: {lost} {failed}")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _row(label: str, pages: int, seconds: float, cpu: float | None = None) -> None:
    used = "" if cpu is None else f"  CPU {cpu:6.2f} s ({cpu / pages:.2f} s a page)"
    print(f"  {label:<62} {seconds:7.2f} s  {pages / seconds:7.2f} pages/s{used}")


def _bare_gs(gs: Path, sources: list[Path], out: Path, parallel: int) -> None:
    out.mkdir()

    def one(source: Path) -> None:
        subprocess.run(
            [
                str(gs),
                "-dPDFA=2",
                "-dBATCH",
                "-dNOPAUSE",
                "-dQUIET",
                "-dSAFER",
                "-sDEVICE=pdfwrite",
                "-dPDFACompatibilityPolicy=1",
                "-sColorConversionStrategy=RGB",
                f"-sOutputFile={out / source.name}",
                str(source),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    with ThreadPoolExecutor(parallel) as executor:
        list(executor.map(one, sources))


def _scans(folder: Path, count: int) -> list[Path]:
    """A4 colour pages at 300 dpi, each with the decision's lines repeated down the page."""
    folder.mkdir()
    font = ImageFont.truetype(str(FONT), size=42)
    images = []
    for number in range(count):
        page = Image.new("RGB", (2480, 3508), (250, 246, 235))
        draw = ImageDraw.Draw(page)
        y = 200
        while y < 3300:
            for line in DECISION:
                draw.text((200, y), f"{line} ({number + 1})", fill=(20, 20, 60), font=font)
                y += 70
        path = folder / f"page-{number:02d}.png"
        page.save(path, dpi=(300, 300))
        images.append(path)
    return images


def _one_tesseract(images: list[Path], out: Path) -> None:
    listing = out.with_suffix(".txt")
    listing.write_text("\n".join(str(p) for p in images) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    subprocess.run(
        ["tesseract", str(listing), str(out), "-l", "vie+eng", "pdf"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    main()
