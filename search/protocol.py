"""The search port: what is indexed, how it is queried, and who may see what (spec interfaces.md).

The catalog is the source of truth; an index only holds what `IndexedRecord` carries and can be
rebuilt from it at any time. Access is decided inside the backend's query, so a record the
caller may not see never reaches hits, totals, facets or highlights.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from search.vietnamese import nfc

MAX_LIMIT: Final = 1000
FACET_FIELDS: Final = ("fonds", "year", "doc_type", "organ", "retention", "access_regime")
PUBLIC_REGIME: Final = "Công khai"


class RecordKind(StrEnum):
    """What a code names: a dossier (`FileCode`) or a document (`DocCode`)."""

    DOSSIER = "dossier"
    DOCUMENT = "document"


def batches(records: Iterable[IndexedRecord], size: int) -> Iterator[list[IndexedRecord]]:
    """`records` in lists of at most `size`, so a rebuild never holds them all in memory."""
    batch: list[IndexedRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def label_key(label: str) -> str:
    """Access regimes and document types compare after NFC, trimming and case folding."""
    return nfc(label.strip()).casefold()


@dataclass(frozen=True, kw_only=True)
class IndexedRecord:
    """One dossier or document as the index sees it; upserted by (kind, code).

    `access_regime` is the record's effective regime: for a document, the stricter of its
    dossier's `Rights` and its own `Mode` (interfaces.md, access regime).
    """

    kind: RecordKind
    code: str
    title: str
    fonds: str
    access_regime: str
    dossier_code: str = ""
    year: int | None = None
    doc_type: str = ""
    organ: str = ""
    retention: str = ""
    number_notation: str = ""
    subject: str = ""
    keywords: str = ""
    full_text: str = ""
    issued_date: str | None = None

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("an indexed record needs a code")


@dataclass(frozen=True, kw_only=True)
class AccessFilter:
    """What one caller may see: everything (admin), open regimes, or granted (fonds, regime) pairs.

    Only "Công khai" is open by default; every other regime needs a grant on the fonds
    (`archive users grant USER --fonds F --access A`).
    """

    see_all: bool = False
    open_regimes: frozenset[str] = frozenset({PUBLIC_REGIME})
    grants: frozenset[tuple[str, str]] = frozenset()

    def open_keys(self) -> frozenset[str]:
        return frozenset(label_key(regime) for regime in self.open_regimes)

    def grant_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset((nfc(fonds), label_key(regime)) for fonds, regime in self.grants)

    def allows(self, fonds: str, regime: str) -> bool:
        """The visibility rule every backend applies inside its query."""
        key = label_key(regime)
        return self.see_all or key in self.open_keys() or (nfc(fonds), key) in self.grant_keys()


@dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """Free text plus exact filters; `access` is required so no caller forgets it.

    Text: syllables are ANDed; "double quotes" match syllables in order; a number and symbol
    ("15/QĐ-BNV", "QĐ-BNV 15") also matches documents by their canonical notation, first. Empty
    text lists every visible record that passes the filters.
    """

    access: AccessFilter
    text: str = ""
    fonds: str | None = None
    year: int | None = None
    doc_type: str | None = None
    access_regime: str | None = None
    limit: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 0 and {MAX_LIMIT}, not {self.limit}")
        if self.offset < 0:
            raise ValueError(f"offset must not be negative, not {self.offset}")


@dataclass(frozen=True)
class Hit:
    """One result; `highlight` is HTML: escaped text with the matched syllables in <mark>."""

    kind: RecordKind
    code: str
    title: str
    score: float
    highlight: str


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, the total, and facet counts, all over visible records only.

    `facets` maps each of `FACET_FIELDS` to {value: count} over every visible match (not only this
    page); years are given as strings.
    """

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchIndex(Protocol):
    """A full-text index of dossiers and documents with Vietnamese folding and access filtering."""

    def index(self, records: Sequence[IndexedRecord]) -> None:
        """Add or replace records, matched by (kind, code)."""

    def delete(self, kind: RecordKind, code: str) -> None:
        """Remove one record; removing an absent record does nothing."""

    def query(self, q: SearchQuery) -> SearchResult:
        """Search what `q.access` may see."""

    def rebuild(self, records: Iterable[IndexedRecord]) -> None:
        """Replace the whole index with `records`, built aside and swapped in atomically."""

    def health(self) -> None:
        """Return if the index answers, else raise `SearchUnavailable`."""

    def close(self) -> None:
        """Release connections; the index is not used afterwards."""
