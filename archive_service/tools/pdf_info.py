"""Facts about a PDF that the checks need, read with pikepdf without rendering anything."""

from __future__ import annotations

from pathlib import Path

import pikepdf


def pdf_page_count(path: Path) -> int | None:
    """The number of pages, or None if the file cannot be opened as a PDF (the file rules say why)."""
    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    except (pikepdf.PikepdfError, OSError, ValueError):
        return None


def has_signatures(path: Path) -> bool:
    """Whether the PDF has a signature field (/FT /Sig) in its AcroForm."""
    try:
        with pikepdf.open(path) as pdf:
            form = pdf.Root.get("/AcroForm")
            fields = form.get("/Fields") if form is not None else None
            return any(f.get("/FT") == "/Sig" for f in (fields or []))
    except (pikepdf.PikepdfError, OSError, ValueError):
        return False
