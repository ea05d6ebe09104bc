"""Make the PDF/A-2 preservation copy of a PDF with OCRmyPDF's Python API and our Ghostscript.

OCRmyPDF runs `gs` (and `tesseract`) as child processes found on PATH and offers no option for
the Ghostscript path, so for the length of a conversion this process's PATH starts with the folder
of the checked Ghostscript (see `_gs_folder`), and OMP_THREAD_LIMIT=1 keeps each Tesseract
single-threaded (OCRmyPDF parallelises by page). Because PATH, logging and `sys.stderr` are
process-wide, conversions in one process run one at a time; the pipeline converts independent
documents in parallel in the warm worker processes of `workers.py`.

Born-digital text is never re-OCRed (`mode="skip"`); without `ocr` no page is rasterised and no
OCR engine runs. OCRmyPDF's lossless optimisation (`optimize=1`) is kept: it costs ~0.03 s a
file, and its image deduplication lets pikepdf approve more copies without veraPDF. Signatures
are invalidated on purpose: the signed original is kept bit for bit, the copy is a derivative.
Pages to OCR are rasterised with PDFium in this process (no Ghostscript start, PNG decode and
re-encode per page: about a seventh of the CPU time of an OCRed page); verify_pdfa takes the same
PDFium lock as OCRmyPDF's rasteriser, so PDFium is never entered by two threads at once. What
Ghostscript's PDF/A output still lacks (names of optional content configurations, appearances of
annotations, DefaultCMYK) is added by `pdfa_fixes.complete_pdfa`.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ocrmypdf
import pikepdf
from ocrmypdf import exceptions as ocr_errors

from archive_service.errors import ConversionFailedError, MissingDependencyError
from archive_service.preservation.pdfa_fixes import complete_pdfa
from archive_service.preservation.verify_pdfa import (
    PdfTextError,
    check_pdfa,
    page_texts,
    pdfa_claim,
)
from archive_service.tools.ghostscript import INSTALL_COMMAND, check_ghostscript

CONVERTED = "converted"
SKIPPED_ALREADY_PDFA2 = "skipped: already PDF/A-2"
MAX_WARNINGS = 50
MAX_MESSAGE = 500

_CONVERSION_LOCK = threading.Lock()
# Without OCR, "process" only a page after the last one: OCRmyPDF then neither analyses nor
# rasterises any page (a 300 dpi scan page costs ~1.5 s for nothing) and only makes the PDF/A.
_NO_PAGE = "999999999"

# OCRmyPDF's errors, most specific first, with the reason a user is given.
_REASONS: tuple[tuple[type[Exception], str, str], ...] = (
    (
        ocr_errors.EncryptedPdfError,
        "tệp PDF được mã hóa bằng mật khẩu",
        "the PDF is encrypted with a password",
    ),
    (
        ocr_errors.NonEmbeddedFontsError,
        "tệp PDF dùng phông CID không nhúng; chuyển sang PDF/A sẽ làm hỏng chữ",
        "the PDF uses non-embedded CID fonts; converting it to PDF/A would corrupt its text",
    ),
    (
        ocr_errors.DigitalSignatureError,
        "tệp PDF có chữ ký số",
        "the PDF is digitally signed",
    ),
    (
        ocr_errors.PriorOcrFoundError,
        "tệp PDF đã có lớp chữ",
        "the PDF already has a text layer",
    ),
    (
        ocr_errors.ColorConversionNeededError,
        "tệp PDF có không gian màu không biểu diễn được trong PDF/A",
        "the PDF has a colour space PDF/A cannot represent",
    ),
    (
        ocr_errors.UnsupportedImageFormatError,
        "tệp không phải PDF hay ảnh đọc được",
        "the file is not a readable PDF or image",
    ),
    (
        ocr_errors.DpiError,
        "ảnh không có độ phân giải hợp lý",
        "the image has no credible resolution",
    ),
    (
        ocr_errors.InputFileError,
        "tệp PDF hỏng hoặc không đọc được",
        "the PDF is damaged or cannot be read",
    ),
    (
        ocr_errors.PdfaConversionFailedError,
        "không tạo được tệp PDF/A hợp lệ",
        "no valid PDF/A file could be produced",
    ),
    (
        ocr_errors.SubprocessOutputError,
        "Ghostscript hoặc Tesseract báo lỗi",
        "Ghostscript or Tesseract failed",
    ),
    (
        ocr_errors.OutputFileAccessError,
        "không ghi được tệp kết quả",
        "the output file cannot be written",
    ),
    (
        ocr_errors.ExitCodeException,
        "OCRmyPDF báo lỗi",
        "OCRmyPDF failed",
    ),
    (
        PdfTextError,
        "không đọc được văn bản của tệp nên không kiểm tra được bản sao",
        "the text of the file cannot be read, so the copy cannot be verified",
    ),
    (
        pikepdf.PasswordError,
        "tệp PDF được mã hóa bằng mật khẩu",
        "the PDF is encrypted with a password",
    ),
    (
        pikepdf.PikepdfError,
        "tệp PDF hỏng hoặc không đọc được",
        "the PDF is damaged or cannot be read",
    ),
    (
        OSError,
        "không đọc hoặc ghi được tệp",
        "a file cannot be read or written",
    ),
    (
        Exception,
        "lỗi không lường trước trong khi chuyển đổi",
        "an unexpected error during conversion",
    ),
)


@dataclass(frozen=True)
class ToolUse:
    """A program that took part in making the copy, for the PREMIS event."""

    name: str
    version: str


@dataclass(frozen=True)
class ConversionResult:
    """The preservation copy that was written, and how."""

    target: Path
    conformance: str
    outcome: str
    tools: tuple[ToolUse, ...]
    ocr_applied: bool
    warnings: tuple[str, ...]


def make_pdfa(
    source: Path, target: Path, *, gs: Path, ocr: bool, language: str = "vie+eng", jobs: int | None = None
) -> ConversionResult:
    """Write the PDF/A-2 copy of `source` to `target`.

    An input pikepdf already approves as PDF/A-2 is copied as it is (unless OCR is wanted and
    some page has no text). With `ocr`, pages without text are OCRed in `language` (Tesseract
    codes joined by "+"), up to `jobs` pages at once (default: one per CPU). Raises
    ConversionFailedError with a bilingual reason, or MissingDependencyError when Ghostscript,
    Tesseract or a language is missing.
    """
    gs_version = check_ghostscript(gs)
    # Only a file that claims PDF/A-2 can pass as one: the others are not walked twice.
    existing = check_pdfa(source) if pdfa_claim(source).startswith("2") else None
    if existing is not None and existing.is_pdfa2 and not (ocr and _pages_without_text(source)):
        shutil.copyfile(source, target)
        return ConversionResult(
            target=target,
            conformance=existing.conformance,
            outcome=SKIPPED_ALREADY_PDFA2,
            tools=(ToolUse(existing.tool, existing.tool_version),),
            ocr_applied=False,
            warnings=(),
        )

    with _CONVERSION_LOCK, _child_environment(_gs_folder(gs)), _collected_warnings() as warnings:
        try:
            exit_code = ocrmypdf.ocr(
                source,
                target,
                language=language.split("+"),
                output_type="pdfa-2",
                mode="skip",
                ocr_engine="tesseract" if ocr else "none",
                pages=None if ocr else _NO_PAGE,
                rasterizer="pypdfium",
                optimize=1,
                invalidate_digital_signatures=True,
                progress_bar=False,
                jobs=jobs,
            )
        except ocr_errors.MissingDependencyError as exc:
            raise MissingDependencyError(
                f"Thiếu công cụ để chuyển sang PDF/A ({_one_line(exc)}). Cài đặt bằng lệnh: {INSTALL_COMMAND}",
                f"A tool needed for PDF/A conversion is missing ({_one_line(exc)}). Install it with: {INSTALL_COMMAND}",
            ) from exc
        except (ocr_errors.ExitCodeException, pikepdf.PikepdfError, OSError, ValueError) as exc:
            raise _failed(source, exc, warnings) from exc
    if exit_code == ocrmypdf.ExitCode.pdfa_conversion_failed:
        raise _failed(source, ocr_errors.PdfaConversionFailedError(exit_code.name), warnings)
    if exit_code != ocrmypdf.ExitCode.ok:
        raise _failed(source, ocr_errors.ExitCodeException(exit_code.name), warnings)

    claim = pdfa_claim(target)
    if not claim.startswith("2"):
        raise _failed(source, ocr_errors.PdfaConversionFailedError(claim or "none"), warnings)
    try:
        warnings.extend(complete_pdfa(target, gs))
    except (pikepdf.PikepdfError, OSError, subprocess.SubprocessError) as exc:
        raise _failed(source, exc, warnings) from exc
    try:
        ocr_applied = ocr and _pages_without_text(source) > 0
    except PdfTextError as exc:
        raise _failed(source, exc, warnings) from exc
    tools = [
        ToolUse("ocrmypdf", ocrmypdf.__version__),
        ToolUse("ghostscript", "{}.{:02d}.{}".format(*gs_version)),
    ]
    if ocr_applied:
        tools.append(ToolUse("tesseract", _tesseract_version()))
    return ConversionResult(
        target=target,
        conformance=f"PDF/A-{claim}",
        outcome=CONVERTED,
        tools=tuple(tools),
        ocr_applied=ocr_applied,
        warnings=tuple(warnings),
    )


def _pages_without_text(path: Path) -> int:
    return sum(1 for text in page_texts(path) if not text.strip())


@lru_cache(maxsize=8)
def _gs_folder(gs: Path) -> Path:
    """The folder to put first on PATH so that `gs` is our Ghostscript.

    That is the binary's own folder when it is called `gs` (the cached one's folder holds nothing
    else); otherwise a private folder with a `gs` link to it, removed when the process exits.
    """
    if gs.name == "gs":
        return gs.parent
    folder = Path(tempfile.mkdtemp(prefix="archive-gs-"))
    (folder / "gs").symlink_to(gs.resolve())
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@contextmanager
def _child_environment(gs_folder: Path) -> Iterator[None]:
    """PATH and OMP_THREAD_LIMIT for OCRmyPDF's children, restored afterwards."""
    saved = {name: os.environ.get(name) for name in ("PATH", "OMP_THREAD_LIMIT")}
    os.environ["PATH"] = os.pathsep.join(filter(None, (str(gs_folder), saved["PATH"])))
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())[:MAX_MESSAGE]
        if message and message not in self.messages and len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """OCRmyPDF's warnings, kept for the result instead of reaching the console.

    Also puts back `sys.stdout`/`sys.stderr`: pikepdf's `check_linearization`, which OCRmyPDF
    calls at the end, leaves `sys.stderr` pointing at a StringIO (pikepdf 10.17).
    """
    logger = logging.getLogger("ocrmypdf")
    collector = _Collector()
    propagate, stdout, stderr = logger.propagate, sys.stdout, sys.stderr
    logger.addHandler(collector)
    logger.propagate = False
    try:
        yield collector.messages
    finally:
        logger.removeHandler(collector)
        logger.propagate = propagate
        sys.stdout, sys.stderr = stdout, stderr


