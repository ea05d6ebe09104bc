"""Chooses the search backend from the one `ARCHIVE_SEARCH` setting (spec architecture.md)."""

from __future__ import annotations

from pathlib import Path

from search.embedded import EmbeddedSearchIndex
from search.protocol import SearchIndex

EMBEDDED = "embedded"


def open_index(setting: str, home: Path) -> SearchIndex:
    """The index named by `setting`: "embedded" keeps it in `home`/index/search.sqlite3."""
    if setting.strip().lower() == EMBEDDED:
        return EmbeddedSearchIndex(home / "index" / "search.sqlite3")
    raise ValueError(
        f"ARCHIVE_SEARCH={setting!r} is not supported: use {EMBEDDED!r} "
        "(the OpenSearch backend, set by its URL such as http://127.0.0.1:9200, is not built yet)"
    )
