"""Make the PDF/A-2 preservation copy of a scanned image (JPEG, PNG, TIFF) with OCR (tech.md §4.5).

img2pdf wraps the image losslessly (JPEG as DCT, CCITT G4 TIFF as fax, other pixels as Flate;
every frame of a multi-page TIFF becomes a page), then `make_pdfa(ocr=True)` makes it PDF/A-2
with a Vietnamese+English Tesseract text layer. Before that:

* an image with an alpha channel (RGBA, LA, PA, or a palette with a transparent colour) is
  flattened onto white with Pillow and stored as PNG, still lossless: img2pdf refuses alpha and
  PDF/A-1 forbids soft masks;
* the page size comes from the image's own resolution; an image that states none (or a
  meaningless one below ASSUMED_DPI_BELOW, such as JFIF's "1×1 aspect ratio") is laid out at
  ASSUMED_DPI, the usual resolution of office scanners and Tesseract's own assumption, and the
  result's warnings say so.

Tesseract's word confidences are not exposed by OCRmyPDF's API, and a second Tesseract run would
double the cost of a page, so `ocr_quality` judges the text layer of the copy instead (see there);
the preserve step turns a poor result into the pres.ocr.confidence warning.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import img2pdf
import pikepdf
from PIL import Image, ImageSequence, UnidentifiedImageError
from PIL import __version__ as pillow_version

from archive_service.errors import ConversionFailedError
from archive_service.preservation.convert_pdfa import MAX_MESSAGE, ConversionResult, ToolUse, make_pdfa
from archive_service.preservation.pdfa_fixes import ghostscript_cmyk_profile
from archive_service.preservation.verify_pdfa import normalised_words, page_texts

ASSUMED_DPI = 300.0
ASSUMED_DPI_BELOW = 10.0
# ocr_quality: a page is "poor" with fewer words than this, or fewer plausible words than this share.
MIN_WORDS_PER_PAGE = 5
MIN_PLAUSIBLE_SHARE = 0.6

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# A plausible OCR word: letters (any script, with combining marks), optionally joined by an
# apostrophe or hyphen, or a number; surrounding punctuation is stripped first.
_PLAUSIBLE = re.compile(r"^(?:[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,:/-]\d+)*)$")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}.,;:!?…"


@dataclass(frozen=True)
class OcrQuality:
    """How usable the OCR text layer of a copy looks (a text-based proxy for Tesseract's confidence)."""

    pages: int
    words: int
    plausible_words: int
    poor_pages: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return self.words == 0

    @property
    def plausible_share(self) -> float:
        return self.plausible_words / self.words if self.words else 0.0

    @property
    def low(self) -> bool:
        """True if the text is empty, or some page has too few or mostly implausible words."""
        return self.empty or bool(self.poor_pages)


def image_to_pdfa(
    source: Path, target: Path, *, gs: Path, language: str = "vie+eng", jobs: int | None = None
) -> ConversionResult:
    """Write the OCRed PDF/A-2 copy of the image `source` (every frame a page) to `target`.

    Up to `jobs` pages are OCRed at once (default: one per CPU).

    Raises ConversionFailedError with a bilingual reason, or MissingDependencyError when
    Ghostscript, Tesseract or a language is missing.
    """
    warnings: list[str] = []
    tools = [ToolUse("img2pdf", img2pdf.__version__)]
    with tempfile.TemporaryDirectory(prefix="archive-img-") as folder:
        work = Path(folder)
        try:
            inputs, dpi, flattened = _prepare(source, work)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
            raise _failed(
                source, "tệp ảnh hỏng hoặc không đọc được", "the image is damaged or cannot be read", exc
            ) from exc
        if flattened:
            tools.append(ToolUse("pillow", pillow_version))
            warnings.append("the alpha channel was flattened onto white (lossless PNG)")
        layout = img2pdf.default_layout_fun
        if dpi is None:
            layout = img2pdf.get_fixed_dpi_layout_fun((ASSUMED_DPI, ASSUMED_DPI))
            warnings.append(f"the image states no resolution; {ASSUMED_DPI:.0f} dpi assumed for the page size")
        wrapped = work / "wrapped.pdf"
        try:
            data = img2pdf.convert([str(p) for p in inputs], layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
        except (
            img2pdf.ImageOpenError,
            img2pdf.AlphaChannelError,
            img2pdf.PdfTooLargeError,
            OSError,
            ValueError,
        ) as exc:
            raise _failed(
                source, "img2pdf không đưa được ảnh vào PDF", "img2pdf cannot wrap the image in a PDF", exc
            ) from exc
        if data is None:
            raise _failed(source, "img2pdf không tạo ra PDF", "img2pdf produced no PDF", ValueError("empty output"))
        wrapped.write_bytes(data)
        try:
            tagged = _tag_cmyk(wrapped, gs)
        except (pikepdf.PikepdfError, OSError, subprocess.SubprocessError) as exc:
            raise _failed(
                source, "không gắn được hồ sơ màu cho ảnh CMYK", "cannot give the CMYK image a colour profile", exc
            ) from exc
        if tagged:
            warnings.append(
                "the CMYK image has no colour profile; Ghostscript's CMYK SWOP profile assumed (pixels unchanged)"
            )
        result = make_pdfa(wrapped, target, gs=gs, ocr=True, language=language, jobs=jobs)
    return replace(
        result,
        tools=(*tools, *result.tools),
        warnings=(*warnings, *result.warnings),
    )


def _prepare(source: Path, work: Path) -> tuple[list[Path], float | None, bool]:
    """The files to give img2pdf, the image's resolution (None if unknown) and whether alpha was flattened."""
    with Image.open(source) as image:
        dpi = _resolution(image.info)
        frames = getattr(image, "n_frames", 1)
        has_alpha = any(_has_alpha(frame) for frame in ImageSequence.Iterator(image))
        if not has_alpha:
            return [source], dpi, False
        pages = []
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            flat = _flatten(frame)
            page = work / f"page-{index:05d}.png"
            flat.save(page, format="PNG", dpi=(dpi, dpi) if dpi else None)
            pages.append(page)
        if len(pages) != frames:
            raise ValueError(f"{len(pages)} of {frames} frames read")
        return pages, dpi, True


def _resolution(info: Mapping[Any, object]) -> float | None:
    """The horizontal dpi the image states, or None if it states none or a meaningless one."""
    value = info.get("dpi")
    if not isinstance(value, tuple) or not value:
        return None
    try:
        dpi = float(value[0])
    except (TypeError, ValueError):
        return None
    return dpi if dpi >= ASSUMED_DPI_BELOW else None


def _has_alpha(frame: Image.Image) -> bool:
    return frame.mode in _ALPHA_MODES or (frame.mode in ("P", "L", "RGB") and "transparency" in frame.info)


def _flatten(frame: Image.Image) -> Image.Image:
    """The frame composited onto white: L for grey images, RGB otherwise."""
    grey = frame.mode in ("LA", "La") or (frame.mode == "L" and "transparency" in frame.info)
    rgba = frame.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(background, rgba)
    return flat.convert("L" if grey else "RGB")


def _tag_cmyk(path: Path, gs: Path) -> bool:
    """Give DeviceCMYK images an ICCBased CMYK colour space, in place; True if any was tagged.

    PDF/A allows DeviceCMYK only under a CMYK output intent, and OCRmyPDF's is sRGB. The image
    data is not touched (a CMYK JPEG stays the same DCT stream).
    """
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        images = [
            image
            for page in pdf.pages
            for image in page.get_images(recursive=False).values()
            if image.get("/ColorSpace") == pikepdf.Name.DeviceCMYK
        ]
        if not images:
            return False
        profile = pdf.make_stream(ghostscript_cmyk_profile(gs), N=4, Alternate=pikepdf.Name.DeviceCMYK)
        colour_space = pdf.make_indirect(pikepdf.Array([pikepdf.Name.ICCBased, profile]))
        for image in images:
            image.ColorSpace = colour_space
        pdf.save(path)
    return True


def ocr_quality(copy: Path, pages: Collection[int] | None = None) -> OcrQuality:
    """Judge the text layer of an OCRed copy, page by page.

    A page is poor with fewer than MIN_WORDS_PER_PAGE words, or when fewer than
    MIN_PLAUSIBLE_SHARE of its words look like words (letters of any script, or numbers, once
    edge punctuation is stripped); Tesseract's misreadings of noise or images come out as runs of
    symbols and mixed letters and digits. `pages` (numbers from 1) limits the judgement to the
    pages that were OCRed, e.g. the image-only pages of a mixed PDF. Raises PdfTextError if the
    copy cannot be read.
    """
    poor: list[int] = []
    words = plausible = 0
    texts = page_texts(copy)
    for number, text in enumerate(texts, 1):
        if pages is not None and number not in pages:
            continue
        page_words = normalised_words(text)
        good = sum(1 for word in page_words if _looks_like_a_word(word))
        words += len(page_words)
        plausible += good
        if len(page_words) < MIN_WORDS_PER_PAGE or good < MIN_PLAUSIBLE_SHARE * len(page_words):
            poor.append(number)
    judged = len(texts) if pages is None else len(set(pages) & set(range(1, len(texts) + 1)))
    return OcrQuality(pages=judged, words=words, plausible_words=plausible, poor_pages=tuple(poor))


def _looks_like_a_word(word: str) -> bool:
    stripped = unicodedata.normalize("NFC", word).strip(_EDGE_PUNCTUATION)
    return bool(stripped) and _PLAUSIBLE.match(stripped) is not None


def _failed(source: Path, reason_vi: str, reason_en: str, exc: BaseException) -> ConversionFailedError:
    detail = " ".join(str(exc).split())[:MAX_MESSAGE]
    return ConversionFailedError(
        f"Không tạo được bản PDF/A của {source.name}: {reason_vi}",
        f"Cannot make the PDF/A copy of {source.name}: {reason_en}",
        details=[{"error": type(exc).__name__, "message": detail}],
    )
