"""What an archivist types, taken apart the same way for every backend.

A query is a list of groups that must all match: a bare word is one group (a word that
punctuation splits, such as "15/QĐ-BNV", becomes a phrase of its syllables), and text in double
quotes is one phrase. A query that is a number and symbol also carries its notation key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.vietnamese import fold, normalise_notation, tokens

MAX_GROUPS = 32
_PART = re.compile(r'"([^"]*)"|([^\s"]+)')


@dataclass(frozen=True)
class ParsedQuery:
    """Groups of NFC lower-case syllables (a group of several is a phrase) and a notation key."""

    groups: tuple[tuple[str, ...], ...]
    notation: str

    @property
    def folded_groups(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(fold(token) for token in group) for group in self.groups)

    @property
    def accented(self) -> bool:
        """Whether the user typed diacritics (or đ): only then do exact matches rank higher."""
        return self.groups != self.folded_groups

    @property
    def terms(self) -> frozenset[str]:
        """The folded syllables to highlight."""
        return frozenset(token for group in self.folded_groups for token in group)


def parse_query(text: str) -> ParsedQuery:
    """Split `text` into groups; unbalanced quotes are ignored, extra groups are dropped."""
    groups: list[tuple[str, ...]] = []
    for match in _PART.finditer(text):
        phrase, word = match.groups()
        group = tuple(tokens(phrase if phrase is not None else word))
        if group:
            groups.append(group)
    return ParsedQuery(groups=tuple(groups[:MAX_GROUPS]), notation=normalise_notation(text))
