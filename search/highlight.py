"""Short HTML snippets with the matched syllables in <mark>, from the stored NFC text.

Terms are folded, the text is not: each letter of a term becomes a class of every Latin letter
that folds to it ("d" → [dDđĐ…], "e" → [eéèẻẽẹêếề…]), so one regular expression finds "Định"
for the term "dinh" without folding (and misaligning) a long OCR text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from search.vietnamese import fold

_BEFORE = 60
_WIDTH = 220
_SPACE = re.compile(r"\s+")


def _letter_classes() -> dict[str, str]:
    """Every Latin letter (Latin-1, Extended-A/B and Extended Additional) by its folded form."""
    classes: dict[str, list[str]] = {}
    for start, end in ((0x41, 0x250), (0x1E00, 0x1F00)):
        for char in map(chr, range(start, end)):
            folded = fold(char)
            if len(folded) == 1 and folded.isascii() and folded.isalpha():
                classes.setdefault(folded, []).append(char)
    return {letter: "[" + "".join(chars) + "]" for letter, chars in classes.items()}


_LETTER_CLASSES = _letter_classes()


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any of the folded `terms` as a whole word of NFC text."""
    alternatives = sorted(
        ("".join(_LETTER_CLASSES.get(c, re.escape(c)) for c in term) for term in set(terms) if term),
        key=len,
        reverse=True,
    )
    if not alternatives:
        return None
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.IGNORECASE)


def highlight(fields: Iterable[str], pattern: re.Pattern[str] | None) -> str:
    """A snippet around the first match in the first field that has one, else ""."""
    if pattern is None:
        return ""
    for text in fields:
        first = pattern.search(text)
        if first is not None:
            return _snippet(text, first, pattern)
    return ""


def _snippet(text: str, first: re.Match[str], pattern: re.Pattern[str]) -> str:
    start = max(0, first.start() - _BEFORE)
    end = min(len(text), max(start + _WIDTH, first.end()))
    if start > 0 and (space := _SPACE.search(text, start, first.start())) is not None:
        start = space.end()
    if end < len(text):
        end = max(first.end(), *(m.start() for m in _SPACE.finditer(text, first.end(), end)))
    parts: list[str] = []
    position = start
    for match in pattern.finditer(text, start, end):
        parts += [_plain(text[position : match.start()]), "<mark>", html.escape(match.group())]
        parts.append("</mark>")
        position = match.end()
    parts.append(_plain(text[position:end]))
    body = "".join(parts).strip()
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def _plain(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text))
