"""Full-text search over dossiers and documents, with Vietnamese folding and access filtering.

A leaf package: it never imports `archive_service`, `storage` or `ingest_rules`.
"""

from __future__ import annotations

from search.errors import RebuildSupersededError, SearchError, SearchUnavailable
from search.factory import open_index
from search.protocol import (
    AccessFilter,
    Hit,
    IndexedRecord,
    RecordKind,
    SearchIndex,
    SearchQuery,
    SearchResult,
)

__all__ = [
    "AccessFilter",
    "Hit",
    "IndexedRecord",
    "RebuildSupersededError",
    "RecordKind",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "open_index",
]
