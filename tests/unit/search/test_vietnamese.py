"""Vietnamese folding, tokens, notation keys and legacy-encoding detection.

Real text comes from `../shared/corpus`: Decree 30/2020/NĐ-CP and its annexes (DOCX), a user
guide, and the ground truth of a Đà Nẵng official letter. TCVN3 samples are made with glibc's
TCVN5712-1 converter (iconv), VNI samples with the published VNI-Windows key table, so neither
reuses the tables under test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from search.vietnamese import fold, is_syllable, looks_legacy_encoded, nfc, normalise_notation, tokens

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
DOCX = [
    "vietnamese/vanbanplus__30_2020_ND_CP.docx",
    "vietnamese/vanbanplus__Phuluc1.docx",
    "vietnamese/vanbanplus__Phuluc6.docx",
    "vietnamese/vpcp__HDSD_VAN_THU_BAN_HANH_VAN_BAN.docx",
]
LOWER_LETTERS = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@cache
def corpus_paragraphs() -> tuple[str, ...]:
    """Every non-empty paragraph of the Vietnamese DOCX files and the ground-truth letter."""
    paragraphs: list[str] = []
    for name in DOCX:
        xml = zipfile.ZipFile(CORPUS / name).read("word/document.xml").decode("utf-8")
        for paragraph in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.DOTALL):
            paragraphs.append(re.sub(r"<[^>]+>", "", paragraph))
    ground_truth = CORPUS / "vietnamese" / "vietadmin__4_1_gt.txt"
    paragraphs += ground_truth.read_text(encoding="utf-8").splitlines()
    return tuple(nfc(p).strip() for p in paragraphs if p.strip())


@cache
def prose() -> tuple[str, ...]:
    """Paragraphs of running Vietnamese, long enough to judge: 12 words, 90 % of them syllables.

    Shorter legacy text can be ambiguous word by word: TCVN3 "Tõ Phô lôc sè tù" ("Từ Phụ lục
    số tự") is also five well-formed Unicode syllables.
    """
    chosen = []
    for paragraph in corpus_paragraphs():
        words = re.findall(r"[^\W\d_]+", paragraph)
        if len(words) >= 12 and sum(map(is_syllable, words)) >= 0.9 * len(words):
            chosen.append(paragraph)
    return tuple(chosen)


@cache
def english() -> tuple[str, ...]:
    """English prose: the corpus README and the descriptions in its manifest."""
    readme = (CORPUS / "README.md").read_text(encoding="utf-8").splitlines()
    manifest = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    notes = [field for row in manifest for field in row.split("\t")[5:8]]
    return tuple(line for line in readme + notes if len(line.split()) >= 5)


@cache
def tcvn3_table() -> dict[str, str]:
    """Unicode letter → TCVN3 glyph, from glibc; capitals with a tone use the small letter's
    code, as text typed in the .VnTime/.VnTimeH fonts does."""
    iconv = shutil.which("iconv")
    if iconv is None:
        pytest.skip("iconv (glibc) is needed to make TCVN3 samples")
    letters = LOWER_LETTERS + "ĂÂĐÊÔƠƯ"
    encoded = subprocess.run(
        [iconv, "-f", "UTF-8", "-t", "TCVN5712-1"],
        input=letters.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode("latin-1")
    table = dict(zip(letters, encoded, strict=True))
    return table | {c.upper(): code for c, code in table.items() if c.upper() not in table}


def to_tcvn3(text: str) -> str:
    table = tcvn3_table()
    return "".join(table.get(c, c) for c in text)


# The VNI-Windows key table: each small letter of LOWER_LETTERS as base letter plus mark glyph(s).
VNI_KEYS = (
    "aø aù aû aõ aï aê aè aé aú aü aë aâ aà aá aå aã aä ñ eø eù eû eõ eï eâ eà eá eå eã eä "
    "ì í æ ó ò oø où oû oõ oï oâ oà oá oå oã oä ô ôø ôù ôû ôõ ôï uø uù uû uõ uï "
    "ö öø öù öû öõ öï yø yù yû yõ î"
)
VNI = dict(zip(LOWER_LETTERS, VNI_KEYS.split(), strict=True))


def to_vni(text: str) -> str:
    return "".join(VNI[c] if c in VNI else VNI[c.lower()].upper() if c.lower() in VNI else c for c in text)


# --- fold, nfc, tokens -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Quyết định", "quyet dinh"),
        ("ĐÀ NẴNG", "da nang"),
        ("Đường Nguyễn Huệ, Quyết định số 72/2002/QĐ-TTg", "duong nguyen hue, quyet dinh so 72/2002/qd-ttg"),
        (nfd("Quyết định"), "quyet dinh"),
        ("hoà", "hoa"),
        ("hòa", "hoa"),
        ("Ðà Nẵng", "da nang"),  # Icelandic eth, as legacy conversions leave it
        ("", ""),
        ("COVID-19", "covid-19"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_nfc_composes() -> None:
    assert nfc(nfd("Quyết")) == "Quy\u1ebft"
    assert len(nfd("Đường Nguyễn Huệ, Quyết định số 72/2002/QĐ-TTg")) == 58
    assert len(nfc(nfd("Đường Nguyễn Huệ, Quyết định số 72/2002/QĐ-TTg"))) == 46


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_ignores_the_normal_form(text: str) -> None:
    assert fold(nfc(text)) == fold(nfd(text))


@given(st.text(alphabet=LOWER_LETTERS + LOWER_LETTERS.upper() + "abcdeghiklmnopqrstuvxy ,./-0123456789"))
def test_fold_of_vietnamese_is_ascii_of_the_same_length(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert len(folded) == len(nfc(text))


def test_tokens() -> None:
    assert tokens("Số 15/QĐ-BNV ngày 05/3/2020") == ["số", "15", "qđ", "bnv", "ngày", "05", "3", "2020"]
    assert tokens(nfd("QUYẾT ĐỊNH")) == ["quyết", "định"]
    assert tokens("  -- ; ") == []
    assert tokens("snake_case") == ["snake", "case"]


# --- notation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "15/QĐ-BNV",
        "15/QD-BNV",
        "15/qđ-bnv",
        "QĐ-BNV 15",
        "số 15 QĐ BNV",
        "Số: 015/QĐ-BNV",
        nfd("15/QĐ-BNV"),
        " 15 / QĐ - BNV ",
    ],
)
def test_notation_variants_share_one_key(text: str) -> None:
    assert normalise_notation(text) == "15/qd-bnv"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("72/2002/QĐ-TTg", "72/2002/qd-ttg"),
        ("30/2020/NĐ-CP", "30/2020/nd-cp"),
        ("Số: 1906 /SGDĐT-CTrTT", "1906/sgddt-ctrtt"),
        ("4869/UBND-SYT", "4869/ubnd-syt"),
        ("19/CT-TTg", "19/ct-ttg"),
        ("01.TCCB", "1/tccb"),
    ],
)
def test_notation_keys(text: str, key: str) -> None:
    assert normalise_notation(text) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "15",
        "QĐ-BNV",
        "Quyết định 15",
        "quyet dinh 15",
        "Quyết định 15/QĐ-BNV",
        "15 QĐ 16 BNV",
        "15/16/QĐ",
        "Thông tư 15/2019",
    ],
)
def test_not_notations(text: str) -> None:
    assert normalise_notation(text) == ""


symbols = st.lists(st.sampled_from(["QĐ", "BNV", "TTg", "UBND", "VX", "NĐ", "CP", "SGDĐT"]), min_size=1, max_size=3)


@given(st.integers(1, 9999), st.one_of(st.none(), st.integers(1990, 2030)), symbols)
def test_notation_forms_agree(number: int, year: int | None, parts: list[str]) -> None:
    numbers = f"{number:02d}" + (f"/{year}" if year else "")
    canonical = normalise_notation(f"{numbers}/{'-'.join(parts)}")
    assert canonical == "/".join([str(number), *([str(year)] if year else []), "-".join(fold(p) for p in parts)])
    assert normalise_notation(f"{numbers}/{'-'.join(parts).lower()}") == canonical
    assert normalise_notation(f"{'-'.join(parts)} {numbers}") == canonical
    assert normalise_notation(f"Số {numbers} {' '.join(parts)}") == canonical
    assert normalise_notation(nfd(f"{numbers}/{'-'.join(parts)}")) == canonical


# --- syllables ---------------------------------------------------------------------------------------


def test_syllables() -> None:
    words = "quyết quốc quơ người rượu khuỷu khuya giữa gì nguyễn thuở xoong hoặc ạ ở quyet nguoi"
    assert all(map(is_syllable, words.split()))
    debris = ["bnv", "qd", "ubnd", "néi", "viöc", "®Þnh", "quoác", "giaùm", "quyết định"]
    assert not any(map(is_syllable, debris))


def test_corpus_prose_is_syllables() -> None:
    assert len(prose()) > 300


# --- legacy encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "QuyÕt ®Þnh vÒ viÖc ban hµnh quy chÕ c«ng t¸c v¨n th\xad, l\xadu tr÷ cña Bé Néi vô",  # TCVN3
        "CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM",  # TCVN3 in the .VnTimeH capitals font
        "§éc lËp - Tù do - H¹nh phóc",  # TCVN3
        "Quyeát ñònh veà vieäc ban haønh quy cheá coâng taùc vaên thö",  # VNI
        "COÄNG HOØA XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM",  # VNI capitals
        "Xin chaøo caùc baïn",  # VNI
    ],
)
def test_legacy_samples_are_detected(text: str) -> None:
    assert looks_legacy_encoded(text)


@pytest.mark.parametrize(
    "text",
    [
        "Quyết định về việc ban hành quy chế công tác văn thư, lưu trữ của Bộ Nội vụ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "The quick brown fox jumps over the lazy dog",
        "Résumé: naïve café, déjà vu, crème brûlée, jalapeño, Müller, Ørsted",
        "Le coût de la numérisation a été évalué; où sont les registres de l'état civil?",
        "Bé Néi vô",  # TCVN3 "Bộ Nội vụ", but too short to tell from Unicode
        "",
    ],
)
def test_other_text_is_not_flagged(text: str) -> None:
    assert not looks_legacy_encoded(text)


def test_no_corpus_paragraph_is_flagged() -> None:
    assert [p for p in corpus_paragraphs() if looks_legacy_encoded(p)] == []
    assert [p for p in english() if looks_legacy_encoded(p)] == []


@st.composite
def vietnamese_text(draw: st.DrawFn) -> str:
    paragraphs = draw(st.lists(st.sampled_from(corpus_paragraphs()), min_size=1, max_size=4))
    cases: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title]
    case = draw(st.sampled_from(cases))
    form = draw(st.sampled_from([nfc, nfd]))
    return form(case(" ".join(paragraphs)))


@given(vietnamese_text())
def test_unicode_vietnamese_is_never_flagged(text: str) -> None:
    assert not looks_legacy_encoded(text)


@given(st.lists(st.sampled_from(english()), min_size=1, max_size=4))
def test_english_is_never_flagged(lines: list[str]) -> None:
    assert not looks_legacy_encoded(" ".join(lines))


@given(st.lists(st.sampled_from(prose()), min_size=1, max_size=3), st.booleans())
def test_tcvn3_prose_is_flagged(paragraphs: list[str], capitals: bool) -> None:
    text = " ".join(paragraphs)
    assert looks_legacy_encoded(to_tcvn3(text.upper() if capitals else text))


@given(st.lists(st.sampled_from(prose()), min_size=1, max_size=3), st.booleans())
def test_vni_prose_is_flagged(paragraphs: list[str], capitals: bool) -> None:
    text = " ".join(paragraphs)
    assume(text != to_vni(text))
    assert looks_legacy_encoded(to_vni(text.upper() if capitals else text))
