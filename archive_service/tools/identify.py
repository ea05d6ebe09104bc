"""Identify a file's format: MIME type and description from libmagic, PUID from a small table.

libmagic gives no PUIDs, so the common formats the archive receives are mapped here from what
libmagic says plus a look at the file itself (the PDF header version, the PDF/A claim in the XMP
`pdfaid` fields, the JFIF version, the ODF version). Like DROID, a PDF/A PUID records the file's
claim, not a validation: `preservation.verify_pdfa.check_pdfa` validates.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import magic
import pikepdf

# --- PRONOM table ---------------------------------------------------------------------------
# A stop-gap: siegfried (reference/tech.md §5, signatures embedded, works offline) replaces this
# table in a later issue. Keep it data only. Formats missing here get puid "" (unknown).

PDF_VERSION_PUIDS = {
    "1.0": "fmt/14",
    "1.1": "fmt/15",
    "1.2": "fmt/16",
    "1.3": "fmt/17",
    "1.4": "fmt/18",
    "1.5": "fmt/19",
    "1.6": "fmt/20",
    "1.7": "fmt/276",
    "2.0": "fmt/1129",
}
# Keys are pikepdf's `pdfa_status`: XMP pdfaid:part + pdfaid:conformance.
PDFA_PUIDS = {
    "1A": "fmt/95",
    "1B": "fmt/354",
    "2A": "fmt/476",
    "2B": "fmt/477",
    "2U": "fmt/478",
    "3A": "fmt/479",
    "3B": "fmt/480",
    "3U": "fmt/481",
}
JFIF_VERSION_PUIDS = {"1.00": "fmt/42", "1.01": "fmt/43", "1.02": "fmt/44"}
ODF_VERSION_PUIDS = {
    "application/vnd.oasis.opendocument.text": {
        "1.0": "fmt/136",
        "1.1": "fmt/290",
        "1.2": "fmt/291",
        "1.3": "fmt/1756",
    },
    "application/vnd.oasis.opendocument.spreadsheet": {
        "1.0": "fmt/137",
        "1.1": "fmt/294",
        "1.2": "fmt/295",
        "1.3": "fmt/1755",
    },
    "application/vnd.oasis.opendocument.presentation": {
        "1.0": "fmt/138",
        "1.1": "fmt/292",
        "1.2": "fmt/293",
        "1.3": "fmt/1754",
    },
}
# Formats whose PUID the MIME type alone decides (PNG and TIFF versions are not inspected).
MIME_PUIDS = {
    "image/png": "fmt/11",
    "image/tiff": "fmt/353",
    "application/msword": "fmt/40",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "fmt/412",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "fmt/214",
    "text/xml": "fmt/101",
    "application/xml": "fmt/101",
}
# ---------------------------------------------------------------------------------------------

TOOL = "libmagic"
FORMAT_NAME_MAX = 200
_HEAD_BYTES = 1024
_ODF_HEAD_BYTES = 64 * 1024

_PDF_HEADER = re.compile(rb"%PDF-(\d\.\d)")
_JFIF_HEADER = re.compile(rb"\xff\xd8\xff\xe0..JFIF\x00(.)(.)", re.DOTALL)
_ODF_MANIFEST_VERSION = re.compile(rb'manifest:version="(\d\.\d)"')
_ODF_OFFICE_VERSION = re.compile(rb'office:version="(\d\.\d)"')


@dataclass(frozen=True)
class Identification:
    """What a file is, and which tool said so (for the PREMIS format and event)."""

    mimetype: str
    format_name: str
    puid: str
    tool: str
    tool_version: str


def identify(path: Path) -> Identification:
    """Identify the file at `path`; `puid` is "" when the format is not in the table."""
    mimetype = magic.from_file(str(path), mime=True)
    description = magic.from_file(str(path))
    return Identification(
        mimetype=mimetype,
        format_name=description.split(",", 1)[0].strip()[:FORMAT_NAME_MAX],
        puid=_puid(path, mimetype),
        tool=TOOL,
        tool_version=libmagic_version(),
    )


@lru_cache(maxsize=1)
def libmagic_version() -> str:
    """libmagic's version, e.g. "5.44"; "" if this libmagic cannot tell."""
    probe = getattr(magic, "version", None)  # missing from older python-magic releases
    if probe is None:
        return ""
    try:
        number = int(probe())
    except NotImplementedError:  # libmagic older than 5.15
        return ""
    return f"{number // 100}.{number % 100:02d}"


def _puid(path: Path, mimetype: str) -> str:
    if mimetype == "application/pdf":
        return _pdf_puid(path)
    if mimetype == "image/jpeg":
        match = _JFIF_HEADER.match(_head(path, 32))
        if match is None:
            return ""
        major, minor = match.group(1)[0], match.group(2)[0]
        return JFIF_VERSION_PUIDS.get(f"{major}.{minor:02d}", "")
    if mimetype in ODF_VERSION_PUIDS:
        return ODF_VERSION_PUIDS[mimetype].get(_odf_version(path), "")
    return MIME_PUIDS.get(mimetype, "")


def _pdf_puid(path: Path) -> str:
    try:
        with pikepdf.open(path) as pdf:
            claim = pdf.open_metadata().pdfa_status
    except (pikepdf.PikepdfError, OSError, ValueError):
        claim = ""
    if claim in PDFA_PUIDS:
        return PDFA_PUIDS[claim]
    match = _PDF_HEADER.search(_head(path, _HEAD_BYTES))
    return PDF_VERSION_PUIDS.get(match.group(1).decode(), "") if match else ""


def _odf_version(path: Path) -> str:
    """The ODF version from the manifest (ODF ≥ 1.2), else from the root of content.xml."""
    for member, pattern in (
        ("META-INF/manifest.xml", _ODF_MANIFEST_VERSION),
        ("content.xml", _ODF_OFFICE_VERSION),
    ):
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
                head = stream.read(_ODF_HEAD_BYTES)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, RuntimeError, zlib.error):
            continue
        match = pattern.search(head)
        if match:
            return match.group(1).decode()
    return ""


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as stream:
        return stream.read(size)
