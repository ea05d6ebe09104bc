"""Thin probes and runners for external programs and libraries (PDF, Ghostscript, Tesseract)."""
