"""Make the PDF/A-2 preservation copy of a word-processing document with LibreOffice (tech.md §4.6).

`soffice --headless` converts DOCX, ODT, RTF and legacy DOC with its PDF export filter set to
PDF/A-2b. Each conversion gets its own throw-away user profile (LibreOffice refuses to share one
between running instances, and a profile left by a crash must not affect the next run) and a
private output folder; the input is copied there under a neutral name, so a sender's file name
never reaches the command line. LibreOffice exits 0 even when it cannot open a file, so success
is "the PDF exists and claims PDF/A-2".

Text fidelity (pres.pdfa.text_fidelity for office documents): the words of the body text of a
DOCX or ODT, read from its XML with the project's safe parser, must appear in order in the copy's
page text. Page numbers, list numbering, headers, footers and footnote numbers the copy adds are
allowed; field results (dates, page counts, tables of contents that LibreOffice recomputes),
deleted tracked changes, hidden text, comments, footnote bodies and floating text boxes are left
out of the source side. RTF and DOC have no such XML: their copies are checked for PDF/A only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from lxml import etree

from archive_service.errors import ConversionFailedError, MissingDependencyError
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_bytes
from archive_service.preservation.convert_pdfa import CONVERTED, MAX_MESSAGE, ConversionResult, ToolUse
from archive_service.preservation.verify_pdfa import (
    CONTEXT_WORDS,
    FidelityResult,
    PdfTextError,
    extract_text,
    normalised_words,
    pdfa_claim,
)

INSTALL_COMMAND = "bash scripts/install-system-deps.sh"
# Probed in this order when no path is configured (Debian's libreoffice-writer-nogui).
SOFFICE_CANDIDATES = (
    Path("/usr/bin/soffice"),
    Path("/usr/bin/libreoffice"),
    Path("/usr/lib/libreoffice/program/soffice"),
)
TIMEOUT_SECONDS = 300.0
PDFA2_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
MAX_SOURCE_XML = 256 * 1024**2  # uncompressed bytes of document.xml / content.xml read for the check

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"

_VERSION = re.compile(r"LibreOffice\s+(\d+(?:\.\d+)+)")
_TOKEN = re.compile(r"\w+")
_ZIP_MAGIC = b"PK\x03\x04"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .doc, or an encrypted DOCX

# DOCX: subtrees whose text is not (or not reliably in this place) on the page.
_DOCX_SKIP = {
    f"{W}del",
    f"{W}moveFrom",
    f"{W}delText",
    f"{W}instrText",
    f"{W}fldSimple",
    f"{W}txbxContent",
    f"{W}drawing",
    f"{W}pict",
    f"{W}object",
    f"{MC}AlternateContent",
    f"{W}rPr",
    f"{W}pPr",
    f"{W}sectPr",
    f"{W}commentReference",
    f"{W}footnoteReference",
    f"{W}endnoteReference",
}
# ODT: elements whose whole subtree is skipped; anything in a namespace other than text/table/office
# (drawings, frames, forms, SVG) is skipped as well.
_ODT_SKIP_TEXT = {
    "note",
    "tracked-changes",
    "hidden-text",
    "hidden-paragraph",
    "sequence-decls",
    "variable-decls",
    "user-field-decls",
    "table-of-content",
    "alphabetical-index",
    "illustration-index",
    "table-index",
    "object-index",
    "user-index",
    "bibliography",
    "page-number",
    "page-count",
    "page-continuation",
    "date",
    "time",
    "file-name",
    "chapter",
    "sequence",
    "sequence-ref",
    "bookmark-ref",
    "reference-ref",
    "note-ref",
    "variable-get",
    "variable-set",
    "user-field-get",
    "expression",
    "text-input",
    "word-count",
    "character-count",
    "paragraph-count",
    "ruby-text",
}
_ODT_CONTAINERS = (TEXT, TABLE, OFFICE)


@dataclass(frozen=True)
class _Run:
    """One conversion's private folders."""

    root: Path

    @property
    def profile(self) -> Path:
        return self.root / "profile"

    @property
    def out(self) -> Path:
        return self.root / "out"


