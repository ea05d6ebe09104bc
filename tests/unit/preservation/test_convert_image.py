"""OCRed PDF/A-2 copies of scanned images: img2pdf, then OCRmyPDF with our Ghostscript."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from archive_service.errors import ConversionFailedError
from archive_service.preservation.convert_image import ASSUMED_DPI, image_to_pdfa, ocr_quality
from archive_service.preservation.verify_pdfa import check_pdfa, extract_text, page_texts


def _page_width_pt(path: Path, index: int = 0) -> float:
    with pikepdf.open(path) as pdf:
        box = [float(v) for v in pdf.pages[index].mediabox]
    return box[2] - box[0]


@dataclass(frozen=True)
class _Image:
    smask: bool
    filter: str
    raw: bytes
    colour_space: tuple[str, int]


def _images(path: Path) -> list[_Image]:
    """What the copy's page images are made of (read while the PDF is open)."""
    found = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for image in page.get_images().values():
                space = image.get("/ColorSpace")
                if isinstance(space, pikepdf.Array):
                    colour_space = (str(space[0]), int(space[1].get("/N", 0)))
                else:
                    colour_space = (str(space), 0)
                found.append(_Image("/SMask" in image, str(image.get("/Filter")), image.read_raw_bytes(), colour_space))
    return found


def test_vietnamese_scan_gets_a_vietnamese_text_layer(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.pdf"
    result = image_to_pdfa(corpus / "vietnamese/vietocr3__vietsample2.png", target, gs=gs)
    assert result.conformance == "PDF/A-2B" and result.ocr_applied
    assert [t.name for t in result.tools] == ["img2pdf", "ocrmypdf", "ghostscript", "tesseract"]
    assert check_pdfa(target).is_pdfa2
    text = " ".join(extract_text(target).split())
    for words in ("Tôi Đi Học", "Hằng năm cứ vào cuối thu", "lòng tôi lại", "buổi tựu trường"):
        assert words in text
    # the page keeps the image's 300 dpi: 2550 px = 8.5 in = 612 pt
    assert _page_width_pt(target) == pytest.approx(612, abs=1)
    quality = ocr_quality(target)
    assert not quality.low and quality.words > 400


def test_alpha_is_flattened_and_a_missing_dpi_is_assumed(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.pdf"
    result = image_to_pdfa(corpus / "images/ocrmypdf__baiona_alpha.png", target, gs=gs)
    assert check_pdfa(target).is_pdfa2
    assert "pillow" in [t.name for t in result.tools]
    assert any("alpha channel was flattened" in w for w in result.warnings)
    assert any(f"{ASSUMED_DPI:.0f} dpi assumed" in w for w in result.warnings)
    assert not any(image.smask for image in _images(target))
    assert _page_width_pt(target) == pytest.approx(640 / ASSUMED_DPI * 72, abs=1)


def test_the_stated_dpi_sets_the_page_size(gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.pdf"
    result = image_to_pdfa(corpus / "images/tesseract__hebtypo.jpg", target, gs=gs)  # 847 px at 600 dpi
    assert not any("dpi assumed" in w for w in result.warnings)
    assert _page_width_pt(target) == pytest.approx(847 / 600 * 72, abs=1)


def test_cmyk_jpeg_stays_the_same_jpeg_with_a_cmyk_profile(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    source = corpus / "images/ocrmypdf__baiona_cmyk.jpg"
    target = tmp_path / "copy.pdf"
    result = image_to_pdfa(source, target, gs=gs)
    assert check_pdfa(target).is_pdfa2
    assert any("CMYK SWOP profile assumed" in w for w in result.warnings)
    (image,) = _images(target)
    assert image.filter == "/DCTDecode"
    assert image.raw == source.read_bytes()  # lossless: the sender's JPEG, byte for byte
    assert image.colour_space == ("/ICCBased", 4)


def test_cmyk_tiff_becomes_valid_pdfa(gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.pdf"
    image_to_pdfa(corpus / "images/img2pdf__CMYK.tif", target, gs=gs)
    check = check_pdfa(target)
    assert check.is_pdfa2, check.findings


def test_every_frame_of_a_multipage_tiff_becomes_a_page(
    gs: Path, tesseract_vie: None, corpus: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.pdf"
    image_to_pdfa(corpus / "images/vietocr3__vietsample.tif", target, gs=gs)
    texts = page_texts(target)
    assert len(texts) == 2
    assert all(text.strip() for text in texts)
    assert "lá ngoài đường rụng nhiều" in " ".join(texts[0].split())


def test_a_blank_scan_has_empty_ocr_text(gs: Path, tesseract_vie: None, tmp_path: Path) -> None:
    source = tmp_path / "blank.png"
    Image.new("L", (850, 1100), 255).save(source, dpi=(100, 100))
    target = tmp_path / "copy.pdf"
    result = image_to_pdfa(source, target, gs=gs)
    assert check_pdfa(target).is_pdfa2 and result.ocr_applied
    quality = ocr_quality(target)
    assert quality.empty and quality.low and quality.poor_pages == (1,)


def test_a_damaged_image_fails_with_a_clear_reason(gs: Path, corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "vietnamese/vietocr3__vietsample2.png").read_bytes()
    source = tmp_path / "broken.png"
    source.write_bytes(data[:200])
    with pytest.raises(ConversionFailedError) as caught:
        image_to_pdfa(source, tmp_path / "copy.pdf", gs=gs)
    assert "broken.png" in caught.value.message_en
    assert "damaged or cannot be read" in caught.value.message_en or "img2pdf" in caught.value.message_en