@lru_cache(maxsize=1)
def _tesseract_version() -> str:
    proc = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, timeout=30, check=False)
    first = (proc.stdout or proc.stderr).split("\n", 1)[0]
    return first.removeprefix("tesseract").strip()


def _failed(source: Path, exc: Exception, warnings: list[str]) -> ConversionFailedError:
    reason_vi, reason_en = next((vi, en) for kind, vi, en in _REASONS if isinstance(exc, kind))
    if isinstance(exc, ocr_errors.InputFileError):
        reason_vi, reason_en = _unreadable_input(source, exc) or (reason_vi, reason_en)
    detail = _one_line(exc)
    return ConversionFailedError(
        f"Không tạo được bản PDF/A của {source.name}: {reason_vi}",
        f"Cannot make the PDF/A copy of {source.name}: {reason_en}",
        details=[
            {"error": type(exc).__name__, "message": detail},
            *({"warning": w} for w in warnings),
        ],
    )


def _unreadable_input(source: Path, exc: Exception) -> tuple[str, str] | None:
    """A more precise reason than "damaged" for an input OCRmyPDF cannot read, if there is one."""
    if "XFA" in str(exc):
        return (
            "tệp PDF là biểu mẫu XFA động (Adobe LiveCycle), chỉ Adobe Reader hiển thị được",
            "the PDF is a dynamic XFA form (Adobe LiveCycle) that only Adobe Reader can display",
        )
    try:
        with pikepdf.open(source):
            return None
    except pikepdf.PasswordError:
        pass
    except pikepdf.PdfError as error:
        if "encrypt" not in str(error).lower():
            return None
    return (
        "tệp PDF được mã hóa (bằng mật khẩu hoặc chứng thư số) nên không mở được",
        "the PDF is encrypted (with a password or a certificate) and cannot be opened",
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:MAX_MESSAGE]
