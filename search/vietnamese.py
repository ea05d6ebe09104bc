"""Vietnamese text handling shared by every search backend (spec reference/tech.md §7, §2.5).

Every backend indexes two forms of each text: the NFC text, and its *fold*: no diacritics, đ→d,
case-folded. A query with diacritics then ranks exact hits first, one without still matches.
Numbers and symbols of documents ("15/QĐ-BNV", Decree 30/2020/NĐ-CP Phụ lục I, II.3) are matched
through one canonical key, and old metadata typed in the 8-bit TCVN3 (ABC) or VNI encodings is
recognised so that intake can flag it (Unicode TCVN 6909:2001 is mandatory, Decision 72/2002/QĐ-TTg).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["fold", "is_syllable", "looks_legacy_encoded", "nfc", "normalise_notation", "tokens"]

# A token is a run of letters and digits, as SQLite's unicode61 and Lucene's standard tokenizer
# see it on NFC text; Vietnamese is written in space-separated syllables, so a token is a syllable.
_WORD = re.compile(r"[^\W_]+")

# The diacritic blocks of the Latin script. Only these are removed by `fold`: stripping every
# nonspacing mark would also erase vowel signs of other scripts and make their words collide.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# đ is a letter of its own, not d plus a mark; legacy conversions often give the Icelandic eth.
_D_STROKE = str.maketrans({"đ": "d", "ð": "d"})


def nfc(text: str) -> str:
    """The canonical composed form every stored and indexed text is kept in (tech.md §7)."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """The search key of `text`: "Quyết Định" → "quyet dinh", the same for NFC and NFD input.

    Decomposing first makes the result independent of the input's normal form; case folding may
    bring back marks (İ → i̇), so the text is decomposed again before they are removed.
    """
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).casefold())
    return nfc(_COMBINING.sub("", folded)).translate(_D_STROKE)


def tokens(text: str) -> list[str]:
    """Lower-case NFC syllable tokens: "Số 15/QĐ-BNV" → ["số", "15", "qđ", "bnv"].

    Punctuation splits a number and symbol into its parts like any other text; whole notations
    are matched through `normalise_notation`.
    """
    return _WORD.findall(nfc(text).lower())


# --- Syllable structure ------------------------------------------------------------------------

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
_ONSETS = "ngh ng nh ch gh gi kh ph qu th tr b c d đ g h k l m n p r s t v x"
# Vowel groups that may take a final consonant, and those ending in a glide, which may not.
_OPEN_NUCLEI = "a ă â e ê i o ô ơ u ư y oa oă oe oo uâ uê uô uơ uy ươ iê yê uyê"
_CLOSED_NUCLEI = "ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu iêu yêu oai oay oeo uây uôi ươi ươu uya uyu"
_CODAS = "ch ng nh c m n p t"


def _syllable(strict: bool) -> re.Pattern[str]:
    """The syllable pattern; `strict` for words with marks, else for words typed without any."""

    def alternation(words: str) -> str:
        forms = {word if strict else fold(word) for word in words.split()}
        return "|".join(sorted(forms, key=len, reverse=True))

    # "qu" already holds the glide u: "quốc" is qu+ô, and no syllable is spelt "quoa" or "quu".
    onsets = alternation(_ONSETS).replace("qu", "qu(?![ou])" if strict else "qu")
    return re.compile(
        f"(?:{onsets})?(?:(?:{alternation(_OPEN_NUCLEI)})(?:{alternation(_CODAS)})?|{alternation(_CLOSED_NUCLEI)})"
    )


_SYLLABLE = _syllable(strict=True)
_BARE_SYLLABLE = _syllable(strict=False)


def is_syllable(word: str) -> bool:
    """Whether `word` is shaped like one Vietnamese syllable: onset, vowel group, coda, one tone.

    Deliberately permissive about which rhymes exist; it only has to tell syllables from
    abbreviations ("BNV"), foreign words and legacy-encoding debris ("®Þnh").
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(decomposed.count(mark) for mark in _TONE_MARKS) > 1:
        return False
    toneless = nfc("".join(c for c in decomposed if c not in _TONE_MARKS))
    pattern = _BARE_SYLLABLE if word.isascii() else _SYLLABLE
    return pattern.fullmatch(toneless) is not None


# --- Numbers and symbols of documents -------------------------------------------------------------

_YEAR = re.compile(r"(?:19|20)\d\d")
_MAX_SYMBOL_PARTS = 4


def normalise_notation(text: str) -> str:
    """The canonical key of a document's number and symbol, or "" when `text` is not one.

    "15/QĐ-BNV", "15/QD-BNV", "15/qđ-bnv", "QĐ-BNV 15", "số 15 QĐ BNV" and "Số: 015/QĐ-BNV" all
    give "15/qd-bnv"; "72/2002/QĐ-TTg" gives "72/2002/qd-ttg" (number, year, symbol parts; ND
    30/2020 Phụ lục I, II.3). A dossier's "01.TCCB" gives "1/tccb". Text with words around the
    notation ("Quyết định 15/QĐ-BNV") or without an abbreviation ("Quyết định 15") gives "".
    """
    parts = _WORD.findall(nfc(text))
    if parts and fold(parts[0]) == "so":
        parts = parts[1:]
    numeric = [part.isascii() and part.isdigit() for part in parts]
    count = sum(numeric)
    if not 1 <= count <= 2 or not 1 <= len(parts) - count <= _MAX_SYMBOL_PARTS:
        return ""
    if all(numeric[:count]):
        numbers, symbols = parts[:count], parts[count:]
    elif all(numeric[-count:]):
        numbers, symbols = parts[-count:], parts[:-count]
    else:
        return ""
    if count == 2 and not _YEAR.fullmatch(numbers[1]):
        return ""
    if not any(_is_abbreviation(symbol) for symbol in symbols):
        return ""
    return "/".join([str(int(numbers[0])), *numbers[1:], "-".join(fold(s) for s in symbols)])