def find_soffice(configured: Path | None = None) -> Path:
    """The configured LibreOffice `soffice`, else the first of SOFFICE_CANDIDATES or on PATH.

    Raises MissingDependencyError (with the install command) when there is none.
    """
    if configured is not None:
        if configured.is_file():
            return configured
        raise _missing(f"Không tìm thấy LibreOffice tại {configured}", f"LibreOffice not found at {configured}")
    for candidate in SOFFICE_CANDIDATES:
        if candidate.is_file():
            return candidate
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise _missing("Chưa cài LibreOffice (soffice)", "LibreOffice (soffice) is not installed")


@lru_cache(maxsize=4)
def soffice_version(soffice: Path) -> str:
    """The version `soffice --version` prints, e.g. "7.4.7.2"; MissingDependencyError if it does not run."""
    try:
        proc = subprocess.run(
            [str(soffice), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise _missing(
            f"Không chạy được LibreOffice tại {soffice}: {exc}", f"Cannot run LibreOffice at {soffice}: {exc}"
        ) from exc
    match = _VERSION.search(proc.stdout)
    if match is None:
        raise _missing(
            f"LibreOffice tại {soffice} không cho biết phiên bản",
            f"LibreOffice at {soffice} reported no version",
        )
    return match.group(1)


def office_to_pdfa(
    source: Path, target: Path, *, soffice: Path | None = None, timeout: float = TIMEOUT_SECONDS
) -> ConversionResult:
    """Write the PDF/A-2 copy of the word-processing document `source` to `target`.

    Raises ConversionFailedError with a bilingual reason (damaged, encrypted, unreadable, timed
    out, not PDF/A-2) or MissingDependencyError when LibreOffice is absent.
    """
    program = soffice or find_soffice()
    version = soffice_version(program)
    _precheck(source)
    with tempfile.TemporaryDirectory(prefix="archive-lo-") as folder:
        run = _Run(Path(folder))
        run.out.mkdir()
        staged = run.root / f"document{source.suffix.lower() if source.suffix.isascii() else ''}"
        shutil.copyfile(source, staged)
        command = [
            str(program),
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={run.profile.as_uri()}",
            "--convert-to",
            PDFA2_FILTER,
            "--outdir",
            str(run.out),
            str(staged),
        ]
        try:
            returncode, output = _run(command, cwd=run.root, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise _failed(
                source,
                f"LibreOffice không xong trong {timeout:g} giây",
                f"LibreOffice did not finish within {timeout:g} seconds",
                str(exc),
            ) from exc
        except OSError as exc:
            raise _missing(
                f"Không chạy được LibreOffice tại {program}: {exc}", f"Cannot run LibreOffice at {program}: {exc}"
            ) from exc
        produced = run.out / f"{staged.stem}.pdf"
        if not produced.is_file() or produced.stat().st_size == 0:
            raise _failed(
                source,
                "LibreOffice không mở được tệp (tệp hỏng, được mã hóa hoặc không được hỗ trợ)",
                "LibreOffice cannot open the file (damaged, encrypted or unsupported)",
                f"exit code {returncode}: {output}",
            )
        claim = pdfa_claim(produced)
        if not claim.startswith("2"):
            raise _failed(
                source,
                f"LibreOffice không tạo được PDF/A-2 (tệp tạo ra khai báo «{claim or 'không'}»)",
                f"LibreOffice did not produce PDF/A-2 (the file claims «{claim or 'nothing'}»)",
                output,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(produced, target)
    return ConversionResult(
        target=target,
        conformance=f"PDF/A-{claim}",
        outcome=CONVERTED,
        tools=(ToolUse("libreoffice", version),),
        ocr_applied=False,
        warnings=(),
    )


def _run(command: list[str], *, cwd: Path, timeout: float) -> tuple[int, str]:
    """Run LibreOffice in its own process group; on timeout the whole group is killed.

    `soffice` is a shell script that starts `soffice.bin`, which a plain kill would leave running.
    Returns the exit code and the printed output on one line.
    """
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        start_new_session=True,
    ) as proc:
        try:
            printed, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return proc.returncode, " ".join(printed.split())[:MAX_MESSAGE]


def _precheck(source: Path) -> None:
    """Refuse, with a clear reason, ZIP-based documents that are damaged or encrypted."""
    with source.open("rb") as stream:
        head = stream.read(8)
    suffix = source.suffix.lower()
    if head.startswith(_CFB_MAGIC) and suffix in (".docx", ".docm", ".odt"):
        raise _failed(
            source,
            "tệp được mã hóa bằng mật khẩu (hoặc không phải DOCX/ODT)",
            "the file is encrypted with a password (or is not DOCX/ODT)",
            "OLE compound file where a ZIP container was expected",
        )
    if not head.startswith(_ZIP_MAGIC):
        if suffix in (".docx", ".docm", ".odt"):
            raise _failed(
                source, "tệp hỏng: không phải gói ZIP", "the file is damaged: not a ZIP container", head.hex()
            )
        return
    try:
        with zipfile.ZipFile(source) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
            manifest = archive.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error, NotImplementedError) as exc:
        raise _failed(
            source,
            "tệp hỏng: gói ZIP không đọc được",
            "the file is damaged: its ZIP container cannot be read",
            str(exc),
        ) from exc
    if bad is not None:
        raise _failed(
            source,
            f"tệp hỏng: phần {bad} trong gói ZIP bị lỗi",
            f"the file is damaged: member {bad} of its ZIP container is corrupt",
            bad,
        )
    if b"encryption-data" in manifest:
        raise _failed(
            source,
            "tệp ODF được mã hóa bằng mật khẩu",
            "the ODF document is encrypted with a password",
            "encryption-data",
        )
    if suffix in (".docx", ".docm") and "word/document.xml" not in names:
        raise _failed(
            source, "tệp DOCX hỏng: thiếu word/document.xml", "the DOCX is damaged: word/document.xml is missing", ""
        )
    if suffix == ".odt" and "content.xml" not in names:
        raise _failed(source, "tệp ODT hỏng: thiếu content.xml", "the ODT is damaged: content.xml is missing", "")


def office_signed(source: Path) -> bool:
    """True if the DOCX/ODT carries a document signature (ODF documentsignatures.xml, OOXML _xmlsignatures)."""
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        return False
    return any(n == "META-INF/documentsignatures.xml" or n.startswith("_xmlsignatures/") for n in names)


# --- text fidelity ---------------------------------------------------------------------------


class OfficeTextError(Exception):
    """The body text of a DOCX/ODT cannot be read (not a ZIP, member missing, bad XML)."""


def office_text(source: Path) -> str | None:
    """The body text of a DOCX or ODT, paragraphs on their own lines; None for other formats.

    Raises OfficeTextError if the file is a ZIP but its document XML cannot be read safely.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
            member = "word/document.xml" if "word/document.xml" in names else "content.xml"
            if member not in names:
                return None
            info = archive.getinfo(member)
            if info.file_size > MAX_SOURCE_XML:
                raise OfficeTextError(f"{member} is larger than {MAX_SOURCE_XML} bytes")
            data = archive.read(member)
    except zipfile.BadZipFile:
        return None
    except (OSError, EOFError, RuntimeError, zlib.error, NotImplementedError, KeyError) as exc:
        raise OfficeTextError(f"{source.name}: {exc}") from exc
    try:
        root = parse_xml_bytes(data)
    except (UnsafeXmlError, MalformedXmlError) as exc:
        raise OfficeTextError(f"{source.name}: {exc}") from exc
    pieces = list(_docx_text(root) if member.startswith("word/") else _odt_text(root))
    return "".join(pieces)


def _docx_text(element: etree._Element) -> Iterator[str]:
    """Body text in document order; field results (between `separate` and `end`) are left out."""
    fields: list[bool] = []  # one entry per open field: is its result being read?
    for node in _walk(element, _DOCX_SKIP):
        tag = node.tag
        if tag == f"{W}fldChar":
            kind = node.get(f"{W}fldCharType")
            if kind == "begin":
                fields.append(False)
            elif kind == "separate" and fields:
                fields[-1] = True
            elif kind == "end" and fields:
                fields.pop()
        elif any(fields):
            continue
        elif tag == f"{W}t":
            yield node.text or ""
        elif tag in (f"{W}tab", f"{W}br", f"{W}cr", f"{W}tc"):
            yield " "
        elif tag == f"{W}p":
            yield "\n"
        elif tag == f"{W}noBreakHyphen":
            yield "-"


def _hidden_run(run: etree._Element) -> bool:
    vanish = run.find(f"{W}rPr/{W}vanish")
    return vanish is not None and vanish.get(f"{W}val", "true") not in ("0", "false", "off")


def _walk(element: etree._Element, skip: set[str]) -> Iterator[etree._Element]:
    """Elements in document order, without the subtrees in `skip` or hidden DOCX runs."""
    for child in element:
        if not isinstance(child.tag, str) or child.tag in skip:
            continue
        if child.tag == f"{W}r" and _hidden_run(child):
            continue
        yield child
        yield from _walk(child, skip)


def _odt_text(element: etree._Element) -> Iterator[str]:
    """Paragraph and heading text in document order, with text:s, text:tab and line breaks as spaces."""
    for child in element:
        if not isinstance(child.tag, str):
            yield child.tail or ""
            continue
        namespace, _, local = child.tag[1:].partition("}")
        if (
            f"{{{namespace}}}" not in _ODT_CONTAINERS
            or (f"{{{namespace}}}" == TEXT and local in _ODT_SKIP_TEXT)
            or (f"{{{namespace}}}" == OFFICE and local in ("annotation", "annotation-end"))
        ):
            yield child.tail or ""
            continue
        if f"{{{namespace}}}" == TEXT and local in ("s", "tab", "line-break"):
            yield " "
        else:
            yield child.text or ""
            yield from _odt_text(child)
            if f"{{{namespace}}}" == TEXT and local in ("p", "h"):
                yield "\n"
            elif f"{{{namespace}}}" == TABLE and local == "table-cell":
                yield " "
        yield child.tail or ""


def office_fidelity(original: Path, copy: Path) -> FidelityResult:
    """pres.pdfa.text_fidelity for a DOCX/ODT: its body words appear in order in the copy's text.

    Words are compared after `normalised_words` and case folding (small capitals and "all caps"
    formatting change the letters on the page, not the words). The copy's text is searched with its
    whitespace removed, since PDFium infers spaces from glyph positions. For formats without a
    readable body (RTF, DOC) the result is ok with `original_words` 0.
    """
    try:
        text = office_text(original)
        copy_text = extract_text(copy)
    except (OfficeTextError, PdfTextError) as exc:
        return FidelityResult(
            ok=False,
            digitised=False,
            original_words=0,
            copy_words=0,
            reason_en=f"the text cannot be read ({exc})",
            reason_vi=f"không đọc được văn bản ({exc})",
        )
    words = _tokens(text or "")
    copy_words = _tokens(copy_text)
    joined = "".join(copy_words)
    ends = list(accumulate(map(len, copy_words)))
    position = 0
    for index, word in enumerate(words):
        found = joined.find(word, position)
        if found < 0:
            at_copy = bisect_right(ends, position)
            return FidelityResult(
                ok=False,
                digitised=False,
                original_words=len(words),
                copy_words=len(copy_words),
                original_context=_context(words, index),
                copy_context=_context(copy_words, at_copy),
                reason_en=f"word {index + 1} of the original is missing from the copy",
                reason_vi=f"bản sao thiếu từ thứ {index + 1} của bản gốc",
            )
        position = found + len(word)
    return FidelityResult(ok=True, digitised=False, original_words=len(words), copy_words=len(copy_words))


def _tokens(text: str) -> list[str]:
    """The letters-and-digits runs of `normalised_words(text)`, case-folded.

    Punctuation is left out: a footnote mark lands between a word and its full stop ("tả1.").
    """
    return [token.casefold() for word in normalised_words(text) for token in _TOKEN.findall(word)]


def _context(words: list[str], index: int) -> str:
    start = max(0, index - CONTEXT_WORDS)
    return " ".join(words[start : index + CONTEXT_WORDS]) or "∅"


def _failed(source: Path, reason_vi: str, reason_en: str, detail: str) -> ConversionFailedError:
    return ConversionFailedError(
        f"Không tạo được bản PDF/A của {source.name}: {reason_vi}",
        f"Cannot make the PDF/A copy of {source.name}: {reason_en}",
        details=[{"error": "LibreOffice", "message": detail[:MAX_MESSAGE]}] if detail else [],
    )


def _missing(reason_vi: str, reason_en: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{reason_vi}. Cài đặt bằng lệnh: {INSTALL_COMMAND}",
        f"{reason_en}. Install it with: {INSTALL_COMMAND}",
    )