def _is_abbreviation(part: str) -> bool:
    """Symbols are initials: "QĐ", "TTg", "UBND", or, typed in lower case, not a syllable ("bnv")."""
    uppercase = sum(c.isupper() for c in part)
    return uppercase >= min(2, len(part)) or not is_syllable(part)


# --- Legacy 8-bit encodings ---------------------------------------------------------------------

# TCVN3 (TCVN 5712:1993 VN3, the ".VnTime" fonts): each lower-case letter is one byte in
# 0xA1-0xFE, shown as Latin-1 when the bytes are read as Unicode ("Quyết" → "QuyÕt"). The
# upper-case ".VnTimeH" fonts reuse the same bytes, so "CỘNG HÒA" is stored as "CéNG HOµ".
# Order checked against glibc's TCVN5712-1 converter, which agrees on these 74 letters.
_TCVN3 = str.maketrans(
    "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\xadõøö÷ùúýûüþ¡¢§£¤¥¦",
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂĐÊÔƠƯ",
)

# VNI (the "VNI-Times" fonts): a base letter followed by a mark glyph, both in Latin-1 ("Việt" →
# "Vieät"); đ, ơ, ư and i, ỵ with a tone are single glyphs. The table is built from these rules.
_VNI_TONE = dict(zip(_TONE_MARKS, "øùõûï", strict=True))
_VNI_CIRCUMFLEX = {"": "â"} | dict(zip(_TONE_MARKS, "àáãåä", strict=True))
_VNI_BREVE = {"": "ê"} | dict(zip(_TONE_MARKS, "èéüúë", strict=True))
_VNI_SINGLE = {"đ": "ñ", "ơ": "ô", "ư": "ö", "ì": "ì", "í": "í", "ĩ": "ó", "ỉ": "æ", "ị": "ò", "ỵ": "î"}


def _vni(letter: str) -> str:
    """The VNI glyphs of one lower-case Vietnamese letter."""
    if letter in _VNI_SINGLE:
        return _VNI_SINGLE[letter]
    decomposed = unicodedata.normalize("NFD", letter)
    base, marks = decomposed[0], decomposed[1:]
    tone = next((mark for mark in marks if mark in _TONE_MARKS), "")
    if "\u0302" in marks:
        return base + _VNI_CIRCUMFLEX[tone]
    if "\u0306" in marks:
        return base + _VNI_BREVE[tone]
    if "\u031b" in marks:
        return _VNI_SINGLE[nfc(base + "\u031b")] + _VNI_TONE[tone]
    return base + _VNI_TONE[tone]


_LOWER_LETTERS = ["đ"] + [nfc(base + tone) for base in "aăâeêioôơuưy" for tone in ("", *_TONE_MARKS)]
_VNI = {
    code: letter
    for lower in _LOWER_LETTERS
    if lower not in "aeiouy"
    for letter, code in ((lower, _vni(lower)), (lower.upper(), _vni(lower).upper()))
}
_VNI_CODE = re.compile("|".join(sorted(map(re.escape, _VNI), key=len, reverse=True)))

# Words are split at white space, ASCII punctuation, digits and the General Punctuation block
# (“ ” – …), never at Latin-1 symbols: in TCVN3 "¸" or "«" stand for letters ("t¸c" = "tác").
_LEGACY_SPLIT = re.compile(r"[\s!-@\[-`{-~\u2000-\u206f]+")
_MIN_SUSPECT_WORDS = 2
_MIN_SYLLABLE_SHARE = 0.8


def looks_legacy_encoded(text: str) -> bool:
    """Whether `text` is TCVN3 or VNI bytes misread as Unicode ("QuyÕt ®Þnh", "Quyeát ñònh").

    A word is suspect when it is not a well-formed Unicode Vietnamese word (a syllable, in one
    case pattern) but becomes a syllable once decoded. The text looks legacy-encoded when at least
    two words are suspect, they are at least a third of the words the decoding changes, and 80 %
    of the decoded words are syllables. Unicode Vietnamese is left alone because its words are
    already syllables; English and French because they decode into non-syllables. Short texts
    can be ambiguous and are left alone: "Bé" is a TCVN3 "Bộ" and a Unicode "bé" alike.
    """
    words = [word for word in _LEGACY_SPLIT.split(nfc(text)) if word]
    return any(_decodes_to_vietnamese(words, decode) for decode in (_decode_tcvn3, _decode_vni))


def _decode_tcvn3(word: str) -> str:
    return word.translate(_TCVN3)


def _decode_vni(word: str) -> str:
    return _VNI_CODE.sub(lambda match: _VNI[match.group()], word)


def _decodes_to_vietnamese(words: list[str], decode: Callable[[str], str]) -> bool:
    decoded = [decode(word) for word in words]
    changed = [(word, new) for word, new in zip(words, decoded, strict=True) if new != word]
    suspects = sum(1 for word, new in changed if not _is_unicode_word(word) and is_syllable(new))
    if suspects < _MIN_SUSPECT_WORDS or 3 * suspects < len(changed):
        return False
    syllables = sum(1 for word in decoded if is_syllable(word))
    return syllables >= _MIN_SYLLABLE_SHARE * len(decoded)


def _is_unicode_word(word: str) -> bool:
    """A syllable written in lower case, upper case or title case ("vÒ" is TCVN3 "về")."""
    return (word.islower() or word.isupper() or word.istitle()) and is_syllable(word)
